import {
  advanceTo,
  applyEffect,
  DISQUALIFIED,
  evaluateEvent,
  type LeadState,
  type Model,
  nextChangeAt,
  type StageCause,
  type StageTransition,
  scoresAt,
} from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import type { HistoryItem, Outcome } from './history.ts';
import { WEEK_MS, weekStart } from './time.ts';

/**
 * One pass over the history through every model at once, with the engine in process: each
 * model keeps its own state per lead (applied in place), time-driven moves are replayed at the
 * millisecond `nextChangeAt` predicts, and what the metrics need is recorded on the way: the
 * stages each lead reached in the period, stage entries per week, and the scores of every open
 * lead at each weekly snapshot. docs/evaluation.md defines every number built from it.
 */

export interface ModelUnderTest {
  /** What the report calls it: "current", "candidate". */
  label: string;
  /** The file it came from, as the user named it. */
  file: string;
  model: Model;
}

export interface ReplayOptions {
  /** Period start (inclusive), epoch ms. Default: the first item's time. */
  from?: number;
  /** Period end (exclusive), epoch ms. Default: the last item's time + 1 ms. */
  to?: number;
}

/** The first entry into a stage in the period; cause null for the stage held at its start. */
export interface Reach {
  at: number;
  cause: StageCause | null;
}

export interface LeadRun {
  state: LeadState;
  /** The time the state was last brought to (an event applied or a move replayed). */
  lastAt: number;
  reached: Map<string, Reach>;
}

/** Weekly snapshots of the scores of open leads: parallel lists, one entry per observation. */
export interface Snapshots {
  lead: number[];
  at: number[];
  /** Per dimension (model order): the score of each observation. */
  scores: number[][];
}

export interface ModelRun {
  subject: ModelUnderTest;
  /** Per lead index; undefined until the lead's first event. */
  leads: (LeadRun | undefined)[];
  snapshots: Snapshots;
  /** Week start -> stage -> upward entries (and entries into disqualified) in that week. */
  entries: Map<number, Map<string, number>>;
}

export interface Replay {
  from: number;
  to: number;
  /** The latest item time: outcomes up to here are known. */
  historyEnd: number;
  leadIds: string[];
  /** Per lead index: the time of its first event, NaN when it has none (outcomes only). */
  firstEventAt: number[];
  /** Per lead index: its first outcome by close time (the one that counts). */
  outcomes: (Outcome | undefined)[];
  /** Outcomes after a lead's first one: read, not counted. */
  laterOutcomes: number;
  /** Events applied (per model) and events after the period, left out. */
  events: { applied: number; afterPeriod: number };
  runs: ModelRun[];
}

export async function replay(
  items: Iterable<HistoryItem> | AsyncIterable<HistoryItem>,
  subjects: ModelUnderTest[],
  options: ReplayOptions = {},
): Promise<Replay> {
  const r = new Replayer(subjects, options);
  for await (const item of items) r.add(item);
  return r.finish();
}

class Replayer {
  private readonly runs: ModelRun[];
  private readonly index = new Map<string, number>();
  private readonly leadIds: string[] = [];
  private readonly firstEventAt: number[] = [];
  private readonly outcomes: (Outcome | undefined)[] = [];
  private laterOutcomes = 0;
  private applied = 0;
  private afterPeriod = 0;
  private from: number | undefined;
  private readonly to: number | undefined;
  private started = false;
  private nextSnapshot = Number.NaN;
  private lastAt = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(subjects: ModelUnderTest[], options: ReplayOptions) {
    this.from = options.from;
    this.to = options.to;
    this.runs = subjects.map((subject) => ({
      subject,
      leads: [],
      snapshots: { lead: [], at: [], scores: subject.model.dimensions.map(() => []) },
      entries: new Map(),
    }));
  }

  add(item: HistoryItem): void {
    this.count++;
    if (item.at < this.lastAt) {
      throw new LeadScorerError(
        'MESSAGE_VALIDATION_FAILED',
        `history item ${this.count} (${item.kind} of lead ${leadOf(item)}) is at ${iso(item.at)}, before the item ahead of it (${iso(this.lastAt)}): the history must be in time order`,
      );
    }
    this.lastAt = item.at;
    if (this.from === undefined) this.from = item.at;
    this.crossBoundaries(item.at);
    if (item.kind === 'outcome') {
      this.addOutcome(item.outcome);
      return;
    }
    if (this.to !== undefined && item.at >= this.to) {
      this.afterPeriod++;
      return;
    }
    const lead = this.leadIndex(item.event.leadId);
    if (Number.isNaN(this.firstEventAt[lead]!)) this.firstEventAt[lead] = item.at;
    this.applied++;
    for (const run of this.runs) this.apply(run, lead, item);
  }

  finish(): Replay {
    const historyEnd = this.lastAt === Number.NEGATIVE_INFINITY ? 0 : this.lastAt;
    const from = this.from ?? 0;
    const to = this.to ?? historyEnd + 1;
    if (!(to > from)) {
      throw new LeadScorerError(
        'CONFIG_INVALID',
        `the period is empty: it starts ${iso(from)} and ends ${iso(to)}`,
      );
    }
    // The start boundary and the snapshots no later item reached.
    this.crossBoundaries(Math.min(to - 1, historyEnd));
    if (!this.started) this.start(from);
    // The lead as it stood at the last millisecond of the period.
    for (const run of this.runs) {
      for (const lead of run.leads) if (lead) this.advanceThrough(run, lead, to - 1, from, to);
    }
    return {
      from,
      to,
      historyEnd,
      leadIds: this.leadIds,
      firstEventAt: this.firstEventAt,
      outcomes: this.outcomes,
      laterOutcomes: this.laterOutcomes,
      events: { applied: this.applied, afterPeriod: this.afterPeriod },
      runs: this.runs,
    };
  }

  /** Handles the period start and the weekly snapshots due at or before `t`, in time order. */
  private crossBoundaries(t: number): void {
    const from = this.from!;
    if (!this.started && t >= from) this.start(from);
    while (this.started && this.nextSnapshot <= t && (this.to === undefined || this.nextSnapshot < this.to)) {
      this.snapshot(this.nextSnapshot);
      this.nextSnapshot += WEEK_MS;
    }
  }

  /** Records the stage every known lead holds as the period starts. */
  private start(from: number): void {
    this.started = true;
    const monday = weekStart(from);
    this.nextSnapshot = monday === from ? from : monday + WEEK_MS;
    for (const run of this.runs) {
      for (const lead of run.leads) {
        if (!lead) continue;
        this.advanceThrough(run, lead, from - 1, from, Number.POSITIVE_INFINITY);
        lead.reached.set(lead.state.stage, { at: from, cause: null });
      }
    }
  }

  /** Scores of every lead with a state and no outcome known to have closed by `at`. */
  private snapshot(at: number): void {
    for (const run of this.runs) {
      const { snapshots, subject } = run;
      const dims = subject.model.dimensions;
      for (let lead = 0; lead < run.leads.length; lead++) {
        const l = run.leads[lead];
        const closed = this.outcomes[lead];
        if (!l || (closed && closed.time <= at)) continue;
        const scores = scoresAt(l.state, at, subject.model);
        snapshots.lead.push(lead);
        snapshots.at.push(at);
        for (let d = 0; d < dims.length; d++) snapshots.scores[d]!.push(scores[dims[d]!.name]!);
      }
    }
  }

  private addOutcome(outcome: Outcome): void {
    const lead = this.leadIndex(outcome.leadId);
    const first = this.outcomes[lead];
    if (first === undefined || outcome.time < first.time) {
      if (first !== undefined) this.laterOutcomes++;
      this.outcomes[lead] = outcome;
    } else {
      this.laterOutcomes++;
    }
  }

  private apply(run: ModelRun, lead: number, item: HistoryItem & { kind: 'event' }): void {
    const { model } = run.subject;
    const from = this.from!;
    const to = this.to ?? Number.POSITIVE_INFINITY;
    const l = run.leads[lead];
    if (l) this.advanceThrough(run, l, item.at, from, to);
    const result = applyEffect(l?.state, evaluateEvent(model, item.event), item.at, model, { inPlace: true });
    if (l) {
      l.state = result.state;
      l.lastAt = item.at;
    } else {
      run.leads[lead] = { state: result.state, lastAt: item.at, reached: new Map() };
    }
    if (result.transition) this.record(run, run.leads[lead]!, result.transition, item.at, from, to);
  }

  /** Replays the time-driven moves of one lead due at or before `t`, at their own millisecond. */
  private advanceThrough(run: ModelRun, lead: LeadRun, t: number, from: number, to: number): void {
    const { model } = run.subject;
    let due = nextChangeAt(lead.state, lead.lastAt, model);
    while (due !== null && due <= t) {
      const moved = advanceTo(lead.state, due, model);
      if (!moved.transition) {
        throw new LeadScorerError(
          'INVARIANT_VIOLATED',
          `nextChangeAt predicted a move at ${due} that advanceTo did not make`,
        );
      }
      lead.state = moved.state;
      lead.lastAt = due;
      this.record(run, lead, moved.transition, due, from, to);
      due = nextChangeAt(lead.state, due, model);
    }
  }

  private record(
    run: ModelRun,
    lead: LeadRun,
    tr: StageTransition,
    at: number,
    from: number,
    to: number,
  ): void {
    if (!this.started || at < from || at >= to) return;
    if (!lead.reached.has(tr.to)) lead.reached.set(tr.to, { at, cause: tr.cause });
    if (tr.to !== DISQUALIFIED && rank(run.subject.model, tr.to) <= rank(run.subject.model, tr.from)) return;
    const week = weekStart(at);
    const stages = run.entries.get(week) ?? new Map<string, number>();
    stages.set(tr.to, (stages.get(tr.to) ?? 0) + 1);
    run.entries.set(week, stages);
  }

  private leadIndex(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.leadIds.length;
      this.index.set(id, i);
      this.leadIds.push(id);
      this.firstEventAt.push(Number.NaN);
      this.outcomes.push(undefined);
    }
    return i;
  }
}

/** Position on the ladder; disqualified (and a stage the model lacks) below the lowest. */
export function rank(model: Model, stage: string): number {
  return model.ladder.findIndex((s) => s.name === stage);
}

function leadOf(item: HistoryItem): string {
  return item.kind === 'event' ? item.event.leadId : item.outcome.leadId;
}

function iso(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString() : String(t);
}
