import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modelJsonSchema } from '../model-schema.ts';
import { SCHEMA_PATH } from './export-json-schema.ts';

describe('models/model.schema.json', () => {
  it('is up to date with the model schema (regenerate: node libs/engine/src/cli/export-json-schema.ts)', () => {
    // Compared as JSON, not text: Biome owns the file's formatting.
    expect(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'))).toEqual(modelJsonSchema());
  });
});
