import { LeadScorerError } from '@leadscorer/errors';

/**
 * The Confluent wire format, checked before anything touches the registry:
 *
 *   byte 0      magic byte, always 0
 *   bytes 1-4   schema id, big-endian signed int32, assigned by the registry
 *   bytes 5..   Avro binary body, written with that schema
 *
 * Every way a frame can be broken maps to one poison error code, so the consumer can
 * dead-letter it without a registry round trip.
 */

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

export interface Frame {
  schemaId: number;
  body: Buffer;
}

export interface FrameLimits {
  /** Largest accepted value in bytes (TopicDefinition.maxValueBytes). */
  maxValueBytes: number;
}

/** What the checks need of a Kafka message; kafkajs' KafkaMessage fits. */
export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * Checks key, size, magic byte and length, in that order, and splits the frame.
 * Throws a poison LeadScorerError for each kind of broken message.
 */
export function parseFrame(topic: string, message: RawMessage, limits: FrameLimits): Frame {
  const { key, value } = message;
  // Every input is keyed by lead id: without a key the partition (and so the ordering and the
  // lead's owner) is arbitrary, and we could not tell which lead the message belongs to.
  if (key === null || key.length === 0) {
    throw new LeadScorerError('MESSAGE_NO_KEY', `message on ${topic} has no key (the lead id)`);
  }
  const size = value?.length ?? 0;
  if (size > limits.maxValueBytes) {
    throw new LeadScorerError(
      'MESSAGE_TOO_LARGE',
      `value of ${size} bytes on ${topic} exceeds the limit of ${limits.maxValueBytes}`,
      { details: { size, limit: limits.maxValueBytes } },
    );
  }
  if (value === null || value.length === 0) {
    // A tombstone or an empty value: there is no event to apply.
    throw new LeadScorerError('MESSAGE_TRUNCATED', `message on ${topic} has no value`, { details: { size } });
  }
  // The magic byte is checked before the length: a one-byte JSON "{" is a wrong format, not a
  // cut-off Avro frame, and saying so points the producer at the real mistake.
  if (value[0] !== MAGIC_BYTE) {
    throw new LeadScorerError(
      'MESSAGE_BAD_MAGIC_BYTE',
      `value on ${topic} starts with byte 0x${value[0]!.toString(16).padStart(2, '0')}, not the Confluent magic byte 0x00 (not produced with the schema registry serializer)`,
      { details: { magicByte: value[0]! } },
    );
  }
  if (value.length < HEADER_BYTES) {
    throw new LeadScorerError(
      'MESSAGE_TRUNCATED',
      `value on ${topic} has ${value.length} bytes, fewer than the 5-byte Confluent header`,
      { details: { size } },
    );
  }
  return { schemaId: value.readInt32BE(1), body: value.subarray(HEADER_BYTES) };
}

/** Prepends the Confluent header to an Avro body. */
export function encodeFrame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}
