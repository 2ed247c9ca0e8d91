import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  committedModel,
  DEFAULT_MODEL,
  type DeployedModel,
  fileModel,
  runningModel,
  versionFindings,
} from './deployed.ts';
import { renderDiff } from './diff.ts';
import { explainModel } from './explain.ts';
import { ModelToolError, parseModelText, readModelFile } from './load.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** kustomize only reads files below its folder, so the ConfigMap's source is a copy (see help). */
const DEPLOY_COPY = 'deploy/kubernetes/model/default.yaml';

const USAGE: Record<string, string> = {
  '': `Usage: npm run model -- <command> [options]

Tools for the scoring model (docs/model.md): check a change, see what it changes, read it in
plain words.

Commands:
  check <file>       validate a model file; warn when its version equals the deployed model's
  diff <old> <new>   what changed between two models: rules, points, caps, half-lives, stages
  explain <file>     how points fade, what earns them and what each stage needs
  sync-deploy        copy ${DEFAULT_MODEL} to ${DEPLOY_COPY} (the Kubernetes ConfigMap)

Run \`npm run model -- <command> --help\` for the details of one.`,
  check: `Usage: npm run model -- check <file> [--deployed FILE] [--running URL] [--strict]

Validates a model file as the services do at start. A bad file prints every problem as
"file:line: field: why" and exits 1.

Every stage change names the model version, so each model needs its own. The check warns when
the file's version equals the deployed model's although the model differs. "Deployed" is
${DEFAULT_MODEL} as committed at git HEAD: Kubernetes (deploy/kubernetes) and docker compose
ship that file, so a model reaches production only through a commit of it.

Options:
  --deployed FILE   compare with this model file instead (e.g. one taken from a cluster)
  --running URL     also compare with the version a running read API reports; URL is any
                    lead's address, e.g. http://127.0.0.1:8080/leads/<lead id>, with
                    the read API's key in LEAD_API_KEY
  --strict          exit 1 on a warning too (for CI)
  -h, --help        this text

Exit status: 0 valid, 1 invalid (or a warning with --strict), 2 wrong usage.`,
  diff: `Usage: npm run model -- diff <old file> <new file>

Lists in plain words what the new model changes: rules added and removed, points, caps and what
a rule counts, half-lives, stage thresholds, the machine-activity filters. Comments and layout
are not changes. Both files must be valid models. To compare with the committed model:
  git show HEAD:${DEFAULT_MODEL} > /tmp/deployed.yaml
  npm run model -- diff /tmp/deployed.yaml ${DEFAULT_MODEL}`,
  explain: `Usage: npm run model -- explain <file>

Describes a model in plain words: how fast points fade, what earns them, what each stage needs
to be entered and kept, with the half-life arithmetic (how long a lead stays without activity).`,
  'sync-deploy': `Usage: npm run model -- sync-deploy

Validates ${DEFAULT_MODEL} and copies it byte for byte to ${DEPLOY_COPY}, which the
Kubernetes ConfigMap is generated from (kustomize reads no file outside deploy/kubernetes).
Run it after every model change; npm test fails while the two differ.`,
};

/** Wrong usage: the message, a pointer to --help, exit status 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      deployed: { type: 'string' },
      running: { type: 'string' },
      strict: { type: 'boolean' },
    },
  });
  const [command = '', ...files] = positionals;
  if (!(command in USAGE)) throw new UsageError(`unknown command "${command}"`);
  if (values.help || command === '') {
    console.log(USAGE[command]);
    return values.help ? 0 : 2;
  }
  const need = { check: 1, diff: 2, explain: 1, 'sync-deploy': 0 }[command] ?? 0;
  if (files.length !== need) {
    throw new UsageError(
      `${command} takes ${need === 0 ? 'no file' : need === 1 ? 'one file' : 'two files'}`,
    );
  }
  if (command !== 'check' && (values.deployed || values.running || values.strict)) {
    throw new UsageError('--deployed, --running and --strict belong to check');
  }
  switch (command) {
    case 'check':
      return check(files[0]!, values);
    case 'diff': {
      const [a, b] = [readModelFile(files[0]!), readModelFile(files[1]!)];
      console.log(renderDiff(a.file, a.spec, b.file, b.spec));
      return 0;
    }
    case 'explain': {
      const m = readModelFile(files[0]!);
      console.log(explainModel(m.file, m.spec));
      return 0;
    }
    default:
      return syncDeploy();
  }
}

async function check(file: string, opts: { deployed?: string; running?: string; strict?: boolean }) {
  const loaded = readModelFile(file);
  const { spec } = loaded;
  console.log(
    `${file}: valid model, version ${spec.version}: ${Object.keys(spec.dimensions).length} dimensions, ${spec.rules.length} rules, ${spec.stages.length} stages.`,
  );
  const deployed: DeployedModel[] = [];
  const committed = opts.deployed ? fileModel(opts.deployed) : committedModel(ROOT);
  if (typeof committed === 'string') console.log(`note: ${committed}`);
  else deployed.push(committed);
  if (opts.running) deployed.push(await runningModel(opts.running, process.env.LEAD_API_KEY));
  const { warnings, notes } = versionFindings(loaded, deployed);
  for (const n of notes) console.log(`note: ${n}`);
  for (const w of warnings) console.log(`warning: ${w}`);
  return warnings.length > 0 && opts.strict ? 1 : 0;
}

function syncDeploy(): number {
  const text = readFileSync(join(ROOT, DEFAULT_MODEL), 'utf8');
  const { spec } = parseModelText(text, DEFAULT_MODEL);
  const target = join(ROOT, DEPLOY_COPY);
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current === text) {
    console.log(`${DEPLOY_COPY} is up to date (version ${spec.version}).`);
    return 0;
  }
  writeFileSync(target, text);
  console.log(`${DEPLOY_COPY} updated from ${DEFAULT_MODEL} (version ${spec.version}): commit both.`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Problems with the input are messages for the user; only a bug would show more.
    if (err instanceof ModelToolError) {
      console.error(err.message);
      process.exit(1);
    }
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`model: ${err instanceof Error ? err.message : String(err)}`);
    if (usage) console.error('Run `npm run model -- --help` for the commands and their options.');
    process.exit(usage ? 2 : 1);
  },
);
