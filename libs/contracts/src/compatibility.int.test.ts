import { LeadScorerError } from '@leadscorer/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCompatibility, formatProblems, registerSchemas } from './compatibility.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';
import { type ContractsEnv, contractsEnv } from './int-support.ts';

// The gate of `npm run schemas -- check | register` against the real registry, both ways.
let env: ContractsEnv;
let subject: string;
const base = AVRO_SCHEMAS['lead.profile.v1'] as { fields: unknown[] };
const withField = (field: Record<string, unknown>) =>
  JSON.stringify({ ...base, fields: [...base.fields, field] });
const current = JSON.stringify(base);
const breaking = withField({ name: 'crmOwner', type: 'string', doc: 'Owner.' });
const compatible = withField({ name: 'crmOwner', type: ['null', 'string'], default: null, doc: 'Owner.' });

beforeAll(async () => {
  env = contractsEnv('compat');
  subject = env.catalogue.get('lead.profile.v1').subject;
  await registerSchemas(env.admin, [{ subject, schema: current }]);
});
afterAll(async () => {
  await env.cleanup();
});

describe('compatibility gate', () => {
  it('sets the subject to BACKWARD_TRANSITIVE on registration', async () => {
    const res = await fetch(`${env.registryUrl}/config/${subject}`);
    expect(await res.json()).toEqual({ compatibilityLevel: 'BACKWARD_TRANSITIVE' });
  });

  it('reports an unchanged schema and a new subject as passing', async () => {
    expect((await checkCompatibility(env.admin, subject, current)).status).toBe('unchanged');
    expect((await checkCompatibility(env.admin, `${env.prefix}nothing-value`, current)).status).toBe('new');
  });

  it('fails an incompatible change, naming the field; the registry refuses it too', async () => {
    const report = await checkCompatibility(env.admin, subject, breaking);
    expect(report.status).toBe('incompatible');
    expect(report.registryCompatible).toBe(false);
    expect(formatProblems(report)).toEqual([
      `${subject}: field crmOwner breaks BACKWARD compatibility with version 1: new field without a default: older messages do not have it`,
    ]);
    await expect(registerSchemas(env.admin, [{ subject, schema: breaking }])).rejects.toThrow(
      /field crmOwner/,
    );
    const refused = await env.admin.register(subject, breaking).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LeadScorerError);
    expect((refused as LeadScorerError).code).toBe('SCHEMA_INCOMPATIBLE');
    expect(await env.admin.versions(subject)).toEqual([1]);
  });

  it('passes a new optional field with a default and registers it as version 2', async () => {
    const report = await checkCompatibility(env.admin, subject, compatible);
    expect(report).toMatchObject({ status: 'compatible', registryCompatible: true, problems: [] });
    const [result] = await registerSchemas(env.admin, [{ subject, schema: compatible }]);
    expect(result!.status).toBe('compatible');
    expect(await env.admin.versions(subject)).toEqual([1, 2]);
    // Registering the same schema again is a no-op with the same id (the deploy step is idempotent).
    const [again] = await registerSchemas(env.admin, [{ subject, schema: compatible }]);
    expect(again).toMatchObject({ id: result!.id, status: 'unchanged' });
    expect(await env.admin.versions(subject)).toEqual([1, 2]);
  });

  it('checks every registered version, not only the latest', async () => {
    // crmOwner without its default reads version 2's messages (they all carry crmOwner) but not
    // version 1's, which are still in the topic: only a transitive check sees that.
    const noDefault = withField({ name: 'crmOwner', type: ['null', 'string'], doc: 'Owner.' });
    const report = await checkCompatibility(env.admin, subject, noDefault);
    expect(report.status).toBe('incompatible');
    expect(report.problems).toEqual([
      { version: 1, path: 'crmOwner', reason: 'new field without a default: older messages do not have it' },
    ]);
    expect(report.registryCompatible).toBe(false);
    await expect(env.admin.register(subject, noDefault)).rejects.toThrow(/registry refused/);
  });
});
