/**
 * @leadscorer/archive: the history of every input topic, kept beyond Kafka retention as Avro
 * object container files (docs/archive.md). The archiver service writes them (services/archiver);
 * the replay engine (libs/replay) and other tools read them; erasure rewrites them.
 */
export { type AcceptableMessage, MessageAcceptor, type Verdict, WriterSchemas } from './accept.ts';
export { ARCHIVE_NAMESPACE, type ArchivedMessage, archivedSchema, encodeMeta } from './archived-record.ts';
export {
  BlockReader,
  CODECS,
  type Codec,
  type ContainerHeader,
  type ContainerSpec,
  encodeContainer,
  readHeader,
} from './container.ts';
export { type EraseResult, eraseLeads } from './erase.ts';
export { META_KEYS, removeTemporaryFiles, type WrittenFile, writeAtomically, writeSegment } from './files.ts';
export {
  type ArchiveFile,
  dayDir,
  dayOf,
  fileName,
  isTemporary,
  listArchive,
  nextOffset,
  parseFileName,
  temporaryFiles,
} from './layout.ts';
export { type ArchiveFileContent, forEachRecord, readArchiveFile, typeOf } from './read.ts';
export { PartitionLog, type Segment, type SegmentLimits } from './segment.ts';
export { ArchiveWriter, type ArchiveWriterOptions, type Position } from './writer.ts';
