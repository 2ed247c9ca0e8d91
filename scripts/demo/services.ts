import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The service processes of `npm start`: started together, watched while they start (the first
 * one to exit ends the wait at once, with its own fatal line), and stopped together, so a
 * failed start never leaves some of them running.
 */

export interface ServiceSpec {
  name: string;
  port: number;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
}

/** A service ended: its name, exit status and the line of its log that says why. */
export class ServiceExited extends Error {
  readonly service: string;
  readonly status: string;
  readonly reason: string;
  readonly logFile: string;

  constructor(service: string, status: string, reason: string, logFile: string) {
    super(`${service} exited (${status}): ${reason}`);
    this.service = service;
    this.status = status;
    this.reason = reason;
    this.logFile = logFile;
  }

  /** The same, with file names in the reason rewritten (the demo copy of the model -> the user's file). */
  mapped(map: (text: string) => string): ServiceExited {
    return new ServiceExited(this.service, this.status, map(this.reason), this.logFile);
  }
}

export class ServiceGroup {
  private readonly running = new Map<string, ChildProcess>();
  private readonly exits: Promise<ServiceExited>[] = [];
  private stopping = false;
  private readonly specs: ServiceSpec[];

  constructor(specs: ServiceSpec[]) {
    this.specs = specs;
  }

  start(): void {
    for (const s of this.specs) {
      const log = createWriteStream(s.logFile, { flags: 'a' });
      const child = spawn(s.command, s.args, { cwd: s.cwd, env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      this.running.set(s.name, child);
      this.exits.push(
        new Promise((resolve) => {
          child.once('exit', (code, signal) => {
            this.running.delete(s.name);
            // The log stream may still hold the last lines: let it flush before reading them.
            log.end(() =>
              resolve(new ServiceExited(s.name, String(signal ?? code), fatalReason(s.logFile), s.logFile)),
            );
          });
        }),
      );
    }
  }

  /** The first service to exit (never settles while all run), unless we are stopping them. */
  firstExit(): Promise<ServiceExited> {
    return Promise.race(this.exits).then((e) => (this.stopping ? new Promise<never>(() => {}) : e));
  }

  /**
   * Resolves when `ready(spec)` holds for every service; rejects with ServiceExited as soon as
   * one exits, or with a timeout naming the services not ready and their logs.
   */
  async waitReady(ready: (s: ServiceSpec) => Promise<boolean>, timeoutMs: number): Promise<void> {
    const exited = this.firstExit().then((e) => Promise.reject(e));
    const deadline = Date.now() + timeoutMs;
    const poll = async (): Promise<void> => {
      let waiting = [...this.specs];
      while (waiting.length > 0) {
        const answers = await Promise.all(waiting.map((s) => ready(s).catch(() => false)));
        waiting = waiting.filter((_, i) => !answers[i]);
        if (waiting.length === 0) return;
        if (Date.now() > deadline) {
          throw new Error(
            `not ready after ${timeoutMs / 1000}s: ${waiting.map((s) => `${s.name} (log: ${s.logFile})`).join(', ')}`,
          );
        }
        await sleep(300);
      }
    };
    await Promise.race([poll(), exited]);
  }

  /** SIGTERM to every service still running, SIGKILL to those still there after the grace time. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const children = [...this.running.values()];
    for (const c of children) c.kill('SIGTERM');
    const gone = Promise.all(this.exits);
    const timer = sleep(graceMs).then(() => {
      for (const c of this.running.values()) c.kill('SIGKILL');
    });
    await Promise.race([gone, timer]);
    await gone;
  }
}

/**
 * Why a service ended, from its log: the message of its last fatal line (JSON from pino or the
 * services' main, the stack frames left out), else its last line. Services log JSON; Node's
 * own crash output is plain text.
 */
export function fatalReason(logFile: string): string {
  let lines: string[];
  try {
    lines = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
  } catch {
    return `no log at ${logFile}`;
  }
  for (const line of lines.slice(-50).reverse()) {
    const entry = parseJson(line);
    if (!entry || (entry.level !== 'fatal' && entry.level !== 60)) continue;
    const err = entry.err as string | { message?: string; stack?: string } | undefined;
    const text = typeof err === 'string' ? err : (err?.message ?? err?.stack ?? '');
    const message = withoutStack(text);
    return message || String(entry.msg ?? line);
  }
  return lines.at(-1) ?? `empty log ${logFile}`;
}

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The message lines of an error's text: up to the first `    at ...` frame, class name dropped. */
function withoutStack(text: string): string {
  const lines: string[] = [];
  for (const l of text.split('\n')) {
    if (/^\s+at /.test(l)) break;
    lines.push(l);
  }
  return lines
    .join('\n')
    .replace(/^(?:[A-Z]\w*Error|Error): /, '')
    .trim();
}
