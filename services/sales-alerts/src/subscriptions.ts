import { readFileSync } from 'node:fs';
import { LeadScorerError } from '@leadscorer/errors';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';

/**
 * Webhook subscribers. Each has its own URL, secret, filter and delivery queue, so one that is
 * slow or down holds back nobody else. They come from a YAML file (SUBSCRIPTIONS_FILE) checked at
 * start like the model file: every problem is refused with `file:line: field: why`. Secrets never
 * sit in the file: it names the environment variable holding each one (a Kubernetes Secret).
 * WEBHOOK_URL + WEBHOOK_SECRET remain a shorthand for one subscriber called `default`.
 */
export type Direction = 'up' | 'down' | 'any';

export interface Subscriber {
  /** Lower-case id: metric label, Redis key part, dead-letter detail. Never personal data. */
  id: string;
  url: string;
  secret: string;
  filter: {
    stages: ReadonlySet<string> | null;
    direction: Direction;
    modelVersions: ReadonlySet<string> | null;
  };
  maxAttempts: number;
  timeoutMs: number;
  concurrency: number;
}

/** Per-subscriber settings a file may leave out. */
export interface Defaults {
  maxAttempts: number;
  timeoutMs: number;
  concurrency: number;
}

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

const SubscriberSchema = z.strictObject({
  id: z
    .string()
    .regex(ID, 'lower-case letters, digits and dashes, at most 40, starting with a letter or digit'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  secretEnv: z.string().regex(ENV_NAME, 'the name of an environment variable, e.g. CRM_WEBHOOK_SECRET'),
  filter: z
    .strictObject({
      stages: z.array(z.string().min(1)).min(1).optional(),
      direction: z.enum(['up', 'down', 'any']).default('any'),
      modelVersions: z.array(z.string().min(1)).min(1).optional(),
    })
    .default({ direction: 'any' }),
  maxAttempts: z.number().int().min(1).max(50).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
});

const FileSchema = z.strictObject({ subscribers: z.array(SubscriberSchema).min(1).max(100) });

type Problem = { path: (string | number)[]; why: string };

/**
 * Reads and checks the file. `stages`: the stage ids a filter may name (the model's ladder and
 * `disqualified`); `env`: where secrets are looked up.
 */
export function loadSubscriptions(
  fileName: string,
  opts: { env: NodeJS.ProcessEnv; stages: readonly string[]; defaults: Defaults; text?: string },
): Subscriber[] {
  let text: string;
  try {
    text = opts.text ?? readFileSync(fileName, 'utf8');
  } catch (err) {
    throw new LeadScorerError(
      'CONFIG_INVALID',
      `cannot read subscriptions file ${fileName}: ${(err as Error).message}`,
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0].line ?? 1;
    throw invalid([`${fileName}:${line}: (yaml): ${err.message.split('\n')[0]}`]);
  }
  const parsed = FileSchema.safeParse(doc.toJS());
  const problems: Problem[] = parsed.success
    ? crossProblems(parsed.data, opts)
    : parsed.error.issues.map((i) => ({
        path: [
          ...(i.path.filter((p) => typeof p !== 'symbol') as (string | number)[]),
          ...(i.code === 'unrecognized_keys' ? i.keys.slice(0, 1) : []),
        ],
        why: i.message,
      }));
  if (problems.length > 0 || !parsed.success) {
    throw invalid(
      problems.map(
        (p) => `${fileName}:${lines.linePos(locate(doc.contents, p.path)).line}: ${format(p.path)}: ${p.why}`,
      ),
    );
  }
  return parsed.data.subscribers.map((s) => ({
    id: s.id,
    url: s.url,
    secret: opts.env[s.secretEnv]!,
    filter: {
      stages: s.filter.stages ? new Set(s.filter.stages) : null,
      direction: s.filter.direction,
      modelVersions: s.filter.modelVersions ? new Set(s.filter.modelVersions) : null,
    },
    maxAttempts: s.maxAttempts ?? opts.defaults.maxAttempts,
    timeoutMs: s.timeoutMs ?? opts.defaults.timeoutMs,
    concurrency: s.concurrency ?? opts.defaults.concurrency,
  }));
}

function crossProblems(
  file: z.infer<typeof FileSchema>,
  opts: { env: NodeJS.ProcessEnv; stages: readonly string[] },
): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  file.subscribers.forEach((s, i) => {
    if (seen.has(s.id))
      out.push({ path: ['subscribers', i, 'id'], why: `duplicate subscriber id "${s.id}"` });
    seen.add(s.id);
    const secret = opts.env[s.secretEnv];
    if (secret === undefined || secret === '') {
      out.push({
        path: ['subscribers', i, 'secretEnv'],
        why: `environment variable ${s.secretEnv} is not set`,
      });
    } else if (secret.length < 16) {
      // The value itself is never echoed.
      out.push({
        path: ['subscribers', i, 'secretEnv'],
        why: `${s.secretEnv} must be at least 16 characters`,
      });
    }
    (s.filter.stages ?? []).forEach((stage, j) => {
      if (!opts.stages.includes(stage))
        out.push({
          path: ['subscribers', i, 'filter', 'stages', j],
          why: `unknown stage "${stage}" (the model's stages: ${opts.stages.join(', ')})`,
        });
    });
  });
  return out;
}

function invalid(lines: string[]): LeadScorerError {
  const more = lines.length > 10 ? `\n(and ${lines.length - 10} more)` : '';
  return new LeadScorerError(
    'CONFIG_INVALID',
    `invalid subscriptions file\n${lines.slice(0, 10).join('\n')}${more}`,
  );
}

/** Offset in the text of the deepest node along `path` (a map entry's key, a sequence item). */
function locate(root: unknown, path: (string | number)[]): number {
  let node = root as Node | null | undefined;
  let offset = node?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as Node | undefined;
      if (!node) break;
      offset = node.range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

function format(path: (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The ladder rank of each stage: `disqualified` below every stage, unknown stages absent. */
export type Ranks = ReadonlyMap<string, number>;

/** Whether a stage change is one this subscriber asked for. Pure. */
export function wants(
  s: Pick<Subscriber, 'filter'>,
  change: { fromStage: string; toStage: string; modelVersion: string },
  ranks: Ranks,
): boolean {
  const f = s.filter;
  if (f.stages && !f.stages.has(change.toStage)) return false;
  if (f.modelVersions && !f.modelVersions.has(change.modelVersion)) return false;
  if (f.direction === 'any') return true;
  const from = ranks.get(change.fromStage);
  const to = ranks.get(change.toStage);
  // A stage this deployment's model does not know (another model version) has no direction.
  if (from === undefined || to === undefined || from === to) return false;
  return to > from === (f.direction === 'up');
}
