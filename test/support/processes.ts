import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/** A service as a real process (node services/<name>/src/main.ts), for kill and restart tests. */
export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export function spawnService(name: string, env: NodeJS.ProcessEnv, logName: string): ServiceProcess {
  mkdirSync(join(ROOT, '.infra/test-logs'), { recursive: true });
  const log = createWriteStream(join(ROOT, '.infra/test-logs', `${logName}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [join(ROOT, 'services', name, 'src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
