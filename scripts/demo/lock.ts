import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * One `npm start` per infra folder: two would share the services' ports, consumer groups and
 * Redis keys. The lock is a file holding the owner's pid, created exclusively; a file whose pid
 * is no longer an `npm start` (a crash left it) is taken over.
 */
export function acquireStartLock(file: string): () => void {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (ownerOf(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = ownerOf(file);
    if (owner !== undefined && owner !== process.pid && isStart(owner)) {
      throw new Error(
        `another npm start is running (pid ${owner}, lock ${file}): stop it first (Ctrl-C in its terminal, or kill ${owner})`,
      );
    }
    rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}`);
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A live process running scripts/start.ts (a recycled pid belongs to something else). */
function isStart(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripts/start.ts');
  } catch {
    return false;
  }
}
