import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexEntry, type LeadWrite, listedStages, newRecord } from '@leadscorer/core';
import { loadModel } from '@leadscorer/engine';
import { describe, expect, it } from 'vitest';
import { ENTERED, queryKey, SHARDS, shardOf, updatedKey } from './keys.ts';
import { modelNames, NameTable } from './names.ts';
import { commitCall, indexLayoutOf } from './store.ts';

/**
 * Which index keys a commit call names (the ops' further keys): a write that leaves a lead in its
 * listed stage writes only the sorts whose order key moved.
 */
const model = loadModel(
  readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8'),
  'default.yaml',
);
const names = new NameTable(
  modelNames(model).flatMap((n, i) => [n, String(i + 1)]),
  model,
);
const keys = { prefix: 'cc', shards: SHARDS };
const NOW = Date.UTC(2026, 10, 1);
const LEAD = 'lead-cc-1';
const stage = listedStages(model)[0]!;

/** The index and snapshot keys a call with `write` names. */
function indexKeys(write: LeadWrite): string[] {
  const call = commitCall(keys, [write], NOW, names, undefined, undefined, undefined, indexLayoutOf(model));
  const k = call.keysAndArgs;
  const extra = Number(k[k.length - 1]);
  return k.slice(call.numKeys - extra, call.numKeys).map(String);
}

function write(before: string | undefined, previous?: number[], changes = 0): LeadWrite {
  const record = newRecord(model);
  record.state.stage = stage;
  const entry = indexEntry(LEAD, record, NOW, model);
  return {
    leadId: LEAD,
    expected: undefined,
    record,
    changes: Array.from({ length: changes }, () => ({}) as never),
    index: { before, entry, previous },
  };
}

describe('commitCall index ops', () => {
  const shard = shardOf(LEAD, SHARDS);
  const sorts = [...model.dimensions.map((d) => d.name), ENTERED].map((s) => queryKey(keys, shard, stage, s));

  it('writes every sort of a lead entering a stage, and of one whose stored keys are not known', () => {
    expect(indexKeys(write(undefined))).toEqual([...sorts, updatedKey(keys, shard)]);
    expect(indexKeys(write(stage))).toEqual([...sorts, updatedKey(keys, shard)]);
  });

  it('skips the sorts whose order key did not move while the lead stays in its stage', () => {
    const order = write(stage).index!.entry.order;
    // Only the first dimension moved.
    const previous = order.map((k, i) => (i === 0 ? k - 1 : k));
    expect(indexKeys(write(stage, previous))).toEqual([sorts[0]!, updatedKey(keys, shard)]);
    // Nothing moved: only updatedSince.
    expect(indexKeys(write(stage, [...order]))).toEqual([updatedKey(keys, shard)]);
  });

  it('writes the entry time again when a stage change happened on the way (left and came back)', () => {
    const order = write(stage).index!.entry.order;
    const keysNamed = indexKeys(write(stage, [...order], 1));
    expect(keysNamed).toContain(queryKey(keys, shard, stage, ENTERED));
  });
});
