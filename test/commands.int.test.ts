import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contractsEnv } from '../libs/contracts/src/int-support.ts';
import { infraConfigFromEnv } from '../scripts/infra/config.ts';
import { portFree } from '../scripts/infra/ports.ts';
import { down } from '../scripts/infra/stack.ts';
import { testInfra, uniqueName } from './support/infra.ts';
import { deleteKeys } from './support/scorer.ts';

// `npm start` and `npm run infra -- up` fail well: a broken model, a taken port, a second
// instance or a service dying at start end the command within seconds, with a message that
// names the cause, exit status 1, and nothing left running. Each run gets its own INFRA_DIR
// (and, where the command could start infrastructure, its own free ports), so the shared stack
// of the other tests is never started, stopped or reconfigured here. Every process a run
// starts inherits its INFRA_DIR, which is how the tests find leftovers (and remove them).

const ROOT = join(import.meta.dirname, '..');
const SERVICE_PORTS = [9464, 9465, 9466, 9467, 9468, 9469, 9470, 8080];
const tmp = mkdtempSync(join(tmpdir(), 'commands-'));
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) {
    for (const pid of processesOf(dir)) process.kill(pid, 'SIGKILL');
    await down(infraConfigFromEnv({ INFRA_DIR: dir }, ROOT), () => {});
  }
  rmSync(tmp, { recursive: true, force: true });
});

function infraDir(): string {
  const dir = join(tmp, `infra-${dirs.length}`);
  dirs.push(dir);
  return dir;
}

/** Pids of processes whose environment says INFRA_DIR=<dir>. */
function processesOf(dir: string): number[] {
  const needle = `\0INFRA_DIR=${dir}\0`;
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return `\0${readFileSync(`/proc/${p}/environ`, 'latin1')}`.includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Infra variables that point the command at ports nothing uses: it could only start its own. */
async function isolatedInfra(): Promise<NodeJS.ProcessEnv> {
  return {
    INFRA_DIR: infraDir(),
    KAFKA_PORT: String(await freePort()),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    SCHEMA_REGISTRY_PORT: String(await freePort()),
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
  };
}

interface Run {
  code: number | null;
  out: string;
  err: string;
  seconds: number;
}

function runNode(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, JAVA_HOME: process.env.JAVA_HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

const DEFAULT_MODEL = readFileSync(join(ROOT, 'models/default.yaml'), 'utf8');

/** Holds a local port like some other program would: accepts connections, never answers. */
async function holdPort(port: number): Promise<Server | undefined> {
  if (!(await portFree(port))) return undefined;
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

describe('npm start', () => {
  it('refuses a model with a YAML slip at once, naming the file and line, starting nothing', async () => {
    const model = join(tmp, 'slip.yaml');
    // One space too few before `points` ends the rule's mapping early.
    const text = DEFAULT_MODEL.replace(
      '    dimension: engagement\n    points: 10',
      '    dimension: engagement\n   points: 10',
    );
    writeFileSync(model, text);
    const line = text.slice(0, text.indexOf('\n   points: 10')).split('\n').length + 1;
    const env = await isolatedInfra();

    const r = await runNode('scripts/start.ts', ['--model', model, '--duration', '5'], env, 60_000);
    expect(r.code, r.err).toBe(1);
    expect(r.seconds).toBeLessThan(15);
    expect(r.err).toContain(`[start] invalid scoring model\n${model}:${line}: (yaml): `);
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(r.out).not.toContain('Lead scorer is running');
    expect(processesOf(env.INFRA_DIR!)).toEqual([]);
    expect(existsSync(join(env.INFRA_DIR!, 'run'))).toBe(false);
  });

  it('refuses while another program holds a service port, naming it', async () => {
    const held = await holdPort(9464);
    try {
      const env = await isolatedInfra();
      const r = await runNode('scripts/start.ts', ['--duration', '5'], env, 60_000);
      expect(r.code, r.err).toBe(1);
      expect(r.seconds).toBeLessThan(15);
      expect(r.err).toContain('[start] cannot start the services:');
      // When this test holds it, the message names this very process.
      expect(r.err).toContain(
        held
          ? `port 9464 (web-visits) is in use by pid ${process.pid} (`
          : 'port 9464 (web-visits) is in use by',
      );
      expect(r.err).toContain('Nothing was started.');
      expect(processesOf(env.INFRA_DIR!)).toEqual([]);
      expect(readdirSync(join(env.INFRA_DIR!, 'run'))).toEqual([]);
    } finally {
      held?.close();
    }
  });

  it('refuses a second instance on the same folder', async () => {
    const env = await isolatedInfra();
    // A process that looks like a running `npm start` to the lock (its command line names it).
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'scripts/start.ts'], {
      stdio: 'ignore',
    });
    try {
      const lock = join(env.INFRA_DIR!, 'run', 'start.pid');
      mkdirSync(join(env.INFRA_DIR!, 'run'), { recursive: true });
      writeFileSync(lock, `${other.pid}\n`);
      const r = await runNode('scripts/start.ts', ['--duration', '5'], env, 60_000);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toContain(`[start] another npm start is running (pid ${other.pid}, lock ${lock})`);
      expect(readFileSync(lock, 'utf8').trim(), 'the other instance keeps its lock').toBe(String(other.pid));
      expect(processesOf(env.INFRA_DIR!)).toEqual([]);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('stops within seconds when a service exits during start, prints why and leaves nothing running', async (ctx) => {
    const infra = testInfra();
    const [host, kafkaPort] = infra.kafkaBrokers[0]!.split(':');
    const registry = new URL(infra.registryUrl);
    const free = await Promise.all(SERVICE_PORTS.map((p) => portFree(p)));
    // The command runs the services on their fixed ports against the test stack on loopback.
    if (
      free.includes(false) ||
      !['127.0.0.1', 'localhost'].includes(host!) ||
      registry.hostname !== '127.0.0.1'
    ) {
      ctx.skip();
    }
    const contracts = contractsEnv('start-fail');
    const keyPrefix = uniqueName('t').toLowerCase().slice(0, 30);
    try {
      const env = {
        INFRA_DIR: infraDir(),
        KAFKA_PORT: kafkaPort,
        SCHEMA_REGISTRY_PORT: registry.port,
        REDIS_URL: infra.redisUrl,
        TOPIC_PREFIX: contracts.prefix,
        REDIS_KEY_PREFIX: keyPrefix,
        // sales-alerts joins its group before it is stopped: a group of this test's, deleted after.
        CONSUMER_GROUP: contracts.group('sales-alerts'),
        // Below the minimum the scoring services accept: each refuses its configuration at start.
        // sales-alerts does not read it, starts, and must be stopped with the rest.
        RETRY_INITIAL_MS: '5',
      };
      const r = await runNode('scripts/start.ts', ['--duration', '30'], env, 150_000);
      expect(r.code, r.err).toBe(1);
      expect(r.out).not.toContain('Lead scorer is running');
      expect(r.err).toMatch(
        /\[start\] (web-visits|email-engagement|trial-activity|lead-context|outbox-relay|fading-leads|lead-api) exited \(1\):\n {2}invalid configuration:\n {4}RETRY_INITIAL_MS: Too small/,
      );
      expect(r.err).not.toMatch(/^\s+at /m);
      expect(r.err).toContain('[start] stopping everything this command started...');
      // The infrastructure was the test stack's: left alone, and said so.
      expect(r.out).toContain('[start] infrastructure left running');
      expect(processesOf(env.INFRA_DIR)).toEqual([]);
      expect(await Promise.all(SERVICE_PORTS.map((p) => portFree(p)))).toEqual(SERVICE_PORTS.map(() => true));
      // Services need a few seconds to boot on a busy 2-core machine; the wait for readiness is 90 s.
      expect(r.seconds).toBeLessThan(60);
    } finally {
      await contracts.cleanup();
      await deleteKeys(infra.redisUrl, keyPrefix);
    }
  });
});

describe('npm run infra -- up', () => {
  it('refuses a port another program holds, naming it, and starts nothing', async () => {
    const env = await isolatedInfra();
    const held = (await holdPort(Number(env.KAFKA_PORT)))!;
    try {
      const r = await runNode('scripts/infra/cli.ts', ['up'], env, 60_000);
      expect(r.code, r.err).toBe(1);
      expect(r.seconds).toBeLessThan(15);
      expect(r.err).toContain(`port ${env.KAFKA_PORT} (Kafka) is in use by pid ${process.pid} (`);
      expect(r.err).toContain('which does not answer as Kafka');
      expect(r.err).toContain('Nothing was started.');
      expect(processesOf(env.INFRA_DIR!)).toEqual([]);
      expect(existsSync(join(env.INFRA_DIR!, 'run'))).toBe(false);
    } finally {
      held.close();
    }
  });
});
