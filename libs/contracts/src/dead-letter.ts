import { isPoison, LeadScorerError } from '@leadscorer/errors';
import type { IHeaders, Message, Producer } from 'kafkajs';
import { DEAD_LETTER } from './topics.ts';

/**
 * Dead letters. A poison message is copied byte for byte (key, value, headers) to its input's
 * dead-letter topic `<input>.dlq`, with `dlq.*` headers (and Kafka Connect's `__connect.errors.*`
 * names for the same facts) saying why and where it came from, so it
 * neither stops the partition nor vanishes, and `npm run dlq -- replay` can re-drive it after a
 * fix. Only poison errors are accepted: a transient fault retried later must never land here.
 */

export const DLQ_HEADERS = {
  errorCode: 'dlq.error.code',
  errorClass: 'dlq.error.class',
  errorMessage: 'dlq.error.message',
  errorDetails: 'dlq.error.details',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  sourceTimestamp: 'dlq.source.timestamp',
  service: 'dlq.service',
  time: 'dlq.time',
} as const;

/** What each header means; rendered into the AsyncAPI document and docs/contracts.md. */
export const DLQ_HEADER_DOCS: Readonly<Record<keyof typeof DLQ_HEADERS, string>> = {
  errorCode: 'Error code from libs/errors, e.g. MESSAGE_VALIDATION_FAILED.',
  errorClass: 'Error class: poison (the message itself is bad).',
  errorMessage:
    'Human-readable reason naming the field or check that failed (at most 1,000 characters; no field values).',
  errorDetails: 'JSON object with structured, non-personal context (schema id, size, failing fields).',
  sourceTopic: 'Topic the message was consumed from.',
  sourcePartition: 'Partition it was consumed from.',
  sourceOffset: 'Offset it had there.',
  sourceTimestamp: 'Kafka timestamp of the original message, epoch milliseconds.',
  service: 'Name of the service that dead-lettered it.',
  time: 'When it was dead-lettered, ISO 8601 UTC.',
};

/**
 * The same facts under Kafka Connect's dead-letter header names (its DeadLetterQueueReporter,
 * checked against connect-runtime 4.4.0), so that tools written for Connect's dead-letter queues
 * read ours. Values are UTF-8 text, as Connect writes them. Connect's connector, task, stage and
 * executing-class headers name Connect internals with no counterpart here; its stack trace header
 * is left out too: a poison message is a fault of the message, and a stack would only show our
 * code (paths included) without saying anything about the message.
 */
export const CONNECT_ERROR_HEADERS = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  exceptionClass: '__connect.errors.exception.class.name',
  exceptionMessage: '__connect.errors.exception.message',
} as const;

const CONNECT_ERRORS_PREFIX = '__connect.errors.';

/** What each Connect header carries here; rendered next to DLQ_HEADER_DOCS. */
export const CONNECT_ERROR_HEADER_DOCS: Readonly<Record<keyof typeof CONNECT_ERROR_HEADERS, string>> = {
  topic: `Kafka Connect's name for ${DLQ_HEADERS.sourceTopic}.`,
  partition: `Kafka Connect's name for ${DLQ_HEADERS.sourcePartition}.`,
  offset: `Kafka Connect's name for ${DLQ_HEADERS.sourceOffset}.`,
  exceptionClass: `Kafka Connect's exception class: here the error code, as in ${DLQ_HEADERS.errorCode}.`,
  exceptionMessage: `Kafka Connect's exception message: the same text as ${DLQ_HEADERS.errorMessage}.`,
};

/** Added by `npm run dlq -- replay` to a re-driven message. */
export const REPLAY_HEADERS = {
  count: 'replay.count',
  source: 'replay.source',
} as const;

const MAX_MESSAGE_CHARS = 1000;

/** A consumed message and where it came from (kafkajs' eachMessage payload, flattened). */
export interface SourceMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  timestamp?: string;
}

export interface DeadLetterOptions {
  service: string;
  /** The caller's clock, epoch milliseconds. */
  now: number;
}

/** Builds the dead-letter message for a poison message. Pure. */
export function deadLetterMessage(
  original: SourceMessage,
  error: unknown,
  options: DeadLetterOptions,
): { topic: string; message: Message } {
  if (!isPoison(error)) {
    throw new LeadScorerError(
      'INVARIANT_VIOLATED',
      'only poison messages may be dead-lettered; transient faults are retried and bugs crash',
      { cause: error },
    );
  }
  const err = error as LeadScorerError;
  const message = err.message.slice(0, MAX_MESSAGE_CHARS);
  const headers: IHeaders = {
    ...withoutDeadLetterHeaders(original.headers),
    [DLQ_HEADERS.errorCode]: err.code,
    [DLQ_HEADERS.errorClass]: 'poison',
    [DLQ_HEADERS.errorMessage]: message,
    [DLQ_HEADERS.errorDetails]: JSON.stringify(err.details),
    [DLQ_HEADERS.sourceTopic]: original.topic,
    [DLQ_HEADERS.sourcePartition]: String(original.partition),
    [DLQ_HEADERS.sourceOffset]: original.offset,
    [DLQ_HEADERS.service]: options.service,
    [DLQ_HEADERS.time]: new Date(options.now).toISOString(),
    [CONNECT_ERROR_HEADERS.topic]: original.topic,
    [CONNECT_ERROR_HEADERS.partition]: String(original.partition),
    [CONNECT_ERROR_HEADERS.offset]: original.offset,
    [CONNECT_ERROR_HEADERS.exceptionClass]: err.code,
    [CONNECT_ERROR_HEADERS.exceptionMessage]: message,
  };
  if (original.timestamp !== undefined) headers[DLQ_HEADERS.sourceTimestamp] = original.timestamp;
  return {
    topic: original.topic + DEAD_LETTER.suffix,
    message: { key: original.key, value: original.value, headers },
  };
}

export interface DeadLetterPublisher {
  /**
   * Sends the dead letter and resolves once the broker has it (acks from all in-sync replicas).
   * Commit the source offset only after this resolves; if it throws BROKER_UNAVAILABLE, retry.
   */
  publish(original: SourceMessage, error: unknown, now: number): Promise<void>;
}

export function createDeadLetterPublisher(options: {
  producer: Producer;
  service: string;
}): DeadLetterPublisher {
  return {
    async publish(original, error, now) {
      const { topic, message } = deadLetterMessage(original, error, { service: options.service, now });
      try {
        await options.producer.send({ topic, messages: [message], acks: -1 });
      } catch (err) {
        throw new LeadScorerError('BROKER_UNAVAILABLE', `could not publish dead letter to ${topic}`, {
          cause: err,
        });
      }
    },
  };
}

/** Why a message was dead-lettered, read back from its headers. */
export interface DeadLetterReason {
  code: string;
  errorClass: string;
  message: string;
  details: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  sourceTimestamp: string | null;
  service: string;
  time: string;
}

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The original headers, `dlq.*` and `__connect.errors.*` removed. */
  headers: IHeaders;
  reason: DeadLetterReason;
}

/** Reads a message consumed from a dead-letter topic. Pure. */
export function readDeadLetter(
  topic: string,
  partition: number,
  message: { offset: string; key: Buffer | null; value: Buffer | null; headers?: IHeaders },
): DeadLetter {
  const h = (name: string) => headerText(message.headers, name);
  const sourceTopic = h(DLQ_HEADERS.sourceTopic);
  if (sourceTopic === null) {
    throw new LeadScorerError(
      'INVARIANT_VIOLATED',
      `${topic}:${partition}:${message.offset} has no dlq headers`,
    );
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: withoutDeadLetterHeaders(message.headers),
    reason: {
      code: h(DLQ_HEADERS.errorCode) ?? '',
      errorClass: h(DLQ_HEADERS.errorClass) ?? '',
      message: h(DLQ_HEADERS.errorMessage) ?? '',
      details: h(DLQ_HEADERS.errorDetails) ?? '{}',
      sourceTopic,
      sourcePartition: Number(h(DLQ_HEADERS.sourcePartition)),
      sourceOffset: h(DLQ_HEADERS.sourceOffset) ?? '',
      sourceTimestamp: h(DLQ_HEADERS.sourceTimestamp),
      service: h(DLQ_HEADERS.service) ?? '',
      time: h(DLQ_HEADERS.time) ?? '',
    },
  };
}

/**
 * The message that re-drives a dead letter: original key, value and headers, to the topic it
 * came from, plus `replay.*` headers. Refuses a source topic that does not match the dead-letter
 * topic's name, so a forged header cannot make replay write into an arbitrary topic. Pure.
 */
export function replayMessage(deadLetter: DeadLetter): { topic: string; message: Message } {
  const expected = deadLetter.topic.endsWith(DEAD_LETTER.suffix)
    ? deadLetter.topic.slice(0, -DEAD_LETTER.suffix.length)
    : null;
  if (deadLetter.reason.sourceTopic !== expected) {
    throw new LeadScorerError(
      'INVARIANT_VIOLATED',
      `dead letter ${deadLetter.topic}:${deadLetter.partition}:${deadLetter.offset} claims to come from ${deadLetter.reason.sourceTopic}`,
    );
  }
  const previous = Number(headerText(deadLetter.headers, REPLAY_HEADERS.count) ?? '0');
  return {
    topic: expected,
    message: {
      key: deadLetter.key,
      value: deadLetter.value,
      headers: {
        ...deadLetter.headers,
        [REPLAY_HEADERS.count]: String((Number.isInteger(previous) ? previous : 0) + 1),
        [REPLAY_HEADERS.source]: `${deadLetter.topic}:${deadLetter.partition}:${deadLetter.offset}`,
      },
    },
  };
}

/** First value of a header as UTF-8 text, or null. kafkajs turns repeated keys into arrays. */
export function headerText(headers: IHeaders | undefined, name: string): string | null {
  const raw = headers?.[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/**
 * The headers a dead letter adds, ours and Connect's, removed: a replayed message must not carry
 * the reason of its last failure, and one dead-lettered again (or one that comes from a Connect
 * dead-letter queue) gets a fresh, unmixed set.
 */
function withoutDeadLetterHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!name.startsWith('dlq.') && !name.startsWith(CONNECT_ERRORS_PREFIX)) out[name] = value;
  }
  return out;
}
