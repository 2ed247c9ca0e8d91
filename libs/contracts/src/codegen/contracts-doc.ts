import {
  CONNECT_ERROR_HEADER_DOCS,
  CONNECT_ERROR_HEADERS,
  DLQ_HEADER_DOCS,
  DLQ_HEADERS,
} from '../dead-letter.ts';
import { type Catalogue, DEAD_LETTER, type TopicName } from '../topics.ts';

/**
 * The parts of docs/contracts.md that restate the catalogue, the schemas and the examples are
 * generated into marked sections, so the prose around them is hand-written and the facts are
 * not. A section is delimited by `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`.
 */

export interface DocInput {
  catalogue: Catalogue;
  schemas: Readonly<Record<TopicName, Record<string, unknown>>>;
  examples: Readonly<Record<TopicName, unknown>>;
}

export function renderSections({ catalogue, schemas, examples }: DocInput): Record<string, string> {
  const topicRows = catalogue.topics.map((t) =>
    [
      `\`${t.topic}\``,
      t.role === 'output' ? 'out' : t.role === 'control' ? 'in (control)' : 'in',
      String(schemas[t.name].name),
      `[\`schemas/${t.schemaFile}\`](../schemas/${t.schemaFile})`,
      String(t.partitions),
      t.cleanupPolicy === 'compact'
        ? 'compact (latest per lead, forever)'
        : `delete after ${days(t.retentionMs!)}`,
      t.deadLetterTopic ? `\`${t.deadLetterTopic}\`` : '-',
    ].join(' | '),
  );
  const topics = [
    '| topic | dir | record | schema | partitions | cleanup / retention | dead-letter topic |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...topicRows.map((r) => `| ${r} |`),
    '',
    `Every topic is keyed by the lead id (UTF-8 string). Dead-letter topics have ${DEAD_LETTER.partitions} partition and keep messages ${days(DEAD_LETTER.retentionMs)}.`,
    '',
    ...catalogue.topics.map((t) => `- \`${t.topic}\`: ${t.summary} ${t.rationale}`),
  ].join('\n');

  const exampleBlocks = catalogue.topics.flatMap((t) => [
    `### \`${t.topic}\` (${String(schemas[t.name].name)})`,
    '',
    '```json',
    JSON.stringify(examples[t.name], null, 2),
    '```',
    '',
  ]);

  const headers = [
    '| header | meaning |',
    '| --- | --- |',
    ...Object.entries(DLQ_HEADERS).map(
      ([field, header]) => `| \`${header}\` | ${DLQ_HEADER_DOCS[field as keyof typeof DLQ_HEADERS]} |`,
    ),
    ...Object.entries(CONNECT_ERROR_HEADERS).map(
      ([field, header]) =>
        `| \`${header}\` | ${CONNECT_ERROR_HEADER_DOCS[field as keyof typeof CONNECT_ERROR_HEADERS]} |`,
    ),
  ].join('\n');

  return { topics, examples: exampleBlocks.join('\n').trimEnd(), 'dlq-headers': headers };
}

/** Replaces the content of every marked section; throws when a section's markers are missing. */
export function spliceSections(
  doc: string,
  sections: Record<string, string>,
  file = 'docs/contracts.md',
): string {
  let out = doc;
  for (const [name, body] of Object.entries(sections)) {
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from === -1 || to === -1 || to < from)
      throw new Error(`${file} lacks the markers of section ${name}`);
    out = `${out.slice(0, from + start.length)}\n${body}\n${out.slice(to)}`;
  }
  return out;
}

function days(ms: number): string {
  return `${ms / 86_400_000} days`;
}
