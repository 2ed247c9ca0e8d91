import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type GeneratedFile,
  generateDocs,
  generateTypeModules,
  REPO_ROOT,
  readSchemas,
  type SchemaJson,
} from '../codegen/generate.ts';
import {
  checkCompatibility,
  formatProblems,
  registerSchemas,
  type SchemaToRegister,
  schemasClientsCannotFind,
} from '../compatibility.ts';
import { createRegistryAdmin } from '../registry-admin.ts';
import type { TopicName } from '../topics.ts';
import { type CliConfig, catalogueOf, cliConfig, parseOrUsage, runCli, UsageError } from './common.ts';

const USAGE = `Usage: npm run schemas -- <command> [options]

Commands:
  check      Compare schemas/*.avsc with the registry. Exits 1, naming each field, when a schema
             breaks BACKWARD compatibility with any registered version of its subject.
  register   The deploy step: check every schema, then set each subject to BACKWARD_TRANSITIVE
             and register the text of its .avsc file. Idempotent; registers nothing if any
             schema is incompatible. Exits 1 if the registry then does not find a file's text
             the way Confluent clients look it up (Apicurio: turn on
             apicurio.ccompat.use-canonical-hash).
  codegen    Regenerate libs/contracts/src/generated/*.ts, docs/asyncapi.yaml and the generated
             sections of docs/contracts.md from schemas/*.avsc.

Options:
  --check    (codegen) Write nothing; exit 1 if a generated file is out of date.
  -h, --help Show this help.

Environment:
  SCHEMA_REGISTRY_URL  Confluent-compatible API (default http://127.0.0.1:18081/apis/ccompat/v7)
  TOPIC_PREFIX         Prefix of topics and so of subjects (default none)`;

async function main(argv: string[], config: () => CliConfig): Promise<number> {
  const { values, positionals } = parseOrUsage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one command');
  const command = positionals[0];
  if (values.check && command !== 'codegen') throw new UsageError('--check applies to codegen only');
  switch (command) {
    case 'check':
      return check(config());
    case 'register':
      return register(config());
    case 'codegen':
      return codegen(values.check);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/**
 * Each subject with the text of its .avsc file, byte for byte: what a Confluent client reads and
 * looks up, so what we check and register. readSchemas() refuses a file that is not JSON.
 */
function subjectsAndSchemas(config: CliConfig): SchemaToRegister[] {
  readSchemas();
  return catalogueOf(config).topics.map((t) => ({
    subject: t.subject,
    schema: readFileSync(join(REPO_ROOT, 'schemas', t.schemaFile), 'utf8'),
  }));
}

async function check(config: CliConfig): Promise<number> {
  const admin = createRegistryAdmin({
    url: config.registryUrl,
    ...(config.registryAuth ? { auth: config.registryAuth } : {}),
  });
  let failed = false;
  for (const { subject, schema } of subjectsAndSchemas(config)) {
    const report = await checkCompatibility(admin, subject, schema);
    if (report.status === 'incompatible') {
      failed = true;
      for (const line of formatProblems(report)) console.log(`FAIL ${line}`);
    } else {
      const against =
        report.checkedVersions.length > 0 ? ` (versions ${report.checkedVersions.join(', ')})` : '';
      console.log(`ok   ${subject}: ${report.status}${against}`);
    }
  }
  if (failed) {
    console.log(
      '\nIncompatible changes: add a default to new fields, keep removed fields optional, or publish a new topic version (.v2).',
    );
  }
  return failed ? 1 : 0;
}

async function register(config: CliConfig): Promise<number> {
  const admin = createRegistryAdmin({
    url: config.registryUrl,
    ...(config.registryAuth ? { auth: config.registryAuth } : {}),
  });
  const schemas = subjectsAndSchemas(config);
  const results = await registerSchemas(admin, schemas);
  for (const r of results) console.log(`ok   ${r.subject}: id ${r.id} (${r.status})`);
  const missed = await schemasClientsCannotFind(admin, schemas);
  for (const subject of missed) {
    console.log(`FAIL ${subject}: registered, but the registry does not find the .avsc text by lookup`);
  }
  if (missed.length > 0) {
    console.log(
      '\nConfluent clients will get 40403 "schema does not match" (or auto-register a duplicate version):' +
        '\nthe registry compares exact text. On Apicurio set apicurio.ccompat.use-canonical-hash=true' +
        ' (environment APICURIO_CCOMPAT_USE_CANONICAL_HASH=true).',
    );
  }
  return missed.length > 0 ? 1 : 0;
}

async function codegen(checkOnly: boolean): Promise<number> {
  const schemas: Record<TopicName, SchemaJson> = readSchemas();
  const modules = generateTypeModules(schemas);
  if (checkOnly) {
    const stale = [...modules, ...(await generateDocs(schemas))].filter((f) => !isCurrent(f));
    for (const f of stale) console.log(`stale ${f.path}`);
    if (stale.length > 0) console.log('\nRun `npm run schemas -- codegen` and commit the result.');
    return stale.length > 0 ? 1 : 0;
  }
  for (const f of modules) write(f);
  // The documents embed the examples, whose module needs the types just written.
  for (const f of await generateDocs(schemas)) write(f);
  return 0;
}

function isCurrent(file: GeneratedFile): boolean {
  try {
    return readFileSync(join(REPO_ROOT, file.path), 'utf8') === file.content;
  } catch {
    return false;
  }
}

function write(file: GeneratedFile): void {
  if (isCurrent(file)) {
    console.log(`same    ${file.path}`);
    return;
  }
  const path = join(REPO_ROOT, file.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.content);
  console.log(`wrote   ${file.path}`);
}

runCli(USAGE, () => main(process.argv.slice(2), () => cliConfig(process.env)));
