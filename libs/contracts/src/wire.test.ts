import { LeadScorerError } from '@leadscorer/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, parseFrame } from './wire.ts';

const limits = { maxValueBytes: 100 };
const key = Buffer.from('lead-1');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LeadScorerError);
    expect((err as LeadScorerError).poison).toBe(true);
    return (err as LeadScorerError).code;
  }
  throw new Error('expected a LeadScorerError');
}

describe('parseFrame', () => {
  it('splits a good frame into schema id and body', () => {
    const frame = parseFrame('t', { key, value: encodeFrame(42, Buffer.from([1, 2, 3])) }, limits);
    expect(frame.schemaId).toBe(42);
    expect([...frame.body]).toEqual([1, 2, 3]);
  });

  it.each([
    ['no key', { key: null, value: encodeFrame(1, Buffer.from([1])) }, 'MESSAGE_NO_KEY'],
    ['an empty key', { key: Buffer.alloc(0), value: encodeFrame(1, Buffer.from([1])) }, 'MESSAGE_NO_KEY'],
    ['a value over the limit', { key, value: encodeFrame(1, Buffer.alloc(200)) }, 'MESSAGE_TOO_LARGE'],
    ['a tombstone', { key, value: null }, 'MESSAGE_TRUNCATED'],
    ['an empty value', { key, value: Buffer.alloc(0) }, 'MESSAGE_TRUNCATED'],
    ['JSON', { key, value: Buffer.from('{"leadId":"lead-1"}') }, 'MESSAGE_BAD_MAGIC_BYTE'],
    ['a one-byte JSON brace', { key, value: Buffer.from('{') }, 'MESSAGE_BAD_MAGIC_BYTE'],
    ['a cut-off header', { key, value: Buffer.from([0, 0, 0]) }, 'MESSAGE_TRUNCATED'],
  ])('classifies %s', (_name, message, code) => {
    expect(codeOf(() => parseFrame('t', message, limits))).toBe(code);
  });

  it('accepts a value of exactly the limit', () => {
    const value = encodeFrame(7, Buffer.alloc(limits.maxValueBytes - 5));
    expect(parseFrame('t', { key, value }, limits).schemaId).toBe(7);
  });

  it('round-trips any schema id and body', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.uint8Array({ maxLength: 64 }),
        (id, body) => {
          const frame = parseFrame('t', { key, value: encodeFrame(id, Buffer.from(body)) }, limits);
          expect(frame.schemaId).toBe(id);
          expect([...frame.body]).toEqual([...body]);
        },
      ),
    );
  });
});
