import type { LeadStageChanged, Serde } from '@leadscorer/contracts';
import type { Consumer } from 'kafkajs';

/** Prints lead.stage-changed as it happens, one readable line per change. */
const RANK: Record<string, number> = { disqualified: -1, unqualified: 0, mql: 1, sql: 2, pql: 3, cql: 4 };

export function formatChange(r: LeadStageChanged): string {
  const time = new Date(Number(r.emittedAt)).toISOString().slice(11, 19);
  const up = (RANK[r.toStage] ?? 0) > (RANK[r.fromStage] ?? 0);
  const arrow = up ? '↑' : '↓';
  const scores = Object.entries(r.scores)
    .map(([k, v]) => `${k} ${Number(v).toFixed(1)}`)
    .join(', ');
  const why = r.cause.ruleId ? `${r.cause.ruleId}: ${r.cause.detail}` : r.cause.detail;
  return `${time}  ${arrow} ${r.leadId.padEnd(28)} ${r.fromStage.padStart(12)} → ${r.toStage.padEnd(12)} ${r.cause.kind.toLowerCase().padEnd(13)} ${why}  [${scores}]`;
}

export async function printStageChanges(
  consumer: Consumer,
  topic: string,
  serde: Serde,
  print: (line: string) => void,
): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      try {
        const { record } = await serde.decode(topic, message, Date.now());
        print(formatChange(record as LeadStageChanged));
      } catch (err) {
        print(`(undecodable stage change: ${(err as Error).message})`);
      }
    },
  });
}
