import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextVersion } from './deployed.ts';
import { DEFAULT_TEXT } from './test-support.ts';

// The command as marketing ops run it: a real process, its output and exit status.
const CLI = join(import.meta.dirname, 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'model-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** 1-based line of the first occurrence of `needle` (where it starts). */
function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`not in the text: ${needle}`);
  return text.slice(0, at).split('\n').length;
}

function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LEAD_API_KEY: 'lsk_model-cli-test' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const bumped = DEFAULT_TEXT.replace('version: default-2025.1', 'version: default-2025.2');
const changed = DEFAULT_TEXT.replace(
  'points: 25\n    cap: { hits: 1, window: 1d }',
  'points: 30\n    cap: { hits: 1, window: 1d }',
);

describe('npm run model -- check', () => {
  it('names file:line and field of every problem, without a stack trace, and exits 1', async () => {
    const text = DEFAULT_TEXT.replace('product: { halfLife: 7d }', 'product: { halfLife: 7days }').replace(
      'cap: { hits: 3, window: 1d }',
      'cap: { hits: 30, window: 1d }',
    );
    const bad = write('bad.yaml', text);
    const r = await run('check', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${bad}:${lineOf(text, 'halfLife: 7days')}: dimensions.product.halfLife: expected a duration such as 30s`,
    );
    expect(r.err).toContain(`${bad}:${lineOf(text, 'hits: 30')}: rules[0].cap.hits: Too big`);
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(r.out).toBe('');
  });

  it('reports a YAML slip at its line', async () => {
    // One space too few before `points` ends the mapping early.
    const text = DEFAULT_TEXT.replace(
      '    dimension: engagement\n    points: 10',
      '    dimension: engagement\n   points: 10',
    );
    const slip = write('slip.yaml', text);
    const r = await run('check', slip);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${slip}:${lineOf(text, '\n   points: 10') + 1}: (yaml): `);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('says why a file cannot be read', async () => {
    const r = await run('check', join(dir, 'missing.yaml'));
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`${join(dir, 'missing.yaml')}: cannot read the model file (no such file)`);
  });

  it('warns when the version equals the deployed one but the model differs; --strict fails then', async () => {
    const deployed = write('deployed.yaml', DEFAULT_TEXT);
    const file = write('changed.yaml', changed);
    const r = await run('check', file, '--deployed', deployed);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${file}: valid model, version default-2025.1`);
    expect(r.out).toContain(
      `warning: version default-2025.1 is the version of ${deployed}, but the model differs: give this model a new version (e.g. default-2025.2)`,
    );
    expect((await run('check', file, '--deployed', deployed, '--strict')).code).toBe(1);

    const ok = await run('check', write('bumped.yaml', bumped), '--deployed', deployed, '--strict');
    expect(ok.code).toBe(0);
    expect(ok.out).not.toContain('warning');
    const same = await run('check', deployed, '--deployed', deployed, '--strict');
    expect(same.out).toContain(`note: same model as ${deployed}`);
    expect(same.code).toBe(0);
  });

  it('compares with models/default.yaml at git HEAD by default', async () => {
    const r = await run('check', write('changed-default.yaml', changed));
    expect(r.out).toContain('version default-2025.1 is the version of models/default.yaml at git HEAD');
  });

  describe('--running', () => {
    let server: Server;
    let url = '';
    beforeAll(async () => {
      // Answers like lead-api's GET /leads/{id} (with its API key); 404 for any other lead.
      server = createServer((req, res) => {
        if (req.headers.authorization !== 'Bearer lsk_model-cli-test') {
          res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
          return;
        }
        const found = req.url === '/leads/lead-1';
        res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            found ? { leadId: 'lead-1', modelVersion: 'default-2025.2' } : { error: 'not_found' },
          ),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('warns when the read API runs the same version', async () => {
      const r = await run('check', write('b.yaml', bumped), '--running', `${url}/leads/lead-1`);
      expect(r.code).toBe(0);
      expect(r.out).toContain(
        `warning: version default-2025.2 is the version the read API at ${url}/leads/lead-1 runs`,
      );
    });

    it('fails with a hint when the address is not a lead of a read API', async () => {
      const r = await run('check', write('c.yaml', bumped), '--running', `${url}/leads/nobody`);
      expect(r.code).toBe(1);
      expect(r.err).toContain('answered HTTP 404: give a lead address of the read API');
    });
  });
});

describe('npm run model -- diff / explain / --help', () => {
  it('diff prints the changes in words', async () => {
    const r = await run('diff', write('old.yaml', DEFAULT_TEXT), write('new.yaml', changed));
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'demo_request: now +30 engagement points per hit (before: +25 engagement points).',
    );
  });

  it('explain prints the stages', async () => {
    const r = await run('explain', write('e.yaml', DEFAULT_TEXT));
    expect(r.code).toBe(0);
    expect(r.out).toContain('7d × log2(25/15) ≈ 5.2 days');
  });

  it('every command has --help; wrong usage exits 2', async () => {
    for (const cmd of ['check', 'diff', 'explain', 'sync-deploy']) {
      const r = await run(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toContain(`Usage: npm run model -- ${cmd}`);
    }
    expect((await run('--help')).out).toContain('Commands:');
    expect((await run('diff', 'only-one.yaml')).code).toBe(2);
    expect((await run('explain', 'x.yaml', '--strict')).code).toBe(2);
    // Seven node processes one after the other: allow for a busy machine.
  }, 60_000);
});

describe('nextVersion', () => {
  it('bumps a trailing number, else appends one', () => {
    expect(nextVersion('default-2025.1')).toBe('default-2025.2');
    expect(nextVersion('v9')).toBe('v10');
    expect(nextVersion('spring')).toBe('spring-2');
  });
});
