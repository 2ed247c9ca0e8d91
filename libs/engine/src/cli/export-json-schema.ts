/**
 * Writes models/model.schema.json from the zod schema of the model file, for editors
 * (yaml-language-server). Run after changing model-schema.ts:
 *   node_modules/.bin/node libs/engine/src/cli/export-json-schema.ts
 * A unit test fails while the committed file is out of date.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modelJsonSchema } from '../model-schema.ts';

export const SCHEMA_PATH = fileURLToPath(new URL('../../../../models/model.schema.json', import.meta.url));

if (import.meta.main) {
  writeFileSync(SCHEMA_PATH, `${JSON.stringify(modelJsonSchema(), null, 2)}\n`);
  // Leave the file as `biome check` wants it, so committing it does not fail the lint step.
  const biome = fileURLToPath(new URL('../../../../node_modules/.bin/biome', import.meta.url));
  const formatted = spawnSync(biome, ['format', '--write', SCHEMA_PATH], { stdio: 'inherit' });
  if (formatted.status !== 0) console.warn('biome format failed: run `npx biome format --write` on the file');
  console.log(`wrote ${SCHEMA_PATH}`);
}
