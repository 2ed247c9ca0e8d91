import { isDeepStrictEqual } from 'node:util';
import { type ModelFile, parseDuration } from '@leadscorer/engine';
import {
  type ConditionSpec,
  capWords,
  conditionWords,
  durationWords,
  effectiveStay,
  effectWords,
  num,
  type RuleSpec,
  ruleName,
  signed,
  stageName,
  whenWords,
} from './words.ts';

/**
 * What changed between two models, in the words marketing operations use: rules added and
 * removed, points, caps and what a rule counts, half-lives, stage thresholds, the filters. Both
 * models are validated files (the engine's ModelFile), compared field by field, never as text,
 * so comments and layout do not count as changes.
 */

export interface DiffSection {
  title: string;
  lines: string[];
}

export function diffModels(before: ModelFile, after: ModelFile): DiffSection[] {
  const sections: DiffSection[] = [
    { title: 'How points fade', lines: dimensionLines(before, after) },
    { title: 'Rules', lines: ruleLines(before, after) },
    { title: 'Stages', lines: stageLines(before, after) },
    { title: 'Other settings', lines: settingLines(before, after) },
  ];
  return sections.filter((s) => s.lines.length > 0);
}

/** The report `npm run model -- diff` prints. */
export function renderDiff(
  beforeFile: string,
  before: ModelFile,
  afterFile: string,
  after: ModelFile,
): string {
  const sections = diffModels(before, after);
  const out = [
    `Changes from ${beforeFile} (version ${before.version}) to ${afterFile} (version ${after.version})`,
  ];
  if (sections.length === 0) {
    out.push('', 'No changes: both models score every lead the same way (comments and layout aside).');
  }
  for (const s of sections) out.push('', `${s.title}:`, ...s.lines.map((l) => `  - ${l}`));
  if (sections.length > 0 && before.version === after.version) {
    out.push(
      '',
      `Warning: both are version ${after.version}. Give the new model a new version, so stage changes and outcomes can be told apart by model.`,
    );
  }
  return out.join('\n');
}

function halfLife(d: ModelFile['dimensions'][string]): string | undefined {
  return 'halfLife' in d ? d.halfLife : undefined;
}

function dimensionLines(before: ModelFile, after: ModelFile): string[] {
  const lines: string[] = [];
  for (const [name, d] of Object.entries(after.dimensions)) {
    const old = before.dimensions[name];
    const now = halfLife(d);
    if (!old) {
      lines.push(
        `New score dimension ${name}: ${now ? `its points lose half their value every ${durationWords(now)}` : 'it does not fade'}.`,
      );
      continue;
    }
    const was = halfLife(old);
    if (now === was) continue;
    if (now && was) {
      const faster = parseDuration(now)! < parseDuration(was)!;
      lines.push(
        `${name}: points now lose half their value every ${durationWords(now)} (before: every ${durationWords(was)}): they fade ${faster ? 'faster' : 'slower'}.`,
      );
    } else if (now) {
      lines.push(
        `${name}: points now fade, half their value every ${durationWords(now)} (before: no fading).`,
      );
    } else {
      lines.push(`${name}: points no longer fade (before: half their value every ${durationWords(was!)}).`);
    }
  }
  for (const name of Object.keys(before.dimensions)) {
    if (!(name in after.dimensions)) lines.push(`Removed score dimension ${name}.`);
  }
  return lines;
}

const isFit = (m: ModelFile, r: RuleSpec): boolean =>
  r.dimension !== undefined && !('halfLife' in (m.dimensions[r.dimension] ?? {}));

function ruleLines(before: ModelFile, after: ModelFile): string[] {
  const lines: string[] = [];
  const old = new Map(before.rules.map((r) => [r.id, r]));
  for (const r of after.rules) {
    const o = old.get(r.id);
    if (!o) {
      lines.push(`New rule ${ruleName(r)} counts ${whenWords(r)}: ${effectWords(r, isFit(after, r))}.`);
      continue;
    }
    for (const change of ruleChanges(o, r)) lines.push(`${r.id}: ${change}.`);
  }
  const kept = new Set(after.rules.map((r) => r.id));
  for (const r of before.rules) {
    if (kept.has(r.id)) continue;
    lines.push(
      `Removed rule ${ruleName(r)}, which counted ${whenWords(r)}: ${effectWords(r, isFit(before, r))}. Points leads earned from it no longer count.`,
    );
  }
  return lines;
}

function ruleChanges(o: RuleSpec, r: RuleSpec): string[] {
  const out: string[] = [];
  if (r.description !== o.description)
    out.push(`now described as "${r.description}" (before: "${o.description}")`);
  if (!isDeepStrictEqual(r.when, o.when)) out.push(`now counts ${whenWords(r)} (before: ${whenWords(o)})`);
  if (r.dimension !== o.dimension && r.dimension !== undefined && o.dimension !== undefined) {
    out.push(`now scores ${r.dimension} points (before: ${o.dimension})`);
  }
  if (r.points !== o.points) out.push(`now ${pointsWords(r)} per hit (before: ${pointsWords(o)})`);
  if (!isDeepStrictEqual(r.cap, o.cap)) out.push(`now ${capWords(r.cap)} (before: ${capWords(o.cap)})`);
  if (r.signal !== o.signal) {
    if (!o.signal) out.push(`now raises the ${r.signal} signal`);
    else if (!r.signal) out.push(`no longer raises the ${o.signal} signal`);
    else out.push(`now raises the ${r.signal} signal (before: ${o.signal})`);
  }
  if ((r.disqualify ?? false) !== (o.disqualify ?? false)) {
    out.push(r.disqualify ? 'now disqualifies the lead' : 'no longer disqualifies the lead');
  }
  return out;
}

const pointsWords = (r: RuleSpec): string =>
  r.points === undefined ? 'no points' : `${signed(r.points)} ${r.dimension} points`;

function stageLines(before: ModelFile, after: ModelFile): string[] {
  const lines: string[] = [];
  const bant = { before: before.sales.bantMinPassed, after: after.sales.bantMinPassed };
  const old = new Map(before.stages.map((s) => [s.name, s]));
  for (const s of after.stages) {
    const o = old.get(s.name);
    const name = stageName(s.name);
    if (!o) {
      const enter = s.enter ?? [];
      lines.push(
        enter.length === 0
          ? `New stage ${name}.`
          : `New stage ${name}: enters with ${enter.map((c) => conditionWords(c, bant.after)).join(' and ')}; stays while ${effectiveStay(
              s,
            )
              .map((c) => conditionWords(c, bant.after))
              .join(' and ')}.`,
      );
      continue;
    }
    lines.push(...conditionChanges(`To enter ${name}`, o.enter ?? [], s.enter ?? [], bant));
    lines.push(...conditionChanges(`To stay in ${name}`, effectiveStay(o), effectiveStay(s), bant));
    if ((s.description ?? '') !== (o.description ?? '')) {
      lines.push(`${name} is now described as "${s.description ?? ''}" (before: "${o.description ?? ''}").`);
    }
  }
  for (const s of before.stages) {
    if (!after.stages.some((x) => x.name === s.name)) {
      lines.push(
        `Removed stage ${stageName(s.name)}: its leads move to the highest remaining stage whose entry conditions they meet.`,
      );
    }
  }
  const order = (m: ModelFile, keep: Set<string>) => m.stages.map((s) => s.name).filter((n) => keep.has(n));
  const common = new Set(after.stages.map((s) => s.name).filter((n) => old.has(n)));
  if (!isDeepStrictEqual(order(before, common), order(after, common))) {
    const ladder = (m: ModelFile) => m.stages.map((s) => stageName(s.name)).join(' → ');
    lines.push(`The ladder is now ${ladder(after)} (before: ${ladder(before)}).`);
  }
  return lines;
}

const condKey = (c: ConditionSpec): string =>
  'score' in c ? `score ${c.score}` : 'signal' in c ? `signal ${c.signal}` : 'sales';

function conditionChanges(
  what: string,
  before: ConditionSpec[],
  after: ConditionSpec[],
  bant: { before: number; after: number },
): string[] {
  const lines: string[] = [];
  for (const c of after) {
    const o = before.find((x) => condKey(x) === condKey(c));
    if (!o) lines.push(`${what}, a lead now also needs ${conditionWords(c, bant.after)}.`);
    else if ('score' in c && 'score' in o && c.gte !== o.gte) {
      const harder = c.gte > o.gte;
      lines.push(
        `${what}, the ${c.score} score must now be at least ${num(c.gte)} (before: ${num(o.gte)}): ${harder ? 'harder' : 'easier'}.`,
      );
    } else if ('signal' in c && 'signal' in o && c.within !== o.within) {
      lines.push(
        `${what}, the latest ${c.signal} signal may now be up to ${durationWords(c.within)} old (before: ${durationWords(o.within)}).`,
      );
    }
  }
  for (const o of before) {
    if (!after.some((c) => condKey(c) === condKey(o))) {
      lines.push(`${what}, a lead no longer needs ${conditionWords(o, bant.before)}.`);
    }
  }
  return lines;
}

function settingLines(before: ModelFile, after: ModelFile): string[] {
  const lines: string[] = [];
  const [mb, ma] = [before.machineActivity, after.machineActivity];
  if (mb.emailMinSecondsAfterDelivery !== ma.emailMinSecondsAfterDelivery) {
    lines.push(
      `Email opens and clicks within ${num(ma.emailMinSecondsAfterDelivery)} seconds of delivery now count as machine activity (before: ${num(mb.emailMinSecondsAfterDelivery)} seconds).`,
    );
  }
  lines.push(
    ...listChanges(
      'email user agents treated as privacy proxies or link scanners',
      mb.emailProxyAgents,
      ma.emailProxyAgents,
    ),
  );
  lines.push(...listChanges('website user agents treated as bots', mb.webBotAgents, ma.webBotAgents));
  if (before.dedupe.window !== after.dedupe.window) {
    lines.push(
      `Each lead now remembers its last ${after.dedupe.window} event ids to ignore redelivered duplicates (before: ${before.dedupe.window}).`,
    );
  }
  if (before.sales.bantMinPassed !== after.sales.bantMinPassed) {
    lines.push(
      `Sales qualification now needs ${bantShort(after.sales.bantMinPassed)} BANT checks passed (before: ${bantShort(before.sales.bantMinPassed)}).`,
    );
  }
  return lines;
}

const bantShort = (min: number): string => (min === 4 ? 'all 4' : `at least ${min} of the 4`);

function listChanges(what: string, before: string[], after: string[]): string[] {
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  const lines: string[] = [];
  if (added.length > 0) lines.push(`Added to the ${what}: ${added.join(', ')}.`);
  if (removed.length > 0) lines.push(`Removed from the ${what}: ${removed.join(', ')}.`);
  return lines;
}
