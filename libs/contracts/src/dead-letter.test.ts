import { LeadScorerError } from '@leadscorer/errors';
import { describe, expect, it } from 'vitest';
import {
  CONNECT_ERROR_HEADERS,
  DLQ_HEADERS,
  deadLetterMessage,
  headerText,
  readDeadLetter,
  replayMessage,
  type SourceMessage,
} from './dead-letter.ts';
import { matchesFilter } from './dead-letter-reader.ts';

const original: SourceMessage = {
  topic: 'engagement.web-visit.v1',
  partition: 3,
  offset: '1045',
  key: Buffer.from('lead-1'),
  value: Buffer.from('{"not":"avro"}'),
  headers: {
    traceparent: Buffer.from('00-abc-def-01'),
    'dlq.error.code': Buffer.from('stale'),
    // Left by an earlier failure or by a Connect dead-letter queue upstream.
    '__connect.errors.stage': Buffer.from('VALUE_CONVERTER'),
    '__connect.errors.offset': Buffer.from('7'),
  },
  timestamp: '1767262500000',
};
const poison = new LeadScorerError('MESSAGE_BAD_MAGIC_BYTE', 'starts with 0x7b', {
  details: { magicByte: 123 },
});
const now = Date.UTC(2026, 0, 2, 3, 4, 5);

describe('deadLetterMessage', () => {
  const { topic, message } = deadLetterMessage(original, poison, { service: 'scorer-web', now });
  const header = (name: string) => headerText(message.headers, name);

  it('targets the input topic + .dlq and keeps key and value byte for byte', () => {
    expect(topic).toBe('engagement.web-visit.v1.dlq');
    expect(message.key).toBe(original.key);
    expect(message.value).toBe(original.value);
  });

  it('keeps the original headers and says why and where from', () => {
    expect(header('traceparent')).toBe('00-abc-def-01');
    expect(header(DLQ_HEADERS.errorCode)).toBe('MESSAGE_BAD_MAGIC_BYTE');
    expect(header(DLQ_HEADERS.errorClass)).toBe('poison');
    expect(header(DLQ_HEADERS.errorMessage)).toBe('starts with 0x7b');
    expect(JSON.parse(header(DLQ_HEADERS.errorDetails)!)).toEqual({ magicByte: 123 });
    expect(header(DLQ_HEADERS.sourceTopic)).toBe('engagement.web-visit.v1');
    expect(header(DLQ_HEADERS.sourcePartition)).toBe('3');
    expect(header(DLQ_HEADERS.sourceOffset)).toBe('1045');
    expect(header(DLQ_HEADERS.sourceTimestamp)).toBe('1767262500000');
    expect(header(DLQ_HEADERS.service)).toBe('scorer-web');
    expect(header(DLQ_HEADERS.time)).toBe('2026-01-02T03:04:05.000Z');
  });

  it("carries Kafka Connect's error headers with the same facts, replacing any earlier ones", () => {
    // The names Kafka Connect's DeadLetterQueueReporter writes (connect-runtime 4.4.0).
    expect(CONNECT_ERROR_HEADERS).toEqual({
      topic: '__connect.errors.topic',
      partition: '__connect.errors.partition',
      offset: '__connect.errors.offset',
      exceptionClass: '__connect.errors.exception.class.name',
      exceptionMessage: '__connect.errors.exception.message',
    });
    expect(header('__connect.errors.topic')).toBe('engagement.web-visit.v1');
    expect(header('__connect.errors.partition')).toBe('3');
    expect(header('__connect.errors.offset')).toBe('1045');
    expect(header('__connect.errors.exception.class.name')).toBe('MESSAGE_BAD_MAGIC_BYTE');
    expect(header('__connect.errors.exception.message')).toBe('starts with 0x7b');
    const connect = Object.keys(message.headers ?? {}).filter((h) => h.startsWith('__connect.'));
    expect(connect.sort()).toEqual(Object.values(CONNECT_ERROR_HEADERS).sort());
  });

  it('bounds the Connect exception message like its own', () => {
    const long = new LeadScorerError('MESSAGE_VALIDATION_FAILED', 'y'.repeat(5000));
    const { message: m } = deadLetterMessage(original, long, { service: 's', now });
    expect(headerText(m.headers, CONNECT_ERROR_HEADERS.exceptionMessage)).toHaveLength(1000);
  });

  it('keeps a message without key, value or headers as it is', () => {
    const bare = deadLetterMessage(
      { topic: 't', partition: 0, offset: '0', key: null, value: null },
      poison,
      { service: 's', now },
    );
    expect(bare.message.key).toBeNull();
    expect(bare.message.value).toBeNull();
    expect(headerText(bare.message.headers, DLQ_HEADERS.sourceTimestamp)).toBeNull();
  });

  it('bounds the error message', () => {
    const long = new LeadScorerError('MESSAGE_VALIDATION_FAILED', 'x'.repeat(5000));
    const { message: m } = deadLetterMessage(original, long, { service: 's', now });
    expect(headerText(m.headers, DLQ_HEADERS.errorMessage)).toHaveLength(1000);
  });

  it.each([
    ['a transient fault', new LeadScorerError('REGISTRY_UNAVAILABLE', 'down')],
    ['a bug', new LeadScorerError('INVARIANT_VIOLATED', 'oops')],
    ['an uncoded error', new Error('boom')],
  ])('refuses to dead-letter %s', (_name, error) => {
    expect(() => deadLetterMessage(original, error, { service: 's', now })).toThrow(/only poison messages/);
  });
});

describe('reading and replaying a dead letter', () => {
  const { topic, message } = deadLetterMessage(original, poison, { service: 'scorer-web', now });
  const consumed = {
    offset: '7',
    key: message.key as Buffer,
    value: message.value as Buffer,
    headers: message.headers,
  };
  const deadLetter = readDeadLetter(topic, 0, consumed);

  it('reads the reason back and separates the original headers', () => {
    expect(deadLetter.reason).toMatchObject({
      code: 'MESSAGE_BAD_MAGIC_BYTE',
      sourceTopic: 'engagement.web-visit.v1',
      sourcePartition: 3,
      sourceOffset: '1045',
      service: 'scorer-web',
      time: '2026-01-02T03:04:05.000Z',
    });
    expect(Object.keys(deadLetter.headers)).toEqual(['traceparent']);
  });

  it('replays to the source topic with the original key, value and headers', () => {
    const replay = replayMessage(deadLetter);
    expect(replay.topic).toBe('engagement.web-visit.v1');
    expect(replay.message.key).toBe(original.key);
    expect(replay.message.value).toBe(original.value);
    expect(headerText(replay.message.headers, 'traceparent')).toBe('00-abc-def-01');
    expect(headerText(replay.message.headers, 'replay.count')).toBe('1');
    expect(headerText(replay.message.headers, 'replay.source')).toBe('engagement.web-visit.v1.dlq:0:7');
    expect(
      Object.keys(replay.message.headers ?? {}).filter(
        (h) => h.startsWith('dlq.') || h.startsWith('__connect.errors.'),
      ),
    ).toEqual([]);
  });

  it('counts replays of a message that failed again', () => {
    const again = deadLetterMessage(
      { ...original, headers: replayMessage(deadLetter).message.headers },
      poison,
      { service: 's', now },
    );
    const second = readDeadLetter(again.topic, 0, {
      offset: '9',
      key: null,
      value: null,
      headers: again.message.headers,
    });
    expect(headerText(replayMessage(second).message.headers, 'replay.count')).toBe('2');
  });

  it('refuses a dead letter whose source header does not match its topic', () => {
    const forged = { ...deadLetter, reason: { ...deadLetter.reason, sourceTopic: 'lead.stage-changed.v1' } };
    expect(() => replayMessage(forged)).toThrow(/claims to come from/);
  });

  it('refuses a message without dlq headers', () => {
    expect(() => readDeadLetter(topic, 0, { offset: '1', key: null, value: null, headers: {} })).toThrow(
      /no dlq headers/,
    );
  });

  it('filters by code, time, partition and offset', () => {
    expect(matchesFilter(deadLetter, {})).toBe(true);
    expect(matchesFilter(deadLetter, { code: 'MESSAGE_BAD_MAGIC_BYTE' })).toBe(true);
    expect(matchesFilter(deadLetter, { code: 'MESSAGE_NO_KEY' })).toBe(false);
    expect(matchesFilter(deadLetter, { since: now })).toBe(true);
    expect(matchesFilter(deadLetter, { since: now + 1 })).toBe(false);
    expect(matchesFilter(deadLetter, { partition: 0, offset: '7' })).toBe(true);
    expect(matchesFilter(deadLetter, { partition: 0, offset: '8' })).toBe(false);
    expect(matchesFilter(deadLetter, { partition: 1 })).toBe(false);
  });
});
