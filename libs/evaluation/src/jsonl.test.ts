import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLeadScorerError } from '@leadscorer/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_DEFAULTS, generateDemoHistory } from './demo/generator.ts';
import { byArrival, historyItem } from './history.ts';
import { loadHistoryFiles, parseHistoryLine } from './jsonl.ts';
import { outcome, web } from './test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return path;
}

async function loadError(path: string): Promise<string> {
  try {
    await loadHistoryFiles([path]);
  } catch (err) {
    if (isLeadScorerError(err)) return err.message;
    throw err;
  }
  throw new Error('the file loaded');
}

describe('loadHistoryFiles', () => {
  it('reads back what the demo generator writes, in time order, whatever the line order', async () => {
    const records = generateDemoHistory({ ...DEMO_DEFAULTS, leads: 40 });
    const path = file('demo.jsonl', [...records].reverse());
    const loaded = await loadHistoryFiles([path]);
    expect(loaded.records).toBe(records.length);
    expect(loaded.left).toEqual({ deadLettered: 0, stageChanges: 0, unknownOutcomes: 0 });
    expect(loaded.items).toEqual(byArrival(records.map(historyItem).filter((i) => i !== null)));
  });

  it('takes the Kafka timestamp as the arrival time, the event time without one', async () => {
    const early = { ...web('a', Date.UTC(2025, 0, 2), '/pricing'), timestamp: Date.UTC(2025, 0, 2, 0, 5) };
    const late = web('a', Date.UTC(2025, 0, 1), '/blog/x');
    const loaded = await loadHistoryFiles([file('times.jsonl', [early, late])]);
    expect(loaded.items.map((i) => i.at)).toEqual([Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 2, 0, 5)]);
  });

  it('leaves out what the live services would have dead-lettered, stage changes and UNKNOWN outcomes', async () => {
    const good = web('a', Date.UTC(2025, 0, 1), '/pricing');
    const before2000 = web('a', Date.UTC(1999, 0, 1), '/pricing');
    const future = { ...web('a', Date.UTC(2025, 0, 2), '/pricing'), timestamp: Date.UTC(2025, 0, 1) };
    const stageChange = {
      topic: 'lead.stage-changed.v1',
      record: {
        eventId: 'x',
        leadId: 'a',
        fromStage: 'unqualified',
        toStage: 'mql',
        scores: {},
        cause: { kind: 'RULE', ruleId: null, detail: 'x' },
        triggeringEventId: null,
        eventTime: Date.UTC(2025, 0, 1),
        emittedAt: Date.UTC(2025, 0, 1),
        modelVersion: 'v',
        sequence: 1,
      },
    };
    const path = file('mixed.jsonl', [
      good,
      before2000,
      future,
      stageChange,
      outcome('a', Date.UTC(2025, 1, 1), 'UNKNOWN'),
    ]);
    const loaded = await loadHistoryFiles([path]);
    expect(loaded.items).toHaveLength(1);
    expect(loaded.left).toEqual({ deadLettered: 2, stageChanges: 1, unknownOutcomes: 1 });
    expect(loaded.warnings[0]).toMatch(
      new RegExp(`^${path}:2: invalid engagement.web-visit.v1 record: eventTime must be after 2000`),
    );
    expect(loaded.warnings[1]).toMatch(new RegExp(`^${path}:3: .*eventTime is 86400 s in the future`));
  });

  it('refuses a line that is not a topic record, naming file:line and the field, never the value', async () => {
    const ok = JSON.stringify(web('a', Date.UTC(2025, 0, 1), '/pricing'));
    expect(await loadError(file('json.jsonl', [ok, '', '{"topic": ']))).toMatch(
      /json\.jsonl:3: \(line\): not JSON/,
    );
    expect(await loadError(file('topic.jsonl', [{ topic: 'web', record: {} }]))).toMatch(
      /topic\.jsonl:1: topic: expected one of engagement\.web-visit\.v1, /,
    );
    const { path: _, ...noPath } = web('a', Date.UTC(2025, 0, 1), '/x').record;
    expect(await loadError(file('field.jsonl', [{ topic: 'engagement.web-visit.v1', record: noPath }]))).toBe(
      `${join(dir, 'field.jsonl')}:1: record.path: expected string, got nothing (the field is missing) (topic engagement.web-visit.v1)`,
    );
    const secret = 'alice@example.com';
    const badEnum = outcome('a', Date.UTC(2025, 0, 1), 'WON');
    const message = await loadError(
      file('enum.jsonl', [{ ...badEnum, record: { ...badEnum.record, result: secret } }]),
    );
    expect(message).toMatch(
      /enum\.jsonl:1: record\.result: expected one of WON, LOST, UNKNOWN, got a string/,
    );
    expect(message).not.toContain(secret);
  });

  it('names a file it cannot read', async () => {
    expect(await loadError(join(dir, 'missing.jsonl'))).toBe(
      `${join(dir, 'missing.jsonl')}: cannot read the history file (no such file)`,
    );
  });
});

describe('parseHistoryLine', () => {
  it('keeps extra keys other tools write out of the record', () => {
    const line = { ...web('a', Date.UTC(2025, 0, 1), '/pricing'), partition: 3, offset: 42 };
    expect(parseHistoryLine(JSON.stringify(line), 'x:1')).toEqual({ topic: line.topic, record: line.record });
  });
});
