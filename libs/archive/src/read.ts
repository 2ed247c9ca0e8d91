import { readFileSync } from 'node:fs';
import avsc from 'avsc';
import type { ArchivedMessage } from './archived-record.ts';
import { BlockReader, type ContainerHeader, invalid, readHeader } from './container.ts';

/**
 * Reading archive files whole, decoded in their own (writer) schema: for tests, tools and
 * erasure. The replay engine (libs/replay) reads blocks itself, into the library's reader schema.
 */

const types = new Map<string, avsc.Type>();

/** The avsc type of a schema text, parsed once per distinct text. */
export function typeOf(schema: string, file: string): avsc.Type {
  let type = types.get(schema);
  if (!type) {
    try {
      type = avsc.Type.forSchema(JSON.parse(schema) as avsc.Schema);
    } catch (err) {
      invalid(file, 0, `avro.schema is not a valid Avro schema (${(err as Error).message})`);
    }
    types.set(schema, type);
  }
  return type;
}

/**
 * Calls `fn` with each record of a container file (decoded with the file's schema) and its exact
 * encoding, in file order.
 */
export function forEachRecord(
  buf: Buffer,
  header: ContainerHeader,
  file: string,
  fn: (record: ArchivedMessage, encoding: Buffer) => void,
): void {
  const type = typeOf(header.schema, file);
  const blocks = new BlockReader(buf, header, file);
  while (blocks.next()) {
    const data = blocks.data;
    let pos = 0;
    for (let i = 0; i < blocks.count; i++) {
      const r = type.decode(data, pos) as { value: ArchivedMessage | undefined; offset: number };
      if (r.offset < 0 || r.value === undefined)
        invalid(file, blocks.at, `record ${i} of the block is truncated`);
      fn(r.value, data.subarray(pos, r.offset));
      pos = r.offset;
    }
    if (pos !== data.length) invalid(file, blocks.at, 'bytes after the last record of the block');
  }
}

export interface ArchiveFileContent {
  header: ContainerHeader;
  records: ArchivedMessage[];
}

export function readArchiveFile(path: string): ArchiveFileContent {
  const buf = readFileSync(path);
  const header = readHeader(buf, path);
  const records: ArchivedMessage[] = [];
  forEachRecord(buf, header, path, (r) => {
    records.push(r);
  });
  return { header, records };
}
