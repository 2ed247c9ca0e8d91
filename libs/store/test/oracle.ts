import {
  applyEffect,
  type EventEffect,
  evaluateEvent,
  type LeadState,
  type Model,
  nextChangeAt,
  type StageTransition,
} from '@leadscorer/engine';
import { expect } from 'vitest';
import { type ApplyItem, normalizeState, type RecordedChange, type StageChangeRecord } from '../src/index.ts';

/** The pure engine run over the same inputs the store gets: the oracle of the differential tests. */
export class Oracle {
  readonly states = new Map<string, LeadState>();
  readonly lastNow = new Map<string, number>();
  readonly changes: (StageTransition & { lead: string })[] = [];
  private readonly offsets = new Map<string, number>();
  private readonly model: Model;

  constructor(model: Model) {
    this.model = model;
  }

  apply(item: ApplyItem, now: number): void {
    const mark = this.offsets.get(`${item.leadId}/${item.source}`);
    if (mark !== undefined && item.offset <= mark) return;
    this.offsets.set(`${item.leadId}/${item.source}`, item.offset);
    const r = applyEffect(this.states.get(item.leadId), item.effect, now, this.model);
    this.states.set(item.leadId, r.state);
    this.lastNow.set(item.leadId, now);
    if (r.transition) this.changes.push({ ...r.transition, lead: item.leadId });
  }

  effect(event: Parameters<typeof evaluateEvent>[1]): EventEffect {
    return evaluateEvent(this.model, event);
  }

  nextChangeAt(leadId: string): number | null {
    return nextChangeAt(this.states.get(leadId)!, this.lastNow.get(leadId)!, this.model);
  }
}

const TOL = 1e-6;

export function expectSameState(actualState: LeadState, expectedState: LeadState, lead: string): void {
  const { c: ac, ...arest } = normalizeState(actualState);
  const { c: ec, ...erest } = normalizeState(expectedState);
  expect(arest, `state of ${lead}`).toEqual(erest);
  expect(Object.keys(ac).sort(), `contributions of ${lead}`).toEqual(Object.keys(ec).sort());
  for (const [id, [v, t]] of Object.entries(ec)) {
    expect(ac[id]![1], `${lead} ${id} reference time`).toBe(t);
    expect(Math.abs(ac[id]![0] - v), `${lead} ${id} value ${ac[id]![0]} vs ${v}`).toBeLessThanOrEqual(
      TOL * Math.max(1, Math.abs(v)),
    );
  }
}

export function expectSameChange(
  actual: StageChangeRecord,
  expected: StageTransition & { lead: string },
): void {
  const { scores: as, cause: acause, ...arest } = actual;
  const { scores: es, cause: ecause, ...erest } = expected;
  expect({ ...arest, at: undefined, modelVersion: undefined }).toEqual({
    ...erest,
    at: undefined,
    modelVersion: undefined,
  });
  expect(acause.kind).toBe(ecause.kind);
  expect(acause.ruleId).toBe(ecause.ruleId);
  expect(acause.detail).toBe(ecause.detail);
  for (const [dim, v] of Object.entries(es))
    expect(Math.abs(as[dim]! - v)).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(v)));
}

export function sortChanges<T extends { lead: string; seq: number }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.lead < b.lead ? -1 : a.lead > b.lead ? 1 : a.seq - b.seq));
}

export function changeRecords(rs: RecordedChange[]): StageChangeRecord[] {
  return rs.map((r) => r.change);
}
