import { isDeepStrictEqual } from 'node:util';
import { type ModelFile, parseDuration } from '@leadscorer/engine';
import {
  type ConditionSpec,
  capWords,
  conditionsWords,
  durationWords,
  effectiveStay,
  effectWords,
  num,
  type RuleSpec,
  type StageSpec,
  signed,
  stageName,
  whenWords,
} from './words.ts';

/**
 * A model in plain words: how points fade, what earns them, and what each stage needs, with
 * the half-life arithmetic of docs/model.md ("a sign-up alone enters PQL and leaves after
 * 7d × log2(25/15) ≈ 5.2 days without activity") worked out for this model's numbers.
 */
export function explainModel(file: string, m: ModelFile): string {
  const out = [`Scoring model ${m.version} (${file})`, '', 'How points fade:'];
  for (const [name, d] of Object.entries(m.dimensions)) {
    out.push(
      'halfLife' in d
        ? `  ${name}: points lose half their value every ${durationWords(d.halfLife)}.`
        : `  ${name}: does not fade; each newer profile replaces it.`,
    );
  }
  out.push('', 'What earns points (per hit):');
  for (const dim of Object.keys(m.dimensions)) {
    const rules = m.rules
      .filter((r) => r.dimension === dim)
      .sort((a, b) => (b.points ?? 0) - (a.points ?? 0));
    if (rules.length === 0) continue;
    out.push(`  ${dim}:`);
    const width = Math.max(...rules.map((r) => r.id.length));
    for (const r of rules) {
      const extra = [r.cap ? capWords(r.cap) : '', sideEffects(r)].filter((x) => x !== '').join('; ');
      out.push(
        `    ${signed(r.points!).padStart(4)}  ${r.id.padEnd(width)}  ${r.description}: ${whenWords(r)}${extra ? `; ${extra}` : ''}`,
      );
    }
  }
  const pointless = m.rules.filter((r) => r.dimension === undefined);
  if (pointless.length > 0) {
    out.push('  without points:');
    for (const r of pointless)
      out.push(`    ${r.id}  ${r.description}: ${whenWords(r)}; ${effectWords(r, false)}`);
  }
  out.push(
    '',
    'Stages, lowest first. A lead is in the highest stage whose conditions hold, and may skip stages.',
    'It enters a stage by its "enters with" conditions and leaves it only when its "stays while"',
    'conditions stop holding, so a score hovering at a threshold does not flap.',
  );
  for (const s of m.stages) out.push('', ...stageLines(m, s));
  out.push('', ...disqualifiedLines(m), '', 'The exact arithmetic: docs/model.md.');
  return out.join('\n');
}

/** What a hit does besides scoring, for the points table. */
function sideEffects(r: RuleSpec): string {
  const parts: string[] = [];
  if (r.signal) parts.push(`raises the ${r.signal} signal`);
  if (r.disqualify) parts.push('disqualifies the lead');
  return parts.join('; ');
}

function stageLines(m: ModelFile, s: StageSpec): string[] {
  const name = stageName(s.name);
  const head = `${name}${s.description ? `: ${s.description}` : ''}`;
  const enter = s.enter ?? [];
  if (enter.length === 0) return [head, '  Where every lead starts.'];
  const stay = effectiveStay(s);
  const bant = m.sales.bantMinPassed;
  const same = isDeepStrictEqual(stay, enter);
  const lines = [
    head,
    `  Enters with: ${conditionsWords(enter, bant)}.`,
    `  Stays while: ${same ? 'the same holds' : conditionsWords(stay, bant)}.`,
  ];
  for (const c of enter) lines.push(...conditionNotes(m, name, c, stay).map((l) => `  ${l}`));
  return lines;
}

function conditionNotes(m: ModelFile, stage: string, c: ConditionSpec, stay: ConditionSpec[]): string[] {
  if ('signal' in c) {
    const from = m.rules.filter((r) => r.signal === c.signal).map((r) => r.id);
    const kept = stay.find((x) => 'signal' in x && x.signal === c.signal);
    const keep = kept && 'signal' in kept ? kept.within : c.within;
    return [
      `The ${c.signal} signal comes from ${from.join(', ')}; it counts for ${durationWords(keep)} after the latest one.`,
    ];
  }
  if ('salesQualified' in c) {
    return ['Only sales can set it (a sales qualification event); no score reaches it.'];
  }
  return scoreNotes(m, stage, c, stay);
}

function scoreNotes(
  m: ModelFile,
  stage: string,
  c: { score: string; gte: number },
  stay: ConditionSpec[],
): string[] {
  const dim = m.dimensions[c.score]!;
  const kept = stay.find((x) => 'score' in x && x.score === c.score);
  const exit = kept && 'score' in kept ? kept.gte : c.gte;
  if (c.gte <= 0) return [`A ${c.score} score of ${num(c.gte)} holds unless negative points pull it below.`];
  const rules = m.rules.filter((r) => r.dimension === c.score && (r.points ?? 0) > 0);
  const alone = rules.filter((r) => r.points! >= c.gte).sort((a, b) => a.points! - b.points!);
  const halfLife = 'halfLife' in dim ? dim.halfLife : undefined;
  // "Leaves STAGE" only when this score is all the stage asks to stay; otherwise it is one part.
  const leaves =
    stay.length === 1 ? `the lead leaves ${stage}` : `its ${c.score} score falls below ${num(exit)}`;
  const notes: string[] = [];
  if (halfLife) {
    for (const r of alone) {
      notes.push(
        `${r.id} alone (${signed(r.points!)}) reaches ${c.score} ${num(c.gte)}; without further activity ${leaves} after ${fading(halfLife, r.points!, exit)}.`,
      );
    }
  } else if (alone.length > 0) {
    const list = alone.map((r) => `${r.id} (${signed(r.points!)})`).join(', ');
    notes.push(`${alone.length === 1 ? list : `Any one of ${list}`} alone reaches ${c.score} ${num(c.gte)}.`);
  }
  if (alone.length === 0) {
    const combo = combination(rules, c.gte, !halfLife);
    notes.push(
      combo
        ? `No single action reaches ${c.score} ${num(c.gte)}; for example ${combo.map((r) => `${r.id} (${signed(r.points!)})`).join(' + ')} together ${halfLife ? 'at about the same time ' : ''}make ${num(combo.reduce((t, r) => t + r.points!, 0))}.`
        : `No combination of one action each reaches ${c.score} ${num(c.gte)}: it takes repeated actions.`,
    );
    if (halfLife) {
      notes.push(
        `From exactly ${num(c.gte)} without further activity, ${leaves} after ${fading(halfLife, c.gte, exit)}.`,
      );
    }
  }
  if (!halfLife) notes.push(`${c.score} does not fade: it holds until a newer profile scores less.`);
  return notes;
}

/** `7d × log2(25/15) ≈ 5.2 days`: how long `from` points take to decay below `to`. */
function fading(halfLife: string, from: number, to: number): string {
  if (to <= 0) return 'never by fading alone (the score only approaches 0)';
  if (from < to) return 'no time (it starts below)';
  const ms = parseDuration(halfLife)! * Math.log2(from / to);
  return `${halfLife} × log2(${num(from)}/${num(to)}) ≈ ${timeWords(ms)}`;
}

function timeWords(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'days'],
    [3_600_000, 'hours'],
    [60_000, 'minutes'],
    [1000, 'seconds'],
  ];
  for (const [size, name] of units) if (ms >= size) return `${(ms / size).toFixed(1)} ${name}`;
  return `${Math.round(ms)} milliseconds`;
}

/**
 * The largest actions, one hit each, until the target is reached. For a profile (one event),
 * two rules on the same property cannot both match (a lead has one seniority), so those are skipped.
 */
function combination(rules: RuleSpec[], target: number, oneEvent: boolean): RuleSpec[] | undefined {
  const picked: RuleSpec[] = [];
  const props = new Set<string>();
  let sum = 0;
  for (const r of [...rules].sort((a, b) => b.points! - a.points!)) {
    const keys = Object.keys(r.when.where ?? {});
    if (oneEvent && keys.some((k) => props.has(k))) continue;
    for (const k of keys) props.add(k);
    picked.push(r);
    sum += r.points!;
    if (sum >= target) return picked;
  }
  return undefined;
}

function disqualifiedLines(m: ModelFile): string[] {
  const rules = m.rules.filter((r) => r.disqualify).map((r) => `${r.id} ("${r.description}")`);
  return [
    'disqualified (outside the ladder)',
    `  Any of: a sales rejection${rules.length > 0 ? `, ${rules.join(', ')}` : ''}.`,
    '  The lead stays disqualified until sales re-opens it.',
  ];
}
