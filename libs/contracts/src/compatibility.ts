import { LeadScorerError } from '@leadscorer/errors';
import avsc from 'avsc';
import type { RegistryAdmin } from './registry-admin.ts';

/**
 * The compatibility gate. BACKWARD means: a consumer with the new (reader) schema can read every
 * message written with an older (writer) schema. We check it two ways and fail if either fails:
 * - the registry's own verdict (POST /compatibility/...), the rule that will actually refuse a
 *   registration, but which names nothing (Apicurio answers a bare false);
 * - avsc's resolver, locally, field by field, so the report names the breaking field.
 *
 * The local check runs against every registered version, not only the latest (transitive):
 * consumers replay topics from the start of retention, where messages of any older writer
 * version still sit, and `register` sets each subject to BACKWARD_TRANSITIVE for the same reason.
 */

export interface BreakingChange {
  /** Dotted field path from the record root, e.g. `bant.budget`, or `(record)`. */
  path: string;
  reason: string;
}

type AvroType = avsc.Type;

/** Why `reader` cannot read data written with `writer`, field by field; [] when it can. Pure. */
export function findBreakingChanges(reader: AvroType, writer: AvroType): BreakingChange[] {
  return explain(reader, writer, '');
}

function explain(reader: AvroType, writer: AvroType, path: string): BreakingChange[] {
  const failure = resolveError(reader, writer);
  if (failure === null) return [];
  const here = path === '' ? '(record)' : path;

  if (reader instanceof avsc.types.RecordType && writer instanceof avsc.types.RecordType) {
    if (!sameName(reader, writer)) {
      return [{ path: here, reason: `record ${writer.name} cannot be read as ${reader.name} (${failure})` }];
    }
    const found: BreakingChange[] = [];
    for (const field of reader.fields) {
      const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
      const source = writer.fields.find((w) => w.name === field.name || field.aliases.includes(w.name));
      if (!source) {
        if (field.defaultValue() === undefined) {
          found.push({
            path: fieldPath,
            reason: 'new field without a default: older messages do not have it',
          });
        }
        continue;
      }
      found.push(...explain(field.type, source.type, fieldPath));
    }
    if (found.length > 0) return found;
  }

  if (isUnion(reader) || isUnion(writer)) {
    // Each writer branch must be readable by some reader branch; point at the first that is not,
    // descending into a same-named reader branch to find the field inside it.
    const readerBranches = isUnion(reader) ? reader.types : [reader];
    for (const branch of isUnion(writer) ? writer.types : [writer]) {
      if (readerBranches.some((r) => resolveError(r, branch) === null)) continue;
      const twin = readerBranches.find((r) => r.typeName === branch.typeName && r.name === branch.name);
      if (twin) return explain(twin, branch, path);
      return [
        { path: here, reason: `values of type ${describe(branch)} written before cannot be read any more` },
      ];
    }
  }

  if (reader instanceof avsc.types.EnumType && writer instanceof avsc.types.EnumType) {
    const missing = writer.symbols.filter((s) => !reader.symbols.includes(s));
    if (missing.length > 0) {
      return [
        { path: here, reason: `enum symbols ${missing.join(', ')} removed and the enum has no default` },
      ];
    }
  }

  return [{ path: here, reason: failure }];
}

function resolveError(reader: AvroType, writer: AvroType): string | null {
  try {
    reader.createResolver(writer);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function isUnion(type: AvroType): type is avsc.types.UnwrappedUnionType | avsc.types.WrappedUnionType {
  return type instanceof avsc.types.UnwrappedUnionType || type instanceof avsc.types.WrappedUnionType;
}

/** Avro resolution matches named types by full name or by one of the reader's aliases. */
function sameName(reader: AvroType, writer: AvroType): boolean {
  return (
    reader.name === writer.name || (writer.name !== undefined && (reader.aliases ?? []).includes(writer.name))
  );
}

function describe(type: AvroType): string {
  return type.name ?? type.typeName;
}

/** Parses schema text as the registry and the serde do: no logical type handlers. */
export function parseAvro(schema: string | object): AvroType {
  const json: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return avsc.Type.forSchema(json as Parameters<typeof avsc.Type.forSchema>[0]);
}

export type CompatibilityStatus = 'new' | 'unchanged' | 'compatible' | 'incompatible';

export interface CompatibilityReport {
  subject: string;
  status: CompatibilityStatus;
  /** Registered versions the candidate was checked against. */
  checkedVersions: number[];
  /** The registry's verdict against every registered version; null for a new subject. */
  registryCompatible: boolean | null;
  problems: Array<BreakingChange & { version: number }>;
}

/** Compares a candidate schema (text) with everything registered under `subject`. */
export async function checkCompatibility(
  admin: RegistryAdmin,
  subject: string,
  schema: string,
): Promise<CompatibilityReport> {
  const reader = parseAvro(schema);
  const versions = await admin.versions(subject);
  if (versions.length === 0) {
    return { subject, status: 'new', checkedVersions: [], registryCompatible: null, problems: [] };
  }
  const problems: CompatibilityReport['problems'] = [];
  let unchanged = false;
  let registryCompatible = true;
  for (const version of versions) {
    const registered = await admin.version(subject, version);
    const writer = parseAvro(registered.schema);
    if (version === versions.at(-1) && writer.equals(reader)) unchanged = true;
    const found = findBreakingChanges(reader, writer);
    for (const p of found) problems.push({ ...p, version });
    // Asked per version: Apicurio's endpoint checks only the version named, even on a
    // BACKWARD_TRANSITIVE subject, while its registration checks all of them.
    const accepted = await admin.isCompatible(subject, schema, version);
    registryCompatible &&= accepted;
    if (!accepted && found.length === 0) {
      // Fail closed: the registry would refuse the registration even if we cannot say why.
      problems.push({
        version,
        path: '(record)',
        reason: 'the registry reports the schema incompatible (it gives no detail)',
      });
    }
  }
  const status: CompatibilityStatus =
    problems.length > 0 ? 'incompatible' : unchanged ? 'unchanged' : 'compatible';
  return { subject, status, checkedVersions: versions, registryCompatible, problems };
}

/** One line per problem, naming subject, version, field and reason. */
export function formatProblems(report: CompatibilityReport): string[] {
  return report.problems.map(
    (p) =>
      `${report.subject}: field ${p.path} breaks BACKWARD compatibility with version ${p.version}: ${p.reason}`,
  );
}

export interface SchemaToRegister {
  subject: string;
  schema: string;
}

/**
 * The deploy step: checks every schema first (nothing changes if any is incompatible), then sets
 * each subject to BACKWARD_TRANSITIVE and registers. Registering an identical schema again is a
 * no-op that returns the existing id, so this is idempotent.
 */
export async function registerSchemas(
  admin: RegistryAdmin,
  schemas: readonly SchemaToRegister[],
): Promise<Array<{ subject: string; id: number; status: CompatibilityStatus }>> {
  const reports = await Promise.all(schemas.map((s) => checkCompatibility(admin, s.subject, s.schema)));
  const problems = reports.flatMap(formatProblems);
  if (problems.length > 0) {
    throw new LeadScorerError('SCHEMA_INCOMPATIBLE', `refusing to register:\n${problems.join('\n')}`);
  }
  const results = [];
  for (const [i, s] of schemas.entries()) {
    await admin.setCompatibility(s.subject, 'BACKWARD_TRANSITIVE');
    const { id } = await admin.register(s.subject, s.schema);
    results.push({ subject: s.subject, id, status: reports[i]!.status });
  }
  return results;
}

/**
 * The subjects whose schema text the registry does not find when looked up as a Confluent client
 * looks it up before producing: by the text it was given (the .avsc file), without normalizing.
 * Any subject here means standard clients get 40403 "schema does not match", or with
 * auto-registration silently add a second version of the subject; on Apicurio it means
 * `apicurio.ccompat.use-canonical-hash` is off. Run after registering.
 */
export async function schemasClientsCannotFind(
  admin: RegistryAdmin,
  schemas: readonly SchemaToRegister[],
): Promise<string[]> {
  const missed: string[] = [];
  for (const s of schemas) {
    if ((await admin.lookup(s.subject, s.schema)) === undefined) missed.push(s.subject);
  }
  return missed;
}
