import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import type { ModelFile } from '@leadscorer/engine';
import { type LoadedModel, ModelToolError, parseModelText, readModelFile } from './load.ts';

/**
 * "The model currently deployed", for the check's version warning. For this project it is the
 * committed models/default.yaml at git HEAD: deploy/kubernetes' ConfigMap and docker compose
 * ship exactly that file, so a model change reaches production only through a commit of it.
 * `--deployed FILE` names another file (e.g. one taken from a cluster); `--running URL` asks a
 * running read API, which reports the version of the model it loaded.
 */
export interface DeployedModel {
  /** Where it came from, for messages: `models/default.yaml at git HEAD`. */
  source: string;
  version: string;
  /** Absent when only the version is known (a running read API). */
  spec?: ModelFile;
}

export const DEFAULT_MODEL = 'models/default.yaml';

/** The committed default model, or a note saying why there is none to compare with. */
export function committedModel(root: string): DeployedModel | string {
  const r = spawnSync('git', ['-C', root, 'show', `HEAD:${DEFAULT_MODEL}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return `no committed ${DEFAULT_MODEL} to compare the version with (${(r.stderr ?? '').trim() || 'git is not available'})`;
  }
  const source = `${DEFAULT_MODEL} at git HEAD`;
  try {
    const loaded = parseModelText(r.stdout, source);
    return { source, version: loaded.spec.version, spec: loaded.spec };
  } catch {
    return `${source} is not a valid model: its version is not compared`;
  }
}

export function fileModel(file: string): DeployedModel {
  const loaded = readModelFile(file);
  return { source: file, version: loaded.spec.version, spec: loaded.spec };
}

/**
 * The model version a running lead-api reports on any lead's address. The read API wants an API
 * key: `apiKey` (the CLI takes it from LEAD_API_KEY, never from an argument that shell history keeps).
 */
export async function runningModel(url: string, apiKey?: string): Promise<DeployedModel> {
  const hint = 'give a lead address of the read API, e.g. http://127.0.0.1:8080/leads/<lead id>';
  let body: unknown;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(5_000),
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    });
    if (res.status === 401 || res.status === 403) {
      throw new ModelToolError(
        `${url} answered HTTP ${res.status}: the read API needs an API key it accepts in LEAD_API_KEY`,
      );
    }
    if (!res.ok) throw new ModelToolError(`${url} answered HTTP ${res.status}: ${hint}`);
    body = await res.json();
  } catch (err) {
    if (err instanceof ModelToolError) throw err;
    throw new ModelToolError(`cannot ask ${url} for its model version (${(err as Error).message}): ${hint}`);
  }
  const version = (body as { modelVersion?: unknown } | null)?.modelVersion;
  if (typeof version !== 'string') throw new ModelToolError(`${url} names no modelVersion: ${hint}`);
  return { source: `the read API at ${url}`, version };
}

/** `default-2025.1` -> `default-2025.2`; without a trailing number, `<version>-2`. */
export function nextVersion(version: string): string {
  const m = /^(.*?)(\d+)$/.exec(version);
  return m ? `${m[1]}${Number(m[2]) + 1}` : `${version}-2`;
}

/**
 * Warnings (and notes) for a checked model against what is deployed: the same version for a
 * different model is the mistake to catch; the same model unchanged is fine.
 */
export function versionFindings(
  loaded: LoadedModel,
  deployed: DeployedModel[],
): { warnings: string[]; notes: string[] } {
  const warnings: string[] = [];
  const notes: string[] = [];
  const v = loaded.spec.version;
  for (const d of deployed) {
    if (d.version !== v) {
      notes.push(`deployed: version ${d.version} (${d.source}); this file: ${v}`);
    } else if (d.spec && isDeepStrictEqual(d.spec, loaded.spec)) {
      notes.push(`same model as ${d.source} (version ${v})`);
    } else {
      const advice = `a new version (e.g. ${nextVersion(v)}), so its stage changes and outcomes can be told apart`;
      warnings.push(
        d.spec
          ? `version ${v} is the version of ${d.source}, but the model differs: give this model ${advice}.`
          : `version ${v} is the version ${d.source} runs: if this file changes that model, give it ${advice}.`,
      );
    }
  }
  return { warnings, notes };
}
