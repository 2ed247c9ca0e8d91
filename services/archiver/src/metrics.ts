import type { Metrics } from '@leadscorer/runtime';
import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * The archiver's own metrics, beside the shared ones it also sets (consumed messages, consumer
 * lag, transient retries): labels are topics and reasons only.
 */
export interface ArchiveMetrics {
  files: Counter<'topic'>;
  bytes: Counter<'topic'>;
  records: Counter<'topic'>;
  skipped: Counter<'topic' | 'reason'>;
  pendingMessages: Gauge;
  pendingBytes: Gauge;
  writeSeconds: Histogram;
}

export function archiveMetrics(metrics: Metrics): ArchiveMetrics {
  const registers = [metrics.registry];
  return {
    files: new Counter({
      name: 'leadscorer_archive_files_written_total',
      help: 'Archive files written (fsynced and renamed), by topic',
      labelNames: ['topic'],
      registers,
    }),
    bytes: new Counter({
      name: 'leadscorer_archive_bytes_written_total',
      help: 'Bytes of archive files written, by topic',
      labelNames: ['topic'],
      registers,
    }),
    records: new Counter({
      name: 'leadscorer_archive_records_written_total',
      help: 'Messages archived (in files on disk), by topic',
      labelNames: ['topic'],
      registers,
    }),
    skipped: new Counter({
      name: 'leadscorer_archive_messages_skipped_total',
      help: 'Messages not archived because the scoring services dead-letter them, by topic and error code',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    pendingMessages: new Gauge({
      name: 'leadscorer_archive_pending_messages',
      help: 'Offsets consumed and held in memory, not yet in a file on disk',
      registers,
    }),
    pendingBytes: new Gauge({
      name: 'leadscorer_archive_pending_bytes',
      help: 'Bytes of records held in memory, not yet in a file on disk (bounded by ARCHIVE_MAX_PENDING_BYTES)',
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'leadscorer_archive_write_seconds',
      help: 'Time to write one archive file: encode, write, fsync, rename, fsync the directory',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
  };
}
