import type { ApplyItem, RecordedChange, StageChangeRecord } from '@leadscorer/core';
import { sourceId } from '@leadscorer/core';
import {
  applyEffect,
  evaluateEvent,
  type LeadState,
  type LeadStateView,
  type Model,
  nextChangeAt,
  type StageTransition,
  stateView,
} from '@leadscorer/engine';
import { expect } from 'vitest';
import { type GenOptions, generateEvents } from './event-gen.ts';

/**
 * The pure engine run over the same inputs the services or stores get: the oracle of the
 * differential tests. It skips what was already applied from a source (the offset watermark) the
 * way the scoring core does, and keeps the changes it saw.
 */
export class Oracle {
  readonly states = new Map<string, LeadState>();
  readonly lastNow = new Map<string, number>();
  readonly changes: (StageTransition & { lead: string })[] = [];
  private readonly marks = new Map<string, number>();
  private readonly model: Model;

  constructor(model: Model) {
    this.model = model;
  }

  apply(item: ApplyItem, now: number): void {
    const key = `${item.leadId}/${item.source}`;
    if ((this.marks.get(key) ?? -1) >= item.offset) return;
    const r = applyEffect(this.states.get(item.leadId), item.effect, now, this.model);
    if (r.outcome !== 'filtered') this.marks.set(key, item.offset);
    this.states.set(item.leadId, r.state);
    this.lastNow.set(item.leadId, now);
    if (r.transition) this.changes.push({ ...r.transition, lead: item.leadId });
  }

  nextChangeAt(leadId: string): number | null {
    return nextChangeAt(this.states.get(leadId)!, this.lastNow.get(leadId)!, this.model);
  }

  /** Leads that got a state worth storing (machine activity alone stores nothing). */
  storedLeads(): [string, LeadState][] {
    return [...this.states].filter(([, s]) => Object.keys(stateView(s).ring).length > 0);
  }
}

/** Generated events as the processor hands them to the core: effect evaluated, source and offset set. */
export function itemsFor(
  model: Model,
  o: Omit<GenOptions, 'stepMs'>,
): { item: ApplyItem; arrival: number }[] {
  const offsets = new Map<string, number>();
  return generateEvents({ ...o, stepMs: 60_000 }).map(({ event, arrival }) => {
    // Three partitions per topic; a lead's events of one type always land on one partition.
    const source = sourceId(event.type[0]!, event.leadId.length % 3);
    const offset = (offsets.get(source) ?? -1) + 1;
    offsets.set(source, offset);
    return { item: { leadId: event.leadId, source, offset, effect: evaluateEvent(model, event) }, arrival };
  });
}

const TOL = 1e-6;

/** Contributions and cap windows keyed by rule id: the order-free view tests compare. */
export function normalizeState(state: LeadState): Omit<LeadStateView, 'ci' | 'cv' | 'ki' | 'kw'> & {
  c: Record<string, [number, number]>;
  caps: Record<string, number[]>;
} {
  const { ci, cv, ki, kw, ...rest } = stateView(state);
  const c: Record<string, [number, number]> = {};
  ci?.forEach((id, i) => {
    c[id] = [cv![2 * i]!, cv![2 * i + 1]!];
  });
  const caps: Record<string, number[]> = {};
  ki?.forEach((id, i) => {
    caps[id] = kw![i]!;
  });
  return { ...rest, c, caps };
}

/** Equal states, contribution values within 1e-6 (relative): what two application orders may differ by. */
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

export function sortChanges<T extends { lead: string; seq: number }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.lead < b.lead ? -1 : a.lead > b.lead ? 1 : a.seq - b.seq));
}

/** The recorded changes without what only the system knows (when, which model). */
export function transitions(rs: readonly RecordedChange[]): (StageTransition & { lead: string })[] {
  return rs.map(({ change }) => withoutMeta(change));
}

export function withoutMeta({ at: _at, modelVersion: _v, ...t }: StageChangeRecord): StageTransition & {
  lead: string;
} {
  return t;
}
