import { copyState } from '@leadscorer/engine';
import { LeadScorerError } from '@leadscorer/errors';
import type {
  CommitGuard,
  CommitResult,
  ErasedLead,
  LeadWrite,
  Position,
  RecordedChange,
  ScoreStore,
  StateEpochs,
  StoredLead,
  StoreVersion,
} from './ports.ts';
import type { LeadRecord, StageChangeRecord } from './records.ts';
import { SHARDS, shardOf } from './shards.ts';
import { PositionMarks, parsePosition } from './state.ts';

/**
 * The ScoreStore port in memory, with the Redis adapter's semantics (compare-and-set per lead,
 * per-shard outboxes and schedules): for unit tests of everything built on the port, and for
 * tools that score in process. Records are copied in and out, as a real store would.
 */
export class MemoryScoreStore implements ScoreStore {
  readonly shards: number;
  private readonly leads = new Map<string, { record: LeadRecord; version: number }>();
  private readonly due = new Map<string, number>();
  private readonly outboxes: { id: string; at: number; change: StageChangeRecord }[][];
  private readonly state: Map<string, string>[];
  private versions = 0;
  private outboxSeq = 0;
  private readonly marks = new PositionMarks();
  /** Called before each commit is applied: tests use it to interleave another writer. */
  beforeCommit: (() => void | Promise<void>) | undefined;

  constructor(shards = SHARDS) {
    this.shards = shards;
    this.outboxes = Array.from({ length: shards }, () => []);
    this.state = Array.from({ length: shards }, () => new Map());
  }

  async read(leadIds: readonly string[]): Promise<Map<string, StoredLead>> {
    const out = new Map<string, StoredLead>();
    for (const id of leadIds) {
      const found = this.leads.get(id);
      if (found) out.set(id, { record: cloneRecord(found.record), version: asVersion(found.version) });
    }
    return out;
  }

  async commit(writes: readonly LeadWrite[], now: number, guard?: CommitGuard): Promise<CommitResult> {
    await this.beforeCommit?.();
    const p = guard?.partition;
    const touched = p?.allShards
      ? Array.from({ length: this.shards }, (_, i) => i)
      : [...new Set(writes.map((w) => shardOf(w.leadId, this.shards)))];
    // The guard first: nothing is written unless every shard touched passes (one Redis call).
    for (const shard of touched) {
      const state = this.state[shard]!;
      if (guard && state.get('epoch') !== guard.epoch) {
        throw new LeadScorerError('STATE_LOST', `shard ${shard} does not hold state epoch ${guard.epoch}`);
      }
      if (p && (state.get(p.field) ?? null) !== (p.known.get(shard) ?? null)) {
        throw new LeadScorerError('PARTITION_FENCED', `shard ${shard} holds another position of ${p.field}`);
      }
    }
    if (p) {
      const mark = this.marks.next(p.next);
      for (const shard of touched) {
        this.state[shard]!.set(p.field, mark);
        p.known.set(shard, mark);
      }
    }
    const conflicts: string[] = [];
    const recorded: RecordedChange[] = [];
    for (const w of writes) {
      const current = this.leads.get(w.leadId);
      const expected = w.expected === undefined ? undefined : fromVersion(w.expected);
      if (current?.version !== expected) {
        conflicts.push(w.leadId);
        continue;
      }
      if (w.record) this.leads.set(w.leadId, { record: cloneRecord(w.record), version: ++this.versions });
      if (w.due === null) this.due.delete(w.leadId);
      else if (w.due !== undefined) this.due.set(w.leadId, w.due);
      const shard = shardOf(w.leadId, this.shards);
      for (const change of w.changes) {
        const outboxId = `${now}-${this.outboxSeq++}`;
        this.outboxes[shard]!.push({ id: outboxId, at: now, change });
        recorded.push({ shard, outboxId, change });
      }
    }
    return { conflicts, recorded };
  }

  async epochs(): Promise<StateEpochs> {
    return this.state.map((s) => s.get('epoch') ?? null);
  }

  async initialize(epoch: string, replace: boolean): Promise<void> {
    for (const s of this.state) if (replace || !s.has('epoch')) s.set('epoch', epoch);
  }

  async positions(field: string): Promise<(Position | null)[]> {
    return this.state.map((s) => parsePosition(s.get(field)));
  }

  /** Forgets everything, as a Redis that lost its data. */
  wipe(): void {
    this.leads.clear();
    this.due.clear();
    for (const box of this.outboxes) box.length = 0;
    for (const s of this.state) s.clear();
  }

  /**
   * Everything as it is now; calling the result puts it back, as a Redis that went back in time
   * (a crash under `appendfsync everysec`, a failover to a replica that was behind).
   */
  snapshot(): () => void {
    const leads = new Map([...this.leads].map(([id, l]) => [id, { ...l, record: cloneRecord(l.record) }]));
    const due = new Map(this.due);
    const outboxes = this.outboxes.map((b) => [...b]);
    const state = this.state.map((s) => new Map(s));
    return () => {
      this.leads.clear();
      for (const [id, l] of leads) this.leads.set(id, l);
      this.due.clear();
      for (const [id, at] of due) this.due.set(id, at);
      outboxes.forEach((b, i) => {
        this.outboxes[i]!.splice(0, Infinity, ...b);
      });
      state.forEach((s, i) => {
        this.state[i]!.clear();
        for (const [k, v] of s) this.state[i]!.set(k, v);
      });
    };
  }

  async dueLeads(shard: number, now: number, limit: number): Promise<string[]> {
    return [...this.due]
      .filter(([id, at]) => at <= now && shardOf(id, this.shards) === shard)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([id]) => id);
  }

  async nextDue(shard: number): Promise<number | undefined> {
    let first: number | undefined;
    for (const [id, at] of this.due) {
      if (shardOf(id, this.shards) === shard && (first === undefined || at < first)) first = at;
    }
    return first;
  }

  async pendingOutbox(
    shard: number,
    count: number,
    minAgeMs: number,
    now: number,
  ): Promise<RecordedChange[]> {
    return this.outboxes[shard]!.filter((e) => e.at <= now - minAgeMs)
      .slice(0, count)
      .map((e) => ({ shard, outboxId: e.id, change: e.change }));
  }

  async outboxHas(changes: readonly RecordedChange[]): Promise<boolean[]> {
    return changes.map((c) => this.outboxes[c.shard]!.some((e) => e.id === c.outboxId));
  }

  async ackOutbox(changes: readonly RecordedChange[]): Promise<void> {
    for (const c of changes) {
      const box = this.outboxes[c.shard]!;
      const i = box.findIndex((e) => e.id === c.outboxId);
      if (i >= 0) box.splice(i, 1);
    }
  }

  async outboxDepth(): Promise<number> {
    return this.outboxes.reduce((n, box) => n + box.length, 0);
  }

  async erase(leadId: string): Promise<ErasedLead> {
    const record = this.leads.delete(leadId);
    const scheduled = this.due.delete(leadId);
    const box = this.outboxes[shardOf(leadId, this.shards)]!;
    const before = box.length;
    for (let i = box.length - 1; i >= 0; i--) if (box[i]!.change.lead === leadId) box.splice(i, 1);
    return { record, scheduled, outboxEntries: before - box.length };
  }

  /** The stored record of a lead (a copy), for assertions. */
  peek(leadId: string): LeadRecord | undefined {
    const found = this.leads.get(leadId);
    return found && cloneRecord(found.record);
  }

  /** Every lead id stored. */
  leadIds(): string[] {
    return [...this.leads.keys()];
  }

  /** The scheduled time of a lead, if any. */
  dueAt(leadId: string): number | undefined {
    return this.due.get(leadId);
  }
}

export function cloneRecord(r: LeadRecord): LeadRecord {
  return {
    state: copyState(r.state),
    offsets: new Map(r.offsets),
    history: r.history.map((h) => ({ ...h, cause: { ...h.cause } })),
    due: r.due,
  };
}

// Versions are numbers here; the port only ever hands them back.
function asVersion(v: number): StoreVersion {
  return { v } as unknown as StoreVersion;
}

function fromVersion(v: StoreVersion): number {
  return (v as unknown as { v: number }).v;
}
