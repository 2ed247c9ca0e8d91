import type { InputTopicName } from '@leadscorer/contracts';
import { startConsumerService } from '@leadscorer/scoring-service';
import { startLeadApi } from '../../services/lead-api/src/server.ts';
import { deleteKeys, type ScorerEnv } from './scorer.ts';

/**
 * Consumer services and the read API of one test's ScorerEnv, in this process, started through
 * the same public functions their main.ts files call. The one place outside test/e2e that knows
 * those signatures, so a change of the service skeleton is adapted here.
 */
export interface InProcessScorer {
  /** Port of lead-api (GET /leads/{id}). */
  apiPort: number;
  /** All consumers joined their groups; throws once any of them hit a fatal error. */
  ready(): boolean;
  /** Stops the services, then deletes every Redis key under the env's prefix. */
  stop(): Promise<void>;
}

const CONSUMERS = {
  'web-visits': ['engagement.web-visit.v1'],
  'email-engagement': ['engagement.email.v1'],
  'trial-activity': ['product.trial-activity.v1'],
  'lead-context': ['lead.profile.v1', 'sales.qualification.v1'],
} as const satisfies Record<string, readonly InputTopicName[]>;

export async function startInProcessScorer(
  env: ScorerEnv,
  consumers: (keyof typeof CONSUMERS)[],
): Promise<InProcessScorer> {
  const fatal: unknown[] = [];
  const running: { stop(): Promise<void> }[] = [];
  const ready: (() => boolean)[] = [];
  try {
    for (const service of consumers) {
      const s = await startConsumerService(
        { service, defaultPort: 0, topics: [...CONSUMERS[service]], onFatal: (err) => fatal.push(err) },
        env.env({ CONSUMER_GROUP: env.contracts.group(service) }),
      );
      running.push(s);
      ready.push(() => s.isReady());
    }
    const api = await startLeadApi(env.env(), 0);
    running.push(api);
    return {
      apiPort: api.ops.port,
      ready() {
        if (fatal.length > 0) throw new Error(`a scoring service crashed: ${String(fatal[0])}`);
        return ready.every((r) => r());
      },
      stop: () => stopAll(env, running),
    };
  } catch (err) {
    await stopAll(env, running);
    throw err;
  }
}

async function stopAll(env: ScorerEnv, running: { stop(): Promise<void> }[]): Promise<void> {
  for (const s of running.reverse()) await s.stop().catch(() => undefined);
  await deleteKeys(env.env().REDIS_URL!, env.keyPrefix);
}
