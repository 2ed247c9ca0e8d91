import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyToLead, type ItemOutcome, type LeadRecord, newRecord } from '@leadscorer/core';
import { loadModel, type Model, stateFromView, stateView } from '@leadscorer/engine';
import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/support/event-gen.ts';
import { itemsFor } from '../../../test/support/oracle.ts';
import { decodeRecord, encodeRecord } from './codec.ts';
import { modelNames, NameTable, nameField, UnknownName } from './names.ts';

const TEXT = readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8');
const model = loadModel(TEXT, 'default.yaml');
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

/** The offset sources the generated events come from (three partitions per topic), registered. */
const SOURCES = ['w', 'e', 't', 'p', 's'].flatMap((t) =>
  [0, 1, 2].map((p) => nameField('source', `${t}${p}`)),
);
const registered = (m: Model) => [...modelNames(m), ...SOURCES];

/** A registry as register-names.lua builds it, names numbered in the order given. */
function table(names: string[], m: Model = model): NameTable {
  return new NameTable(
    names.flatMap((n, i) => [n, String(i + 1)]),
    m,
  );
}

/** Records of many leads after realistic traffic, as the core leaves them. */
function records(seed: number, leads: number, events: number, m: Model = model): Map<string, LeadRecord> {
  const items = itemsFor(m, { seed, leads, events, start: START, maxLagMs: 10 * DAY });
  const out = new Map<string, LeadRecord>();
  const outcomes: ItemOutcome[] = [];
  for (let i = 0; i < items.length; i++) {
    const { item, arrival } = items[i]!;
    const record = out.get(item.leadId) ?? newRecord(m);
    applyToLead(record, [item], [0], outcomes, arrival, m, 5);
    record.due = arrival + (i % 3 === 0 ? 5 * DAY : -1000);
    out.set(item.leadId, record);
  }
  return out;
}

function expectSameRecord(got: LeadRecord, want: LeadRecord): void {
  expect(stateView(got.state)).toEqual(stateView(want.state));
  expect([...got.offsets]).toEqual([...want.offsets]);
  expect(got.history).toEqual(want.history);
  expect(got.due).toBe(want.due);
}

describe('the record codec', () => {
  const names = table(registered(model));

  it('reads back exactly what it wrote, for every lead of a realistic mix', () => {
    const now = START + 30 * DAY + 123;
    let withHistory = 0;
    for (const [, record] of records(1, 200, 3000)) {
      expectSameRecord(decodeRecord(encodeRecord(record, now, names), model, names), record);
      if (record.history.length > 0) withHistory++;
    }
    expect(withHistory).toBeGreaterThan(10);
  });

  it('writes standard MessagePack in its shortest form: the library reads it and writes the same bytes', () => {
    const now = START + 30 * DAY + 7;
    let checked = 0;
    for (const [, record] of records(8, 300, 4000)) {
      const bytes = encodeRecord(record, now, names);
      const parts = decode(bytes);
      expect(Buffer.from(encode(parts)).equals(bytes)).toBe(true);
      // And what the library writes for those parts reads back as the same record.
      expectSameRecord(decodeRecord(encode(parts), model, names), record);
      checked++;
    }
    expect(checked).toBeGreaterThan(250);
  });

  it('encodes the same record to the same bytes (the commit compares bytes)', () => {
    const [record] = records(2, 1, 40).values();
    const now = START + 40 * DAY;
    const once = Buffer.from(encodeRecord(record!, now, names));
    expect(encodeRecord(decodeRecord(once, model, names), now, names).equals(once)).toBe(true);
  });

  it('names rules by their registry number, not their place in the model file', () => {
    const shuffled = [...registered(model)];
    const rnd = prng(5);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const other = table(shuffled);
    const now = START + 30 * DAY;
    for (const [, record] of records(3, 50, 800)) {
      const bytes = encodeRecord(record, now, other);
      expectSameRecord(decodeRecord(bytes, model, other), record);
      // Read with the wrong numbering it is another state (or unreadable): the numbers matter.
      let same = true;
      try {
        same =
          JSON.stringify(stateView(decodeRecord(bytes, model, names).state)) ===
          JSON.stringify(stateView(record.state));
      } catch {
        same = false;
      }
      if (stateView(record.state).ci) expect(same).toBe(false);
    }
  });

  it('reads a record written under another model as the engine converts its state', () => {
    // The next model: case_study dropped, pricing_page moved to the end, a new rule first.
    const start = TEXT.indexOf('\n  - id: pricing_page');
    const end = TEXT.indexOf('\nstages:');
    const blocks = TEXT.slice(start, end).split(/(?=\n {2}- id: )/);
    const kept = blocks.filter((b) => !b.startsWith('\n  - id: case_study'));
    const fresh = kept[1]!.replace(/id: \w+/, 'id: webinar_page').replace(/- \/\w[^\n]*/g, '- /webinar');
    const next = loadModel(
      TEXT.slice(0, start).replace(/version: .*/, 'version: reordered') +
        [fresh, ...kept.slice(1), kept[0]!].join('') +
        TEXT.slice(end),
      'reordered.yaml',
    );
    // The registry as it is after the first model, then the second, registered their names.
    const both = table([...new Set([...registered(model), ...modelNames(next)])], next);
    const old = table([...new Set([...registered(model), ...modelNames(next)])], model);
    const now = START + 30 * DAY;
    let dropped = 0;
    for (const [, record] of records(4, 100, 2000)) {
      const bytes = encodeRecord(record, now, old);
      const read = decodeRecord(bytes, next, both);
      expect(stateView(read.state)).toEqual(stateView(stateFromView(stateView(record.state), next)));
      if (stateView(record.state).ci?.includes('case_study')) {
        dropped++;
        // The dropped rule's data is kept aside and written back as it was.
        const again = decodeRecord(encodeRecord(read, now, both), model, old);
        expect(stateView(again.state)).toEqual(stateView(record.state));
      }
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it('refuses numbers the registry does not have, so the store re-reads the registry', () => {
    const [record] = records(6, 1, 30).values();
    const bytes = encodeRecord(record!, START + 30 * DAY, names);
    const partial = table(modelNames(model).slice(0, 3));
    expect(() => decodeRecord(bytes, model, partial)).toThrow(UnknownName);
  });

  it('keeps a lead with ten events under 260 bytes on average', () => {
    const leads = records(7, 300, 3000);
    const sizes = [...leads.values()].map((r) => encodeRecord(r, START + 30 * DAY, names).length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    console.log(`record bytes at 10 events per lead: mean ${mean.toFixed(0)}, max ${Math.max(...sizes)}`);
    expect(mean).toBeLessThan(260);
  });
});
