import { LeadScorerError } from '@leadscorer/errors';

// Redis replies that mean "not now" rather than "never": the same call will work later.
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM|NOREPLICAS|MOVED|ASK)\b/;

/**
 * Maps an ioredis failure onto our error classes: connection trouble and transient replies
 * are REDIS_UNAVAILABLE (retried, never skipped); a script error is a bug (SCRIPT_FAILED).
 */
export function redisError(err: unknown, what: string): LeadScorerError {
  if (err instanceof LeadScorerError) return err;
  const e = err as { name?: string; message?: string };
  const message = e?.message ?? String(err);
  const isReply = e?.name === 'ReplyError';
  if (!isReply || TRANSIENT_REPLY.test(message)) {
    return new LeadScorerError('REDIS_UNAVAILABLE', `${what}: ${message}`, { cause: err });
  }
  return new LeadScorerError('SCRIPT_FAILED', `${what}: ${message}`, { cause: err });
}
