import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LeadScorerError } from '@leadscorer/errors';
import avsc from 'avsc';

/**
 * Avro object container files (Avro 1.11 specification, "Object Container Files"), written from
 * record encodings the caller already has and read back block by block:
 *
 *   header   "Obj" 0x01, a map of metadata (avro.schema, avro.codec, ours), a 16-byte sync marker
 *   block    record count (long), byte size (long), the records' encodings (compressed by the
 *            codec), the sync marker again
 *
 * The archiver never decodes and re-encodes a message: the Avro body a producer wrote is already
 * the value's encoding, so a record here is a few bytes of Kafka metadata followed by those bytes
 * (archived-record.ts). avsc types encode the header and the block lengths; the framing is this
 * file. container.test.ts checks both directions against avsc's own container reader and writer.
 */

export const CODECS = ['null', 'deflate'] as const;
/** `deflate` is raw DEFLATE (RFC 1951), as the specification requires; every Avro reader has it. */
export type Codec = (typeof CODECS)[number];

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const HEADER = avsc.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const LONG = avsc.Type.forSchema('long');

/** Uncompressed bytes per block: large enough that framing costs nothing, small for memory. */
export const DEFAULT_BLOCK_BYTES = 64 * 1024;

export interface ContainerSpec {
  /** The records' schema, as JSON text (stored as avro.schema). */
  schema: string;
  codec: Codec;
  /** Extra header metadata; keys must not start with `avro.` (reserved by the specification). */
  meta: Record<string, string>;
  /** Records' encodings, each possibly in several parts: records[i] is parts[i]. */
  records: readonly (readonly Buffer[])[];
  blockBytes?: number;
  /** The sync marker; random when not given (tests pass one to compare bytes). */
  sync?: Buffer;
}

/** The container file as a list of buffers to write in order. */
export function encodeContainer(spec: ContainerSpec): Buffer[] {
  const sync = spec.sync ?? randomBytes(16);
  const meta: Record<string, Buffer> = {
    'avro.schema': Buffer.from(spec.schema, 'utf8'),
    'avro.codec': Buffer.from(spec.codec, 'utf8'),
  };
  for (const [k, v] of Object.entries(spec.meta)) {
    if (k.startsWith('avro.')) throw new Error(`metadata key ${k} is reserved by the Avro specification`);
    meta[k] = Buffer.from(v, 'utf8');
  }
  const out: Buffer[] = [HEADER.toBuffer({ magic: MAGIC, meta, sync })];
  const limit = spec.blockBytes ?? DEFAULT_BLOCK_BYTES;
  let parts: Buffer[] = [];
  let size = 0;
  let count = 0;
  const flush = (): void => {
    if (count === 0) return;
    const raw = Buffer.concat(parts, size);
    const data = spec.codec === 'deflate' ? deflateRawSync(raw) : raw;
    out.push(LONG.toBuffer(count), LONG.toBuffer(data.length), data, sync);
    parts = [];
    size = 0;
    count = 0;
  };
  for (const record of spec.records) {
    for (const p of record) {
      parts.push(p);
      size += p.length;
    }
    count++;
    if (size >= limit) flush();
  }
  flush();
  return out;
}

export interface ContainerHeader {
  schema: string;
  codec: Codec;
  /** Metadata other than avro.schema and avro.codec. */
  meta: Record<string, string>;
  sync: Buffer;
  /** Byte position of the first block. */
  blocksAt: number;
}

export function readHeader(buf: Buffer, file: string): ContainerHeader {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC))
    invalid(file, 0, 'not an Avro object container file');
  const { value, offset } = HEADER.decode(buf, 0) as {
    value: { meta: Record<string, Buffer>; sync: Buffer } | undefined;
    offset: number;
  };
  if (value === undefined || offset < 0) invalid(file, 0, 'truncated header');
  const schema = value.meta['avro.schema']?.toString('utf8');
  if (schema === undefined) invalid(file, 0, 'no avro.schema in the header');
  const codec = value.meta['avro.codec']?.toString('utf8') ?? 'null';
  if (!(CODECS as readonly string[]).includes(codec)) invalid(file, 0, `unsupported codec ${codec}`);
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(value.meta)) if (!k.startsWith('avro.')) meta[k] = v.toString('utf8');
  return { schema, codec: codec as Codec, meta, sync: Buffer.from(value.sync), blocksAt: offset };
}

/**
 * Walks a container's blocks without allocating per block beyond the decompressed data:
 * `while (r.next()) use(r.count, r.data)`. Checks every block's length and sync marker, so a
 * file cut short or overwritten in the middle is refused, named, with the byte position.
 */
export class BlockReader {
  count = 0;
  data: Buffer = Buffer.alloc(0);
  /** Byte position of the current block in the file. */
  at = 0;
  private pos: number;
  private readonly buf: Buffer;
  private readonly header: ContainerHeader;
  private readonly file: string;

  constructor(buf: Buffer, header: ContainerHeader, file: string) {
    this.buf = buf;
    this.header = header;
    this.file = file;
    this.pos = header.blocksAt;
  }

  next(): boolean {
    const { buf, file } = this;
    if (this.pos >= buf.length) return false;
    this.at = this.pos;
    const count = LONG.decode(buf, this.pos) as { value: number; offset: number };
    if (count.offset < 0) invalid(file, this.pos, 'truncated block header');
    const size = LONG.decode(buf, count.offset) as { value: number; offset: number };
    if (size.offset < 0 || count.value < 0 || size.value < 0) invalid(file, this.pos, 'bad block header');
    const end = size.offset + size.value;
    if (end + 16 > buf.length) invalid(file, this.pos, 'truncated block');
    if (buf.compare(this.header.sync, 0, 16, end, end + 16) !== 0) invalid(file, end, 'sync marker mismatch');
    const raw = buf.subarray(size.offset, end);
    try {
      this.data = this.header.codec === 'deflate' ? inflateRawSync(raw) : raw;
    } catch (err) {
      invalid(file, this.pos, `block does not inflate (${(err as Error).message})`);
    }
    this.count = count.value;
    this.pos = end + 16;
    return true;
  }
}

export function invalid(file: string, at: number, why: string): never {
  throw new LeadScorerError('ARCHIVE_INVALID', `${file}: byte ${at}: ${why}`, {
    details: { file, byte: at },
  });
}
