import { parseArgs } from 'node:util';
import { parseDuration } from '@leadscorer/engine';
import { DEMO_DEFAULTS } from '@leadscorer/evaluation';
import { z } from 'zod';

export const DEFAULT_MODEL = 'models/default.yaml';
export const DEMO_CANDIDATE = 'models/candidates/intent-weighted.yaml';

export const USAGE = `Usage: npm run evaluate -- (--demo | --archive DIR | --history FILE ...) --out DIR [options]

Does the model work? Replays a history of behaviour and outcomes through the current scoring
model and a candidate with the scoring engine, and writes a report for marketing operations:
conversion per stage, lift and ROC AUC per score, precision and recall of each stage, stage
volumes per week, and the leads whose stage would differ. docs/evaluation.md defines every
number; nothing needs Kafka or Redis.

History (one of):
  --demo               a seeded demo history whose leads have a hidden propensity to buy;
                       the candidate defaults to ${DEMO_CANDIDATE}
  --archive DIR        the archiver's archive (ARCHIVE_DIR; docs/archive.md): every input topic
                       and the outcomes, beyond Kafka retention (TOPIC_PREFIX names its topics)
  --history FILE       a JSON Lines history, one topic record per line (repeat for several):
                       {"topic":"engagement.web-visit.v1","timestamp":<ms>,"record":{...}}

Models:
  --model FILE         the current model (default ${DEFAULT_MODEL})
  --candidate FILE     the model to compare it with; without it the current model is
                       evaluated alone

Output:
  --out DIR            writes report.html, report.json and one CSV per table (created if missing)
  --list N             leads shown in the page's stage-differences table (default 50; the
                       CSV has all)

What counts:
  --from DATE          period start, YYYY-MM-DD or an ISO time, UTC (default: the first record)
  --to DATE            period end, excluded (default: just after the last record)
  --horizon DURATION   "won within" of the lift and AUC, e.g. 90d or 12w (default 90d)

Demo history:
  --seed N             random seed (default ${DEMO_DEFAULTS.seed}): the same seed, the same history
  --leads N            how many leads (default ${DEMO_DEFAULTS.leads})
  --save-history FILE  also write the demo history as JSON Lines, for --history

  -h, --help           this text

Exit status: 0 report written, 1 a model or history file is invalid, 2 wrong usage.`;

/** Wrong usage: the message, a pointer to --help, exit status 2. */
export class UsageError extends Error {}

export interface EvaluateOptions {
  demo: boolean;
  archive: string | undefined;
  history: string[];
  model: string;
  candidate: string | undefined;
  out: string;
  list: number;
  from: number | undefined;
  to: number | undefined;
  horizonMs: number;
  seed: number;
  leads: number;
  saveHistory: string | undefined;
}

const date = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/,
    'expected a date such as 2025-03-01 or an ISO time',
  )
  .transform((s, ctx) => {
    const t = Date.parse(/T/.test(s) && !/(Z|[+-]\d{2}:\d{2})$/.test(s) ? `${s}Z` : s);
    if (Number.isNaN(t)) ctx.addIssue({ code: 'custom', message: 'not a real date' });
    return t;
  });
const count = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const SCHEMA = z
  .object({
    help: z.boolean().optional(),
    demo: z.boolean().default(false),
    history: z.array(z.string().min(1)).default([]),
    archive: z.string().min(1).optional(),
    model: z.string().min(1).default(DEFAULT_MODEL),
    candidate: z.string().min(1).optional(),
    out: z.string({ error: 'is required: the folder to write the report to' }).min(1),
    list: count(0, 100_000).default(50),
    from: date.optional(),
    to: date.optional(),
    horizon: z
      .string()
      .default('90d')
      .transform((s, ctx) => {
        const ms = parseDuration(s);
        if (ms === undefined)
          ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90d or 12w' });
        return ms ?? 0;
      }),
    seed: count(0, 2 ** 31 - 1).default(DEMO_DEFAULTS.seed),
    leads: count(1, 1_000_000).default(DEMO_DEFAULTS.leads),
    'save-history': z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const sources = [o.demo, o.history.length > 0, o.archive !== undefined].filter(Boolean).length;
    if (sources !== 1) fail('history', 'give one of --demo, --archive DIR or --history FILE');
    if (o.from !== undefined && o.to !== undefined && o.to <= o.from) fail('to', 'must be after --from');
  });

export function parseOptions(argv: string[]): EvaluateOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  if (parsed.values.help) return 'help';
  if (!parsed.values.demo) {
    const demoOnly = ['seed', 'leads', 'save-history'].find((k) => k in parsed.values);
    if (demoOnly) throw new UsageError(`--${demoOnly} belongs to --demo`);
  }
  const result = SCHEMA.safeParse(parsed.values);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UsageError(`--${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  const o = result.data;
  return {
    demo: o.demo,
    archive: o.archive,
    history: o.history,
    model: o.model,
    candidate: o.candidate ?? (o.demo ? DEMO_CANDIDATE : undefined),
    out: o.out,
    list: o.list,
    from: o.from,
    to: o.to,
    horizonMs: o.horizon,
    seed: o.seed,
    leads: o.leads,
    saveHistory: o['save-history'],
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      demo: { type: 'boolean' },
      history: { type: 'string', multiple: true },
      archive: { type: 'string' },
      model: { type: 'string' },
      candidate: { type: 'string' },
      out: { type: 'string' },
      list: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      horizon: { type: 'string' },
      seed: { type: 'string' },
      leads: { type: 'string' },
      'save-history': { type: 'string' },
    },
  });
}
