import { readFileSync } from 'node:fs';
import { LeadScorerError } from '@leadscorer/errors';
import { checkCommon, loadEnv } from '@leadscorer/runtime';
import { scoringEnvSchema } from '@leadscorer/scoring-service';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** lead-api's environment: the scoring services' one plus API keys and its deadlines. */
export const leadApiEnvSchema = scoringEnvSchema.extend({
  /**
   * SHA-256 (hex) of each API key allowed to read, comma-separated (several: rotation, one per
   * client). Hashes, never the keys: `npm run api-key` makes a key and its hash. From a Secret.
   */
  API_KEY_HASHES: z.string().min(1).optional(),
  /** The same, one hash per line (`#` comments), e.g. a mounted Secret file. */
  API_KEY_HASHES_FILE: z.string().min(1).optional(),
  /** Deadline of one read-API request; past it the answer is 503 with Retry-After. */
  REQUEST_TIMEOUT_MS: int(50, 60_000).default(2_000),
  /** /readyz: deadline of its Redis PING, and how long an answer is reused. */
  READY_TIMEOUT_MS: int(50, 30_000).default(1_000),
  READY_CACHE_MS: int(0, 60_000).default(1_000),
  /** Retry-After sent with a 503. */
  RETRY_AFTER_SECONDS: int(1, 3_600).default(5),
});

export type LeadApiEnv = z.infer<typeof leadApiEnvSchema> & { apiKeyHashes: Buffer[] };

export function loadLeadApiEnv(raw: NodeJS.ProcessEnv): LeadApiEnv {
  const env = loadEnv(leadApiEnvSchema, raw);
  checkCommon(env);
  const problems: string[] = [];
  const hashes: Buffer[] = [];
  (env.API_KEY_HASHES ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .forEach((h, i) => {
      // The value is not echoed: a key pasted here by mistake would end up in logs.
      if (!SHA256_HEX.test(h))
        problems.push(`API_KEY_HASHES: entry ${i + 1} is not a SHA-256 hash (64 hex digits)`);
      else hashes.push(Buffer.from(h, 'hex'));
    });
  if (env.API_KEY_HASHES_FILE) {
    let text = '';
    try {
      text = readFileSync(env.API_KEY_HASHES_FILE, 'utf8');
    } catch (err) {
      problems.push(
        `API_KEY_HASHES_FILE: cannot read ${env.API_KEY_HASHES_FILE} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    text.split('\n').forEach((line, i) => {
      const h = line.replace(/#.*/, '').trim();
      if (h === '') return;
      if (!SHA256_HEX.test(h))
        problems.push(
          `API_KEY_HASHES_FILE: ${env.API_KEY_HASHES_FILE}:${i + 1}: not a SHA-256 hash (64 hex digits)`,
        );
      else hashes.push(Buffer.from(h, 'hex'));
    });
  }
  if (problems.length === 0 && hashes.length === 0) {
    problems.push(
      'API_KEY_HASHES or API_KEY_HASHES_FILE: required, the read API answers only callers with a key (npm run api-key makes one)',
    );
  }
  if (problems.length > 0) {
    throw new LeadScorerError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return { ...env, apiKeyHashes: hashes };
}
