import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Whether a local TCP port is free, and who holds it when it is not: so that `npm start` and
 * `npm run infra -- up` refuse at once, naming the holder, instead of starting a process that
 * dies with EADDRINUSE (or, worse, probing the other program and taking it for ours).
 */

/** True when nothing listens on host:port (we could bind it ourselves). */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `pid 123 (node services/web-visits/src/main.ts)` for the process listening on the port, read
 * from /proc (Linux); undefined when it cannot be told (another OS, another user's process).
 */
export function portHolder(port: number): string | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return `pid ${pid} (${commandLine(pid)})`;
    }
  }
  return undefined;
}

function commandLine(pid: string): string {
  try {
    const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // Java command lines carry a class path of hundreds of jars: the first words and the last say enough.
    const text =
      words.length > 6 ? [...words.slice(0, 3), '...', ...words.slice(-2)].join(' ') : words.join(' ');
    return text.length > 160 ? `${text.slice(0, 157)}...` : text;
  } catch {
    return 'command unknown';
  }
}

/** Socket inodes in LISTEN state on the port, from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue;
      if (cols[1]!.split(':')[1] === hexPort) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** `port 9464 (web-visits) is in use by pid 123 (...)`, or `... by another program`. */
export function describeTaken(port: number, what: string): string {
  return `port ${port} (${what}) is in use by ${portHolder(port) ?? 'another program'}`;
}
