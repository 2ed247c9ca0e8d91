import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadedModel, parseModelText } from './load.ts';

/** The shipped default model's text: tests derive variants from it by exact text edits. */
export const DEFAULT_TEXT = readFileSync(join(import.meta.dirname, '../../models/default.yaml'), 'utf8');

/** The default model with each `[from, to]` replaced once; fails loudly when `from` is missing. */
export function variant(edits: [string, string][], file = 'variant.yaml'): LoadedModel {
  let text = DEFAULT_TEXT;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`test edit not applicable: ${from}`);
    text = text.replace(from, to);
  }
  return parseModelText(text, file);
}
