import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { portFree } from '../infra/ports.ts';
import { fatalReason, ServiceExited, ServiceGroup, type ServiceSpec } from './services.ts';

// Real child processes standing in for services: one serves HTTP, one dies the way a service
// with a bad model does (a fatal JSON line with the error's stack, exit 1).
const dir = mkdtempSync(join(tmpdir(), 'services-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

function spec(name: string, port: number, code: string): ServiceSpec {
  return {
    name,
    port,
    command: process.execPath,
    args: ['-e', code],
    env: { PORT: String(port) },
    cwd: dir,
    logFile: join(dir, `${name}.log`),
  };
}

const SERVE =
  "require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')";
const FATAL = JSON.stringify({
  level: 'fatal',
  msg: 'exiting',
  err: 'LeadScorerError: invalid scoring model\n/x/demo/model.yaml:68: (yaml): bad indentation\n    at loadModel (model.ts:1:1)\n    at main (main.ts:2:2)',
});
const DIE = `setTimeout(() => { console.error(${JSON.stringify(FATAL)}); process.exit(1); }, 300)`;

const ready = (s: ServiceSpec) =>
  fetch(`http://127.0.0.1:${s.port}/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok);

describe('ServiceGroup', () => {
  it('resolves once every service answers, and stops them all', async () => {
    const specs = [spec('a', await freePort(), SERVE), spec('b', await freePort(), SERVE)];
    const group = new ServiceGroup(specs);
    group.start();
    await group.waitReady(ready, 20_000);
    await group.stop();
    for (const s of specs) expect(await portFree(s.port), s.name).toBe(true);
  });

  it('ends the wait as soon as one service exits, with its fatal line and no stack', async () => {
    const alive = spec('alive', await freePort(), SERVE);
    const group = new ServiceGroup([alive, spec('dies', await freePort(), DIE)]);
    group.start();
    const t0 = Date.now();
    const err = await group.waitReady(async () => false, 60_000).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(ServiceExited);
    const exited = err as ServiceExited;
    expect([exited.service, exited.status]).toEqual(['dies', '1']);
    expect(exited.reason).toBe('invalid scoring model\n/x/demo/model.yaml:68: (yaml): bad indentation');
    expect(exited.mapped((t) => t.replace('/x/demo/model.yaml', 'models/default.yaml')).reason).toContain(
      'models/default.yaml:68:',
    );
    await group.stop();
    expect(await portFree(alive.port)).toBe(true);
  });
});

describe('fatalReason', () => {
  const log = (name: string, lines: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  it("reads pino's fatal entries (numeric level, error object)", () => {
    const file = log('pino.log', [
      JSON.stringify({ level: 30, msg: 'configured' }),
      JSON.stringify({
        level: 60,
        msg: 'unrecoverable error: crashing',
        err: {
          type: 'Error',
          message: 'listen EADDRINUSE: address already in use 127.0.0.1:9464',
          stack: 'Error: ...',
        },
      }),
      JSON.stringify({ level: 30, msg: 'closing' }),
    ]);
    expect(fatalReason(file)).toBe('listen EADDRINUSE: address already in use 127.0.0.1:9464');
  });

  it("falls back to the last line (Node's own crash output)", () => {
    expect(fatalReason(log('crash.log', ['node:internal/x', 'SyntaxError: Unexpected token']))).toBe(
      'SyntaxError: Unexpected token',
    );
    expect(fatalReason(join(dir, 'none.log'))).toBe(`no log at ${join(dir, 'none.log')}`);
  });
});
