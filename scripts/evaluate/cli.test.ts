import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCatalogue, type InputTopicName } from '@leadscorer/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { writeArchive } from '../../libs/replay/src/test-support.ts';
import { DEFAULT_TEXT } from '../model/test-support.ts';
import { USAGE } from './options.ts';

// The command as marketing ops run it: a real process, its output, its files and exit status.
const ROOT = join(import.meta.dirname, '../..');
const CLI = join(import.meta.dirname, 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'evaluate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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

const NO_STACK = /^\s+at /m;

describe('npm run evaluate', () => {
  it('--help lists every option', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(USAGE);
    const source = readFileSync(join(import.meta.dirname, 'options.ts'), 'utf8');
    const declared = [...source.matchAll(/^ {6}'?([a-z-]+)'?: \{ type: '(?:boolean|string)'/gm)].map(
      (m) => m[1]!,
    );
    expect(declared.length).toBeGreaterThan(10);
    for (const option of declared) expect(USAGE).toContain(`--${option}`);
  });

  it('refuses wrong usage with a message and exit status 2', { timeout: 60_000 }, async () => {
    for (const [args, message] of [
      [['--bogus'], "Unknown option '--bogus'"],
      [['--demo'], '--out: is required'],
      [['--out', dir], '--history: give one of --demo, --archive DIR or --history FILE'],
      [
        ['--demo', '--history', 'h.jsonl', '--out', dir],
        '--history: give one of --demo, --archive DIR or --history FILE',
      ],
      [['--demo', '--out', dir, '--horizon', '90'], '--horizon: expected a duration such as 90d or 12w'],
      [['--demo', '--out', dir, '--from', '2025-13-01'], '--from: not a real date'],
      [['--demo', '--out', dir, '--from', '2025-03-01', '--to', '2025-02-01'], '--to: must be after --from'],
      [['--demo', '--out', dir, '--leads', 'many'], '--leads: expected a whole number'],
      [['--history', 'h.jsonl', '--out', dir, '--seed', '3'], '--seed belongs to --demo'],
      [['--demo', '--out', CLI], `--out: ${CLI} is a file, not a folder`],
    ] as const) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(message);
      expect(r.err).toContain('npm run evaluate -- --help');
      expect(r.err).not.toMatch(NO_STACK);
    }
  });

  it('refuses a bad candidate model at its file and line, writing nothing', async () => {
    const text = DEFAULT_TEXT.replace('product: { halfLife: 7d }', 'product: { halfLife: 7days }');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, text);
    const out = join(dir, 'never');
    const r = await run('--demo', '--leads', '20', '--candidate', bad, '--out', out);
    expect(r.code).toBe(1);
    const line = text.slice(0, text.indexOf('halfLife: 7days')).split('\n').length;
    expect(r.err).toContain(`${bad}:${line}: dimensions.product.halfLife: expected a duration`);
    expect(r.err).not.toMatch(NO_STACK);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a bad history line at its file and line', async () => {
    const history = join(dir, 'bad.jsonl');
    writeFileSync(history, '{"topic":"lead.outcome.v1","record":{"eventId":"o","leadId":"a"}}\n');
    const r = await run('--history', history, '--out', join(dir, 'never'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${history}:1: record.eventTime: expected an integer, got nothing`);
    expect(r.err).not.toMatch(NO_STACK);
  });

  it('writes the demo report, and the same numbers from the demo history saved as a file', {
    timeout: 120_000,
  }, async () => {
    const saved = join(dir, 'demo.jsonl');
    const demo = await run('--demo', '--leads', '120', '--out', join(dir, 'demo'), '--save-history', saved);
    expect(demo.err).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.out).toMatch(/Replayed \d+ events of 120 leads .* through 2 models/);
    expect(demo.out).toContain(`Report: ${join(dir, 'demo', 'report.html')}`);
    const files = readdirSync(join(dir, 'demo')).sort();
    expect(files).toEqual(
      [
        'auc.csv',
        'conversion.csv',
        'findings.csv',
        'lift.csv',
        'precision-recall.csv',
        'report.html',
        'report.json',
        'roc.csv',
        'stage-differences.csv',
        'stage-matrix.csv',
        'summary.csv',
        'time-to-won.csv',
        'weekly-volumes.csv',
      ].sort(),
    );
    const fromFile = await run(
      '--history',
      saved,
      '--candidate',
      'models/candidates/intent-weighted.yaml',
      '--out',
      join(dir, 'file'),
    );
    expect(fromFile.code).toBe(0);
    const numbers = (d: string) => {
      const { source: _, ...rest } = JSON.parse(readFileSync(join(dir, d, 'report.json'), 'utf8'));
      return rest;
    };
    expect(numbers('file')).toEqual(numbers('demo'));
    expect(readFileSync(join(dir, 'file', 'lift.csv'), 'utf8')).toBe(
      readFileSync(join(dir, 'demo', 'lift.csv'), 'utf8'),
    );

    // The same history in the archiver's archive: the same numbers.
    const archive = join(dir, 'archive');
    const records = readFileSync(saved, 'utf8')
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { topic: InputTopicName; timestamp: number; record: { leadId: string } },
      );
    await writeArchive(
      archive,
      createCatalogue(),
      records
        .filter((r) => r.topic !== ('lead.stage-changed.v1' as string))
        .map((r) => ({ topic: r.topic, leadId: r.record.leadId, record: r.record, timestamp: r.timestamp })),
      { partitions: 3, collect: false },
    );
    const fromArchive = await run(
      '--archive',
      archive,
      '--candidate',
      'models/candidates/intent-weighted.yaml',
      '--out',
      join(dir, 'archived'),
    );
    expect(fromArchive.err).toBe('');
    expect(fromArchive.code).toBe(0);
    expect(numbers('archived')).toEqual(numbers('file'));
  });
});
