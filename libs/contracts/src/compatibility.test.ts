import { describe, expect, it } from 'vitest';
import { findBreakingChanges, parseAvro } from './compatibility.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';

type Field = { name: string; type: unknown; default?: unknown; doc?: string; aliases?: string[] };

const bant = {
  type: 'record',
  name: 'Bant',
  fields: [
    { name: 'budget', type: 'boolean' },
    { name: 'need', type: 'boolean' },
  ],
};
const kind = { type: 'enum', name: 'Kind', symbols: ['A', 'B', 'UNKNOWN'], default: 'UNKNOWN' };
const base: Field[] = [
  { name: 'leadId', type: 'string' },
  { name: 'count', type: 'int' },
  { name: 'bant', type: bant },
  { name: 'kind', type: kind },
  { name: 'note', type: ['null', 'string'], default: null },
];

function schema(fields: Field[]) {
  return parseAvro({ type: 'record', name: 'Evt', namespace: 'io.test', fields });
}

const writer = schema(base);
const replace = (name: string, field: Field) => base.map((f) => (f.name === name ? field : f));

describe('findBreakingChanges (reader = new schema, writer = registered one)', () => {
  it('finds nothing for an identical schema', () => {
    expect(findBreakingChanges(writer, writer)).toEqual([]);
  });

  it('accepts a new optional field with a default', () => {
    const reader = schema([...base, { name: 'campaign', type: ['null', 'string'], default: null }]);
    expect(findBreakingChanges(reader, writer)).toEqual([]);
  });

  it('accepts a removed field, a widened number and a new enum symbol', () => {
    const reader = schema(
      replace('count', { name: 'count', type: 'long' })
        .filter((f) => f.name !== 'note')
        .map((f) =>
          f.name === 'kind' ? { ...f, type: { ...kind, symbols: ['A', 'B', 'C', 'UNKNOWN'] } } : f,
        ),
    );
    expect(findBreakingChanges(reader, writer)).toEqual([]);
  });

  it('accepts a renamed field that keeps the old name as an alias', () => {
    const reader = schema(replace('count', { name: 'total', type: 'int', aliases: ['count'] }));
    expect(findBreakingChanges(reader, writer)).toEqual([]);
  });

  it('names a new field without a default', () => {
    const reader = schema([...base, { name: 'campaign', type: 'string' }]);
    expect(findBreakingChanges(reader, writer)).toEqual([
      { path: 'campaign', reason: 'new field without a default: older messages do not have it' },
    ]);
  });

  it('names a changed field type', () => {
    const reader = schema(replace('count', { name: 'count', type: 'string' }));
    expect(findBreakingChanges(reader, writer)).toEqual([
      { path: 'count', reason: 'cannot read "int" as "string"' },
    ]);
  });

  it('names a field inside a nested record', () => {
    const newBant = { ...bant, fields: [...bant.fields, { name: 'timeline', type: 'boolean' }] };
    const reader = schema(replace('bant', { name: 'bant', type: newBant }));
    expect(findBreakingChanges(reader, writer).map((p) => p.path)).toEqual(['bant.timeline']);
  });

  it('names an optional field made required', () => {
    const reader = schema(replace('note', { name: 'note', type: 'string' }));
    const problems = findBreakingChanges(reader, writer);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('note');
    expect(problems[0]!.reason).toContain('null');
  });

  it('names an enum that lost a symbol and has no default', () => {
    const noDefault = { type: 'enum', name: 'Kind', symbols: ['A', 'B'] };
    const oldWriter = schema(
      replace('kind', { name: 'kind', type: { ...noDefault, symbols: ['A', 'B', 'C'] } }),
    );
    const reader = schema(replace('kind', { name: 'kind', type: noDefault }));
    expect(findBreakingChanges(reader, oldWriter)).toEqual([
      { path: 'kind', reason: 'enum symbols C removed and the enum has no default' },
    ]);
  });

  it('lets an enum with a default lose a symbol (old values read as the default)', () => {
    const reader = schema(replace('kind', { name: 'kind', type: { ...kind, symbols: ['A', 'UNKNOWN'] } }));
    expect(findBreakingChanges(reader, writer)).toEqual([]);
  });

  it('names every problem, not only the first', () => {
    const reader = schema([
      ...replace('count', { name: 'count', type: 'string' }),
      { name: 'x', type: 'string' },
    ]);
    expect(findBreakingChanges(reader, writer).map((p) => p.path)).toEqual(['count', 'x']);
  });

  it('refuses to read one topic as another', () => {
    const problems = findBreakingChanges(
      parseAvro(AVRO_SCHEMAS['engagement.web-visit.v1']),
      parseAvro(AVRO_SCHEMAS['engagement.email.v1']),
    );
    expect(problems).toEqual([
      { path: '(record)', reason: expect.stringContaining('EmailEngagement cannot be read as') },
    ]);
  });
});
