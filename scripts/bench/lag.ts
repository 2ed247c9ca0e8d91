import type { Admin } from 'kafkajs';

/**
 * Consumer-group progress as an SRE would read it: committed offsets (admin fetchOffsets) against
 * the partitions' high watermarks (fetchTopicOffsets). Committed, not merely fetched, so "lag 0"
 * means every message is applied and its offset durable (the services commit at most 1 s after
 * applying; that second is part of what is measured).
 */
export interface GroupProgress {
  group: string;
  committed: number;
  end: number;
  lag: number;
}

export async function topicEnds(admin: Admin, topics: string[]): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>();
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    out.set(topic, new Map(offsets.map((p) => [p.partition, Number(p.high)])));
  }
  return out;
}

export async function groupProgress(
  admin: Admin,
  group: string,
  topics: string[],
  ends: Map<string, Map<number, number>>,
): Promise<GroupProgress> {
  const committedByTopic = await admin.fetchOffsets({ groupId: group, topics });
  let committed = 0;
  let end = 0;
  for (const topic of topics) {
    const partitions = ends.get(topic) ?? new Map<number, number>();
    const got = committedByTopic.find((t) => t.topic === topic)?.partitions ?? [];
    for (const [partition, high] of partitions) {
      end += high;
      // '-1' = nothing committed yet. Topics are fresh per run, so offsets start at 0.
      const c = Number(got.find((p) => p.partition === partition)?.offset ?? -1);
      committed += Math.min(high, Math.max(0, c));
    }
  }
  return { group, committed, end, lag: end - committed };
}
