import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoHalfLife, demoModelText, ModelRefused, prepareModel } from './model.ts';

const DEFAULT = readFileSync(join(import.meta.dirname, '../../models/default.yaml'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'demo-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demo copy of the model', () => {
  it("divides the default's half-lives by 10080 (14d -> 120s, 7d -> 60s) and keeps every line in place", () => {
    const demo = demoModelText(DEFAULT);
    const [a, b] = [DEFAULT.split('\n'), demo.split('\n')];
    expect(b).toHaveLength(a.length);
    const changed = a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]]]));
    expect(changed).toEqual([
      ['version: default-2025.1', 'version: "default-2025.1-demo"'],
      ['  engagement: { halfLife: 14d }', '  engagement: { halfLife: 120s }'],
      ['  product: { halfLife: 7d }', '  product: { halfLife: 60s }'],
    ]);
  });

  it('scales half-lives written in any layout, and keeps comments', () => {
    const text = DEFAULT.replace(
      '  product: { halfLife: 7d }',
      '  product:\n    halfLife: "12h" # half a day',
    );
    expect(demoModelText(text)).toContain('  product:\n    halfLife: 4286ms # half a day');
  });

  it('stays within the duration syntax for any half-life', () => {
    expect(demoHalfLife('1s')).toBe('1ms');
    expect(demoHalfLife('1h')).toBe('357ms');
    expect(demoHalfLife('14d')).toBe('120s');
    expect(demoHalfLife('999999w')).toBe('999999m');
  });

  it('keeps a long version within the 64 characters the model allows', () => {
    const long = 'v'.repeat(64);
    const demo = demoModelText(DEFAULT.replace('version: default-2025.1', `version: ${long}`));
    expect(demo).toContain(`version: "${'v'.repeat(59)}-demo"`);
  });
});

describe('prepareModel', () => {
  it("refuses an invalid file with the engine's file:line message under the user's name for it", () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, DEFAULT.replace('  product: { halfLife: 7d }', '  product: { halfLife: soon }'));
    const run = () => prepareModel({ path: file, label: 'my-model.yaml' }, join(dir, 'demo.yaml'));
    expect(run).toThrow(ModelRefused);
    expect(run).toThrow(/^invalid scoring model\nmy-model\.yaml:\d+: dimensions\.product\.halfLife: /);
  });

  it("writes the demo copy and maps the copy's path in a service's message back to the user's file", () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, DEFAULT);
    const demoFile = join(dir, 'demo', 'model.yaml');
    const m = prepareModel({ path: file, label: 'models/default.yaml' }, demoFile);
    expect(m.file).toBe(demoFile);
    expect(m.version).toBe('default-2025.1-demo');
    expect(m.halfLives).toBe('engagement 120s, product 60s');
    expect(readFileSync(demoFile, 'utf8')).toBe(demoModelText(DEFAULT));
    expect(m.mapBack(`invalid scoring model\n${demoFile}:68: rules[0].points: bad`)).toBe(
      'invalid scoring model\nmodels/default.yaml (demo copy):68: rules[0].points: bad',
    );
  });

  it('runs the file itself in real time', () => {
    const file = join(dir, 'real.yaml');
    writeFileSync(file, DEFAULT);
    const m = prepareModel({ path: file, label: 'real.yaml' }, undefined);
    expect(m.file).toBe(file);
    expect(m.halfLives).toBe('engagement 14d, product 7d');
  });
});
