import { readFileSync } from 'node:fs';
import { loadModel, type Model, type ModelFile, ModelFileSchema } from '@leadscorer/engine';
import { parse } from 'yaml';

/** A model file read and validated by the engine, with the file's own structure for wording. */
export interface LoadedModel {
  /** The path as the user gave it: every message names the file the way they typed it. */
  file: string;
  text: string;
  model: Model;
  /** The validated file with defaults filled in: descriptions, matchers and durations as written. */
  spec: ModelFile;
}

/** A problem the user can fix: printed as its message alone, never with a stack trace. */
export class ModelToolError extends Error {}

export function readModelFile(file: string): LoadedModel {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : String(err);
    throw new ModelToolError(`${file}: cannot read the model file (${why})`);
  }
  return parseModelText(text, file);
}

/** Validates with the engine's loadModel: its MODEL_INVALID message lists `file:line: field: why`. */
export function parseModelText(text: string, file: string): LoadedModel {
  let model: Model;
  try {
    model = loadModel(text, file);
  } catch (err) {
    throw new ModelToolError(err instanceof Error ? err.message : String(err));
  }
  // loadModel accepted it, so the schema does too; this copy keeps what the compiled model drops.
  const spec = ModelFileSchema.parse(parse(text));
  return { file, text, model, spec };
}
