import { randomBytes } from 'node:crypto';
import { LeadScorerError } from '@leadscorer/errors';
import type { Kafka } from 'kafkajs';
import { type DeadLetter, readDeadLetter } from './dead-letter.ts';

/**
 * Reads a dead-letter topic from its start to the end it had when reading began, for
 * `npm run dlq`. Uses a throw-away consumer group that commits nothing and is deleted after, so
 * inspecting never moves anybody's offsets and two operators can read at once.
 */

export interface DeadLetterFilter {
  /** dlq.error.code must equal this. */
  code?: string;
  /** Dead-lettered at or after this time (epoch milliseconds). */
  since?: number;
  partition?: number;
  /** With partition: only this offset. */
  offset?: string;
}

/** Pure. */
export function matchesFilter(deadLetter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.code !== undefined && deadLetter.reason.code !== filter.code) return false;
  if (filter.since !== undefined && !(Date.parse(deadLetter.reason.time) >= filter.since)) return false;
  if (filter.partition !== undefined && deadLetter.partition !== filter.partition) return false;
  if (filter.offset !== undefined && deadLetter.offset !== filter.offset) return false;
  return true;
}

export interface ReadOptions {
  filter?: DeadLetterFilter;
  /** Stop after this many matching dead letters. */
  limit?: number;
  /**
   * Give up waiting after this long without a message. Guards against an end offset that is
   * never delivered (a transaction marker or compacted-away record is the last offset).
   */
  idleMs?: number;
}

/**
 * Calls `visit` for each matching dead letter, in offset order per partition. Messages without
 * dlq headers (someone wrote to the topic by hand) are skipped with a note via `onSkip`.
 * Resolves with the number of matching dead letters visited.
 */
export async function forEachDeadLetter(
  kafka: Kafka,
  topic: string,
  visit: (deadLetter: DeadLetter) => Promise<void> | void,
  options: ReadOptions & { onSkip?: (where: string, why: string) => void } = {},
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `lead-scorer-dlq-cli-${randomBytes(6).toString('hex')}`;
  try {
    // kafkajs would retry a missing topic for ten seconds and then fail with a protocol error.
    if (!(await admin.listTopics()).includes(topic)) {
      throw new LeadScorerError('CONFIG_INVALID', `topic ${topic} does not exist; run \`npm run topics\``);
    }
    // The end to read to: messages dead-lettered while we read wait for the next run.
    const ends = new Map<number, bigint>();
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
    }
    if (options.filter?.partition !== undefined) {
      for (const partition of [...ends.keys()])
        if (partition !== options.filter.partition) ends.delete(partition);
    }
    if (ends.size === 0) return 0;

    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    let visited = 0;
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let idle: NodeJS.Timeout | undefined;
        let done = false;
        const finish = (err?: unknown) => {
          done = true;
          clearTimeout(idle);
          if (err === undefined) resolve();
          else reject(err);
        };
        const armIdle = () => {
          clearTimeout(idle);
          idle = setTimeout(() => {
            options.onSkip?.(topic, `no message for ${options.idleMs ?? 10_000} ms; stopping early`);
            finish();
          }, options.idleMs ?? 10_000);
        };
        armIdle();
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (done) return;
              armIdle();
              const end = ends.get(partition);
              if (end === undefined || BigInt(message.offset) >= end) return;
              let deadLetter: DeadLetter | undefined;
              try {
                deadLetter = readDeadLetter(topic, partition, message);
              } catch (err) {
                options.onSkip?.(`${topic}:${partition}:${message.offset}`, String(err));
              }
              const wanted = deadLetter && matchesFilter(deadLetter, options.filter ?? {});
              if (deadLetter && wanted && (options.limit === undefined || visited < options.limit)) {
                try {
                  await visit(deadLetter);
                } catch (err) {
                  // Stop rather than let kafkajs retry the message: the operator decides.
                  finish(err);
                  return;
                }
                visited++;
              }
              if (BigInt(message.offset) + 1n >= end) ends.delete(partition);
              if (ends.size === 0 || (options.limit !== undefined && visited >= options.limit)) finish();
            },
          })
          .catch((err: unknown) => finish(err));
      });
    } finally {
      await consumer.disconnect();
    }
    return visited;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
