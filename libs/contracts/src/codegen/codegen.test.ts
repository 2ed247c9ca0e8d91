import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { avroToTypeScript } from './avro-to-ts.ts';
import { generateDocs, generateTypeModules, REPO_ROOT, readSchemas } from './generate.ts';

// The committed generated files must be exactly what the generator makes from the schemas now:
// otherwise the TypeScript types, the AsyncAPI document or docs/contracts.md have drifted.
describe('generated files are current (run `npm run schemas -- codegen` if this fails)', () => {
  const schemas = readSchemas();

  it.each(generateTypeModules(schemas).map((f) => [f.path, f.content]))('%s', (path, content) => {
    expect(readFileSync(join(REPO_ROOT, path), 'utf8')).toBe(content);
  });

  it('docs/asyncapi.yaml, docs/contracts.md and the README sections', async () => {
    for (const f of await generateDocs(schemas)) {
      expect(readFileSync(join(REPO_ROOT, f.path), 'utf8'), f.path).toBe(f.content);
    }
  });
});

describe('AsyncAPI document', () => {
  it('lists every topic, dead-letter topic and payload', async () => {
    const docs = await generateDocs(readSchemas());
    const doc = parse(docs.find((f) => f.path === 'docs/asyncapi.yaml')!.content);
    expect(doc.asyncapi).toBe('3.0.0');
    const addresses = Object.values(doc.channels as Record<string, { address: string }>).map(
      (c) => c.address,
    );
    expect(addresses).toContain('engagement.web-visit.v1');
    expect(addresses).toContain('engagement.web-visit.v1.dlq');
    expect(addresses).toContain('lead.stage-changed.v1');
    expect(addresses).toContain('lead.erasure-requests.v1.dlq');
    expect(addresses).toHaveLength(16);
    expect(doc.components.messages.WebVisit.payload.schema.name).toBe('WebVisit');
    expect(doc.operations.sendLeadStageChanged.action).toBe('send');
    expect(doc.operations.receiveWebVisit.action).toBe('receive');
    expect(doc.operations.receiveLeadErasureRequest.action).toBe('receive');
  });
});

describe('avroToTypeScript', () => {
  const record = (fields: unknown[]) => ({ type: 'record', name: 'X', namespace: 'n', doc: 'x', fields });

  it('refuses an undocumented field', () => {
    expect(() => avroToTypeScript(record([{ name: 'a', type: 'string' }]), 'x.avsc')).toThrow(
      /X.a: every field needs a doc/,
    );
  });

  it('refuses an enum without a default symbol', () => {
    const e = { type: 'enum', name: 'E', symbols: ['A'] };
    expect(() => avroToTypeScript(record([{ name: 'e', type: e, doc: 'd' }]), 'x.avsc')).toThrow(
      /needs a default symbol/,
    );
  });

  it('maps types, nullability, maps, arrays and references', () => {
    const e = { type: 'enum', name: 'Color', symbols: ['RED', 'UNKNOWN'], default: 'UNKNOWN' };
    const { source, typeName, schemaConstName } = avroToTypeScript(
      record([
        { name: 'a', type: ['null', 'string'], default: null, doc: 'd' },
        { name: 'b', type: { type: 'map', values: 'double' }, doc: 'd' },
        { name: 'c', type: { type: 'array', items: e }, doc: 'd' },
        { name: 'd', type: 'Color', doc: 'd' },
        { name: 't', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'when' },
      ]),
      'x.avsc',
    );
    expect(typeName).toBe('X');
    expect(schemaConstName).toBe('xSchema');
    expect(source).toContain('a: string | null;');
    expect(source).toContain('b: Record<string, number>;');
    expect(source).toContain('c: Array<Color>;');
    expect(source).toContain('d: Color;');
    expect(source).toContain('/** when (epoch milliseconds) */');
    expect(source).toContain('export const COLOR_SYMBOLS = ["RED","UNKNOWN"] as const;');
  });
});
