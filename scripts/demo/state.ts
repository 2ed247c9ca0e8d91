import { Redis } from 'ioredis';
import { generationKey } from '../../libs/scoring-service/src/generation.ts';

/**
 * The demo's state in Redis was scored with the model of its generation (docs/rescore.md). When
 * `npm start` runs with another model file, the demo starts over instead of keeping the old
 * model (a real deployment switches models with npm run rescore). Returns what it did.
 */
export async function resetIfModelChanged(
  redisUrl: string,
  prefix: string,
  modelText: string,
): Promise<string | undefined> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const raw = await redis.get(generationKey(prefix));
    if (raw === null) return undefined;
    const active = JSON.parse(raw) as { model?: string; modelVersion?: string };
    if (active.model === modelText) return undefined;
    let n = 0;
    // The prefix's generations (`ls:`, `ls.g1:`), its generation record and rescore lock (`ls#`).
    for (const match of [`${prefix}:*`, `${prefix}.g*`, `${prefix}#*`]) {
      for await (const keys of redis.scanStream({ match, count: 1000 })) {
        if ((keys as string[]).length === 0) continue;
        n += await redis.unlink(...(keys as string[]));
      }
    }
    return `Redis held the demo's state scored with model ${active.modelVersion}: starting over with this model (${n} keys removed; a real deployment switches models with npm run rescore)`;
  } finally {
    redis.disconnect();
  }
}
