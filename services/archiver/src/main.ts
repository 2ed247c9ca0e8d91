import { runMain } from '@leadscorer/runtime';
import { startArchiver } from './service.ts';

// The archiver: every input topic, outcomes included, into Avro files under ARCHIVE_DIR, exactly
// once per message (docs/archive.md). All behaviour is in this directory; config is environment.
runMain((onFatal) => startArchiver(process.env, onFatal));
