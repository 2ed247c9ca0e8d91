import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Background processes of the local stack. Each one has a pid file and a log file under
 * the infra folder. `stop` kills only a pid whose command line still carries our marker,
 * so a recycled pid belonging to something else is never touched.
 */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
  /** A string that appears in the process's command line (e.g. its config file path). */
  marker: string;
}

export function managed(infraDir: string, name: string, marker: string): ManagedProcess {
  return {
    name,
    pidFile: join(infraDir, 'run', `${name}.pid`),
    logFile: join(infraDir, 'logs', `${name}.log`),
    marker,
  };
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** The pid of the running process, or undefined when it is not running (stale pid files are removed). */
export function runningPid(p: ManagedProcess): number | undefined {
  if (!existsSync(p.pidFile)) return undefined;
  const pid = Number(readFileSync(p.pidFile, 'utf8').trim());
  const cmd = Number.isInteger(pid) && pid > 0 ? cmdline(pid) : undefined;
  if (cmd?.includes(p.marker)) return pid;
  rmSync(p.pidFile, { force: true });
  return undefined;
}

export function startDetached(p: ManagedProcess, command: string, args: string[], cwd: string): number {
  mkdirSync(dirname(p.pidFile), { recursive: true });
  mkdirSync(dirname(p.logFile), { recursive: true });
  const out = openSync(p.logFile, 'a');
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${p.name} (${command})`);
  child.unref();
  writeFileSync(p.pidFile, `${child.pid}\n`);
  return child.pid;
}

export async function stop(p: ManagedProcess, graceMs = 20_000): Promise<boolean> {
  const pid = runningPid(p);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && cmdline(pid)?.includes(p.marker)) await sleep(200);
  if (cmdline(pid)?.includes(p.marker)) process.kill(pid, 'SIGKILL');
  rmSync(p.pidFile, { force: true });
  return true;
}

export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Runs a command to completion, throwing with its output when it fails. */
export function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${command} could not run: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`.trim(),
    );
  }
  return r.stdout;
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  alive: () => boolean,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    if (!alive()) throw new Error(`${what} exited during start-up. Last log lines:\n${tail(logFile)}`);
    await sleep(500);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s. Last log lines:\n${tail(logFile)}`);
}
