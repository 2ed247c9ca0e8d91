import type { ControlTopicName, InputTopicName } from '@leadscorer/contracts';

/**
 * The consumer services and the input topics each one scores, in one place: their main.ts files
 * start them from here, and a rebuild (libs/rescore) reads how far each one's consumer group got.
 * Each topic is scored by exactly one of them.
 */
export const CONSUMERS = {
  'web-visits': { defaultPort: 9464, topics: ['engagement.web-visit.v1'] },
  'email-engagement': { defaultPort: 9465, topics: ['engagement.email.v1'] },
  'trial-activity': { defaultPort: 9466, topics: ['product.trial-activity.v1'] },
  'lead-context': {
    defaultPort: 9467,
    topics: ['lead.profile.v1', 'sales.qualification.v1'],
    // Erasure requests: not scored, acted on (erasure.ts), never replayed.
    control: ['lead.erasure-requests.v1'],
  },
} as const satisfies Record<
  string,
  { defaultPort: number; topics: readonly InputTopicName[]; control?: readonly ControlTopicName[] }
>;

export type ConsumerName = keyof typeof CONSUMERS;

/** A consumer service's group when CONSUMER_GROUP does not name another. */
export function defaultGroup(service: ConsumerName): string {
  return `lead-scorer.${service}`;
}

/** The spec startConsumerService takes for one of them. */
export function consumerSpec(service: ConsumerName, onFatal: (err: unknown) => void) {
  const c: { defaultPort: number; topics: readonly InputTopicName[]; control?: readonly ControlTopicName[] } =
    CONSUMERS[service];
  return {
    service,
    defaultPort: c.defaultPort,
    topics: [...c.topics],
    controlTopics: [...(c.control ?? [])],
    onFatal,
  };
}
