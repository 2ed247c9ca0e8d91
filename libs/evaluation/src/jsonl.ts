import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  AVRO_SCHEMAS,
  INPUT_TOPICS,
  OUTPUT_TOPICS,
  parseAvro,
  type TopicName,
  validateRecord,
} from '@leadscorer/contracts';
import { isLeadScorerError, LeadScorerError } from '@leadscorer/errors';
import type avsc from 'avsc';
import { z } from 'zod';
import { byArrival, type HistoryItem, historyItem, type TopicRecord } from './history.ts';

/**
 * History files any tool can write: JSON Lines, one topic record per line,
 *   {"topic":"engagement.web-visit.v1","timestamp":1767262500412,"record":{...}}
 * `topic` is the logical topic name (no environment prefix), `timestamp` the Kafka timestamp in
 * epoch ms (optional: the record's eventTime stands in), `record` the decoded Avro record as
 * plain JSON (null for an absent optional field, enum symbols as strings). Other keys (partition,
 * offset, key) are allowed and ignored. Lines may come in any order: the loader sorts them by time.
 *
 * A line that is not such a record stops the load with file:line and the field. A well-formed
 * record the live services would have dead-lettered (docs/contracts.md validation rules) is left
 * out, as they left it out, and reported as a warning.
 */

export interface LoadedHistory {
  items: HistoryItem[];
  records: number;
  /** Records read but not replayed, by reason. */
  left: { deadLettered: number; stageChanges: number; unknownOutcomes: number };
  /** The first few dead-lettered records, as file:line: why. */
  warnings: string[];
}

const TOPICS = [...INPUT_TOPICS, ...OUTPUT_TOPICS] as const;
const LINE = z.object({
  topic: z.enum(TOPICS, { error: `expected one of ${TOPICS.join(', ')}` }),
  timestamp: z.int().min(0).optional(),
  record: z.record(z.string(), z.unknown(), { error: 'expected the decoded record as a JSON object' }),
});
const MAX_WARNINGS = 5;

const types = new Map<TopicName, avsc.Type>();
function avroType(topic: TopicName): avsc.Type {
  const known = types.get(topic);
  if (known) return known;
  const type = parseAvro(AVRO_SCHEMAS[topic]);
  types.set(topic, type);
  return type;
}

export async function loadHistoryFiles(files: readonly string[]): Promise<LoadedHistory> {
  const loaded: LoadedHistory = {
    items: [],
    records: 0,
    left: { deadLettered: 0, stageChanges: 0, unknownOutcomes: 0 },
    warnings: [],
  };
  for (const file of files) await loadFile(file, loaded);
  byArrival(loaded.items);
  return loaded;
}

async function loadFile(file: string, into: LoadedHistory): Promise<void> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('ready', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : String(err);
    throw new LeadScorerError('CONFIG_INVALID', `${file}: cannot read the history file (${why})`);
  }
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    const r = parseHistoryLine(text, `${file}:${line}`);
    into.records++;
    if (r.topic === 'lead.stage-changed.v1' || r.topic === 'lead.stage.v1') {
      into.left.stageChanges++;
      continue;
    }
    try {
      validateRecord(r.topic, r.record as never, {
        now: r.timestamp ?? (r.record as { eventTime: number }).eventTime,
      });
    } catch (err) {
      if (!isLeadScorerError(err)) throw err;
      into.left.deadLettered++;
      if (into.warnings.length < MAX_WARNINGS) into.warnings.push(`${file}:${line}: ${err.message}`);
      continue;
    }
    const item = historyItem(r);
    if (item) into.items.push(item);
    else into.left.unknownOutcomes++;
  }
}

/**
 * One line as a topic record, or a MESSAGE_VALIDATION_FAILED error naming `where` (file:line)
 * and the field. Messages name fields and types, never values: records may hold personal data.
 */
export function parseHistoryLine(text: string, where: string): TopicRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(where, '(line)', `not JSON: ${(err as Error).message}`);
  }
  const envelope = LINE.safeParse(json);
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!;
    throw invalid(where, issue.path.join('.') || '(line)', issue.message);
  }
  const { topic, timestamp, record } = envelope.data;
  const problems: string[] = [];
  avroType(topic).isValid(record, {
    errorHook: (path, value, type) => {
      problems.push(`record.${path.join('.')}: expected ${describe(type)}, got ${kind(value)}`);
    },
  });
  if (problems.length > 0) {
    throw new LeadScorerError(
      'MESSAGE_VALIDATION_FAILED',
      `${where}: ${problems[0]} (topic ${topic}${problems.length > 1 ? `; ${problems.length - 1} more problems` : ''})`,
      { details: { where, field: problems[0]!.split(':')[0]! } },
    );
  }
  // Avro's check above is what makes the record the topic's type.
  return { topic, ...(timestamp === undefined ? {} : { timestamp }), record } as unknown as TopicRecord;
}

function invalid(where: string, field: string, why: string): LeadScorerError {
  return new LeadScorerError('MESSAGE_VALIDATION_FAILED', `${where}: ${field}: ${why}`, {
    details: { where, field },
  });
}

function describe(type: avsc.Type): string {
  if (type instanceof Object && 'types' in type) {
    return (type as unknown as { types: avsc.Type[] }).types.map(describe).join(' or ');
  }
  if (type.typeName === 'enum')
    return `one of ${(type as unknown as { symbols: string[] }).symbols.join(', ')}`;
  if (type.typeName === 'record') return 'an object';
  if (type.typeName === 'long' || type.typeName === 'int') return 'an integer';
  return type.typeName;
}

function kind(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fraction';
  return `a ${typeof value}`;
}
