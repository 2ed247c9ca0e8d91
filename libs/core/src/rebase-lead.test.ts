import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateEvent, loadModel, transitionId } from '@leadscorer/engine';
import { describe, expect, it } from 'vitest';
import { applyToLead, newRecord, rebaseLead } from './apply-lead.ts';
import { sourceId } from './records.ts';

/** A record rebuilt under another model continues what subscribers were told. */
const text = readFileSync(join(import.meta.dirname, '../../../models/default.yaml'), 'utf8');
const oldModel = loadModel(text, 'default.yaml');
// The candidate counts a trial sign-up for 10 product points instead of the default's 25 (PQL).
const newModel = loadModel(
  text
    .replace(/^version: .*$/m, 'version: candidate')
    .replace(/(id: trial_signup[\s\S]*?points: )\d+/, '$110'),
  'candidate.yaml',
);
const T = Date.UTC(2026, 5, 1);

function recordOf(model: typeof oldModel, lead: string, actions: string[]) {
  const record = newRecord(model);
  const items = actions.map((action, offset) => ({
    leadId: lead,
    source: sourceId('t', 0),
    offset,
    effect: evaluateEvent(model, {
      eventId: `${lead}-${offset}`,
      leadId: lead,
      eventTime: T,
      type: 'trial',
      props: { accountId: 'a', action },
    }),
  }));
  applyToLead(
    record,
    items,
    items.map((_, i) => i),
    [],
    T,
    model,
    5,
  );
  return record;
}

describe('rebaseLead', () => {
  it('continues the published sequence and history, and records a model-change when the stage differs', () => {
    const before = recordOf(oldModel, 'l1', ['signup']);
    const rebuilt = recordOf(newModel, 'l1', ['signup']);
    expect(before.state.stage).toBe('pql');
    expect(rebuilt.state.stage).toBe('unqualified');
    before.state.seq = 3; // what subscribers saw: three changes before
    before.history = [
      { seq: 3, from: 'unqualified', to: 'pql', cause: { kind: 'rule', detail: 'd' }, eventTime: T, at: T },
    ];
    const { record, change } = rebaseLead(rebuilt, 'l1', before, T + 1, newModel, 5, 'e1');
    expect(change).toMatchObject({ lead: 'l1', from: 'pql', to: 'unqualified', seq: 4, epoch: 'e1' });
    expect(change!.cause.kind).toBe('model-change');
    expect(change!.modelVersion).toBe('candidate');
    expect(record.state.seq).toBe(4);
    expect(record.history.map((h) => h.seq)).toEqual([4, 3]);
    expect(record.offsets).toEqual(rebuilt.offsets);
    // The id is the stable id of (lead, 4, unqualified, pql) in that epoch.
    expect(transitionId('l1', change!.seq, change!.from, change!.to, 'e1')).toBe(
      transitionId('l1', 4, 'pql', 'unqualified', 'e1'),
    );
  });

  it('says nothing when the stage is the one published, and starts a lead nobody saw at sequence 0', () => {
    const before = recordOf(oldModel, 'l2', ['signup', 'feature_used', 'feature_used']);
    // Rebuilt under the same model (a rebuild after Redis lost its data): the same stage.
    const rebuilt = recordOf(oldModel, 'l2', ['signup', 'feature_used', 'feature_used']);
    expect(before.state.stage).toBe(rebuilt.state.stage);
    before.state.seq = 9;
    const same = rebaseLead(rebuilt, 'l2', before, T, oldModel, 5, undefined);
    expect(same.change).toBeUndefined();
    expect(same.record.state.seq).toBe(9);
    const fresh = rebaseLead(
      recordOf(oldModel, 'l3', ['signup']),
      'l3',
      undefined,
      T,
      oldModel,
      5,
      undefined,
    );
    expect(fresh.change).toMatchObject({ from: 'unqualified', to: 'pql', seq: 1 });
    expect(fresh.change!.epoch).toBeUndefined();
    expect(fresh.record.history).toHaveLength(1);
  });
});
