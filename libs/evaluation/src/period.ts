import { DISQUALIFIED } from '@leadscorer/engine';
import type { ModelRun, Replay } from './replay.ts';

/** Which leads count, and which stages they reached: the definitions every table shares. */

/** Lead indexes of the period: a first event before its end, no outcome closed before its start. */
export function periodLeads(replay: Replay): number[] {
  const members: number[] = [];
  for (let i = 0; i < replay.leadIds.length; i++) {
    const first = replay.firstEventAt[i]!;
    const outcome = replay.outcomes[i];
    if (Number.isNaN(first) || first >= replay.to) continue;
    if (outcome && outcome.time < replay.from) continue;
    members.push(i);
  }
  return members;
}

/** The first entry into `stage` in the period, if it came before the lead's outcome closed. */
export function reachedAt(replay: Replay, run: ModelRun, lead: number, stage: string): number | undefined {
  const reach = run.leads[lead]?.reached.get(stage);
  if (!reach) return undefined;
  const outcome = replay.outcomes[lead];
  return outcome && reach.at >= outcome.time ? undefined : reach.at;
}

/** The ladder above its lowest stage, then disqualified: the stages a lead can reach. */
export function reachableStages(run: ModelRun): string[] {
  return [...run.subject.model.ladder.slice(1).map((s) => s.name), DISQUALIFIED];
}
