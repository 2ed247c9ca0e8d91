import type { HistoryEntry, LeadRecord } from '@leadscorer/core';
import {
  type CauseKind,
  type Foreign,
  initialState,
  type Layout,
  type Model,
  refreshTotals,
  SALES_CODE,
  type StageCause,
  salesKind,
  setFitRules,
} from '@leadscorer/engine';
import { PackReader, PackWriter } from './msgpack.ts';
import type { NameTable } from './names.ts';

/**
 * The one codec of a lead's record: what the Redis store writes and reads, from and into the
 * engine's in-memory state (`LeadState`, laid out by the model: docs/model.md "State layout").
 *
 * Stored, a record is MessagePack of one flat, integer-heavy list (format 3), because this string
 * is most of Redis's memory per lead: MessagePack spends 9 bytes on an epoch-ms time or a
 * fractional number but 1-5 on a small integer, and a list spends no bytes on field names.
 * Rules, stages and signals are numbers from the name registry (names.ts). With b = base * 1000,
 * every time t (epoch ms) is stored as b - t.
 *
 *   [0]  3                              format
 *   [1]  base: the commit's time in whole seconds
 *   [2]  stage (number)   [3] transition count (seq)
 *   [4]  dedupe rings, raw bytes: per event type with applied events, its index (EVENT_TYPES
 *        order), its count, then its hashes, 4 bytes each, oldest first
 *   [5]  [rule, value in millionths, b - reference time, ...]   contributions (values are rounded
 *        to 1e-6, so n / 1e6 gives back the very same double)
 *   [6]  [rule, window index, hit count m, hit_1 .. hit_m, ...] cap windows; hit times as distances
 *        before the rule's contribution time (0 for its latest hit: one byte), b without one
 *   [7]  [signal, b - t, ...]           latest time per signal
 *   [8]  [b - t, event hash, rule...]   latest profile and the fit rules it matched
 *   [9]  [kind code, b - t, event hash, 0/1 BANT passed]   latest sales verdict
 *   [10] b - t                          latest disqualifying hit
 *   [11] [source, offset, ...]          Kafka offset watermarks, the source ("w3": web topic,
 *                                       partition 3) by its registry number
 *   [12] [seq, from, to, cause kind code, rule or 0, detail, b - at, at - event time, ...]
 *        the last stage changes, newest first
 *   [13] due - b                        the scheduled time of the next time-driven change
 * An absent part is `false`; trailing absent parts are left out. Nothing else (no version, no
 * checksum): the Redis commit compares whole records, byte for byte.
 */
export const FORMAT = 3;

const CAUSES: readonly CauseKind[] = [
  'rule',
  'threshold',
  'sales-verdict',
  'disqualified',
  'reopened',
  'decay',
  'signal-expired',
];

const writer = new PackWriter();

/**
 * The record's bytes, as a view of the writer's buffer (no copy). The writer only ever appends
 * (it moves to a fresh buffer when one fills), so the view never changes afterwards.
 */
export function encodeRecord(record: LeadRecord, now: number, names: NameTable): Buffer {
  const s = record.state;
  const { n, layout } = s;
  const f = s.foreign;
  const base = Math.floor(now / 1000);
  const b = base * 1000;
  const w = writer;
  w.begin();
  const hasSales = n[layout.salesAt] !== 0;
  const hasDq = !Number.isNaN(n[layout.dqAt]!);
  const hasFit = !Number.isNaN(n[layout.fitAt]!);
  // Trailing absent parts are left out: the list ends at the last part present.
  const parts =
    record.due !== null
      ? 14
      : record.history.length > 0
        ? 13
        : record.offsets.size > 0
          ? 12
          : hasDq
            ? 11
            : hasSales
              ? 10
              : 9;
  w.array(parts);
  w.int(FORMAT);
  w.int(base);
  w.int(names.number('stage', s.stage));
  w.int(s.seq);
  writeRings(w, n, layout);

  const ids = layout.ruleIds;
  let contributions = f?.ci?.length ?? 0;
  let capItems = 0;
  for (let r = 0; r < ids.length; r++) {
    const v = layout.valueAt[r]!;
    if (v < 0) continue;
    if (!Number.isNaN(n[v + 1]!)) contributions++;
    const at = layout.capAt[r]!;
    if (at >= 0 && n[at + 1]! > 0) capItems += 3 + n[at + 1]!;
  }
  for (const window of f?.kw ?? []) capItems += 2 + window.length;
  if (contributions === 0) w.false();
  else {
    w.array(3 * contributions);
    for (let r = 0; r < ids.length; r++) {
      const v = layout.valueAt[r]!;
      if (v < 0 || Number.isNaN(n[v + 1]!)) continue;
      w.int(names.ruleNumber[r]!);
      w.int(Math.round(n[v]! * 1e6));
      w.int(b - n[v + 1]!);
    }
    f?.ci?.forEach((id, i) => {
      w.int(names.number('rule', id));
      w.int(Math.round(f.cv![2 * i]! * 1e6));
      w.int(b - f.cv![2 * i + 1]!);
    });
  }
  if (capItems === 0) w.false();
  else {
    w.array(capItems);
    for (let r = 0; r < ids.length; r++) {
      const at = layout.capAt[r]!;
      if (at < 0 || n[at + 1] === 0) continue;
      const t = n[layout.valueAt[r]! + 1]!;
      const ref = Number.isNaN(t) ? b : t;
      const count = n[at + 1]!;
      w.int(names.ruleNumber[r]!);
      w.int(n[at]!);
      w.int(count);
      for (let i = 0; i < count; i++) w.int(ref - n[at + 2 + i]!);
    }
    f?.ki?.forEach((id, i) => {
      const window = f.kw![i]!;
      const ci = f.ci?.indexOf(id) ?? -1;
      const ref = ci >= 0 ? f.cv![2 * ci + 1]! : b;
      w.int(names.number('rule', id));
      w.int(window[0]!);
      w.int(window.length - 1);
      for (let j = 1; j < window.length; j++) w.int(ref - window[j]!);
    });
  }

  let signals = 0;
  for (const at of layout.signalAt.values()) if (!Number.isNaN(n[at]!)) signals++;
  const foreignSignals = f?.sig ? Object.entries(f.sig) : [];
  signals += foreignSignals.length;
  if (signals === 0) w.false();
  else {
    w.array(2 * signals);
    for (const [name, at] of layout.signalAt) {
      if (Number.isNaN(n[at]!)) continue;
      w.int(names.number('signal', name));
      w.int(b - n[at]!);
    }
    for (const [name, t] of foreignSignals) {
      w.int(names.number('signal', name));
      w.int(b - t);
    }
  }

  const fit = layout.fitAt;
  if (!hasFit) w.false();
  else {
    const fitRules = s.fitRules ?? [];
    w.array(2 + fitRules.length);
    w.int(b - n[fit]!);
    w.int(n[fit + 1]!);
    for (const id of fitRules) w.int(names.number('rule', id));
  }
  if (parts === 9) return w.end();
  const sa = layout.salesAt;
  if (!hasSales) w.false();
  else {
    w.array(4);
    w.int(n[sa]!);
    w.int(b - n[sa + 1]!);
    w.int(n[sa + 2]!);
    w.int(n[sa + 3]!);
  }
  if (parts === 10) return w.end();
  if (hasDq) w.int(b - n[layout.dqAt]!);
  else w.false();
  if (parts === 11) return w.end();

  if (record.offsets.size === 0) w.false();
  else {
    w.array(2 * record.offsets.size);
    for (const [source, offset] of record.offsets) {
      w.int(names.number('source', source));
      w.int(offset);
    }
  }
  if (parts === 12) return w.end();
  if (record.history.length === 0) w.false();
  else {
    w.array(8 * record.history.length);
    for (const e of record.history) {
      w.int(e.seq);
      w.int(names.number('stage', e.from));
      w.int(names.number('stage', e.to));
      w.int(CAUSES.indexOf(e.cause.kind));
      w.int(e.cause.ruleId === undefined ? 0 : names.number('rule', e.cause.ruleId));
      w.str(e.cause.detail);
      w.int(b - e.at);
      w.int(e.at - e.eventTime);
    }
  }
  if (parts === 13) return w.end();
  w.int(record.due! - b);
  return w.end();
}

function writeRings(w: PackWriter, n: number[], layout: Layout): void {
  const window = layout.window;
  let bytes = 0;
  for (const at of layout.ringAt) if (n[at]! > 0) bytes += 2 + 4 * n[at]!;
  if (bytes === 0) {
    w.false();
    return;
  }
  w.binHeader(bytes);
  for (let t = 0; t < layout.ringAt.length; t++) {
    const at = layout.ringAt[t]!;
    const count = n[at]!;
    if (count === 0) continue;
    w.byte(t);
    w.byte(count);
    const start = count < window ? 0 : n[at + 1]!;
    for (let i = 0; i < count; i++) {
      const h = n[at + 2 + ((start + i) % window)]!;
      w.byte(h >>> 24);
      w.byte((h >>> 16) & 0xff);
      w.byte((h >>> 8) & 0xff);
      w.byte(h & 0xff);
    }
  }
}

/** Reads a stored record into a state laid out for `model`. Throws UnknownName for numbers the table lacks. */
export function decodeRecord(raw: Uint8Array, model: Model, names: NameTable): LeadRecord {
  const r = new PackReader(raw);
  const parts = r.array();
  const format = parts > 0 ? r.int() : -1;
  if (format !== FORMAT) throw new Error(`lead record is not in format ${FORMAT} (got ${format})`);
  const b = r.int() * 1000;
  const s = initialState(model);
  s.stage = names.name('stage', r.int());
  s.seq = r.int();
  const { n, layout } = s;
  if (!r.absent()) readRings(n, layout, r.bin());

  // What the model has no place for: kept aside, counted as nothing, written back as it was.
  const fci: string[] = [];
  const fcv: number[] = [];
  const fki: string[] = [];
  const fkw: number[][] = [];
  const fsig: Record<string, number> = {};
  let len = r.array();
  for (let i = 0; i < len; i += 3) {
    const num = r.int();
    const rule = ruleAt(names, num);
    const at = rule >= 0 ? layout.valueAt[rule]! : -1;
    const v = r.int() / 1e6;
    const t = b - r.int();
    if (at >= 0) {
      n[at] = v;
      n[at + 1] = t;
    } else {
      fci.push(names.name('rule', num));
      fcv.push(v, t);
    }
  }
  len = r.array();
  for (let i = 0; i < len; ) {
    const num = r.int();
    const w = r.int();
    const hits = r.int();
    const rule = ruleAt(names, num);
    const at = rule >= 0 ? layout.capAt[rule]! : -1;
    const ref = contributionTime(n, layout.valueAt, rule, fci, fcv, names, num, b);
    if (at >= 0) {
      // A window with more hits than the model's cap now keeps its earliest hits.
      const cap = layout.capHits[rule]!;
      n[at] = w;
      n[at + 1] = Math.min(hits, cap);
      for (let j = 0; j < hits; j++) {
        const t = ref - r.int();
        if (j < cap) n[at + 2 + j] = t;
      }
    } else {
      const times = [w];
      for (let j = 0; j < hits; j++) times.push(ref - r.int());
      fki.push(names.name('rule', num));
      fkw.push(times);
    }
    i += 3 + hits;
  }
  len = r.array();
  for (let i = 0; i < len; i += 2) {
    const name = names.name('signal', r.int());
    const t = b - r.int();
    const at = layout.signalAt.get(name);
    if (at === undefined) fsig[name] = t;
    else n[at] = t;
  }
  len = r.array();
  if (len >= 2) {
    n[layout.fitAt] = b - r.int();
    n[layout.fitAt + 1] = r.int();
    const ids: string[] = [];
    for (let i = 2; i < len; i++) ids.push(names.name('rule', r.int()));
    s.fitRules = ids.length > 0 ? ids : undefined;
    setFitRules(n, layout, ids, model);
  }
  if (parts > 9 && r.array() === 4) {
    const code = r.int();
    const kind = salesKind(code);
    if (kind === undefined) throw new Error(`stored sales verdict code ${code} is unknown`);
    n[layout.salesAt] = SALES_CODE[kind];
    n[layout.salesAt + 1] = b - r.int();
    n[layout.salesAt + 2] = r.int();
    n[layout.salesAt + 3] = r.int();
  }
  if (parts > 10 && !r.absent()) n[layout.dqAt] = b - r.int();
  if (fci.length + fki.length > 0 || Object.keys(fsig).length > 0) {
    const foreign: Foreign = {};
    if (fci.length > 0) Object.assign(foreign, { ci: fci, cv: fcv });
    if (fki.length > 0) Object.assign(foreign, { ki: fki, kw: fkw });
    if (Object.keys(fsig).length > 0) foreign.sig = fsig;
    s.foreign = foreign;
  }
  refreshTotals(s);

  const offsets = new Map<string, number>();
  len = parts > 11 ? r.array() : -1;
  for (let i = 0; i < len; i += 2) offsets.set(names.name('source', r.int()), r.int());
  const history: HistoryEntry[] = [];
  len = parts > 12 ? r.array() : -1;
  for (let i = 0; i < len; i += 8) {
    const seq = r.int();
    const from = names.name('stage', r.int());
    const to = names.name('stage', r.int());
    const kind = CAUSES[r.int()]!;
    const rule = r.int();
    const cause: StageCause = { kind, detail: r.str() };
    if (rule !== 0) cause.ruleId = names.name('rule', rule);
    const at = b - r.int();
    history.push({ seq, from, to, cause, eventTime: at - r.int(), at });
  }
  const due = parts > 13 && !r.absent() ? b + r.int() : null;
  return { state: s, offsets, history, due };
}

function ruleAt(names: NameTable, num: number): number {
  return num < names.ruleIndex.length ? names.ruleIndex[num]! : -1;
}

/** A rule's contribution time (the reference its cap hits are stored against), b without one. */
function contributionTime(
  n: number[],
  valueAt: Int32Array,
  r: number,
  fci: readonly string[],
  fcv: readonly number[],
  names: NameTable,
  num: number,
  b: number,
): number {
  const at = r >= 0 ? valueAt[r]! : -1;
  if (at >= 0) return Number.isNaN(n[at + 1]!) ? b : n[at + 1]!;
  const ci = fci.indexOf(names.name('rule', num));
  return ci >= 0 ? fcv[2 * ci + 1]! : b;
}

function readRings(n: number[], layout: Layout, bytes: Uint8Array): void {
  const window = layout.window;
  for (let p = 0; p < bytes.length; ) {
    const at = layout.ringAt[bytes[p]!];
    const stored = bytes[p + 1]!;
    p += 2;
    if (at === undefined) throw new Error(`lead record: dedupe ring of unknown event type ${bytes[p - 2]}`);
    // A ring longer than the model's dedupe window now keeps its newest entries.
    const from = Math.max(0, stored - window);
    let count = 0;
    for (let i = from; i < stored; i++) {
      const q = p + 4 * i;
      n[at + 2 + count++] =
        ((bytes[q]! << 24) | (bytes[q + 1]! << 16) | (bytes[q + 2]! << 8) | bytes[q + 3]!) >>> 0;
    }
    n[at] = count;
    n[at + 1] = count === window ? 0 : count;
    p += 4 * stored;
  }
}
