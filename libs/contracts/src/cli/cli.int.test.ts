import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LeadScorerError } from '@leadscorer/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterMessage } from '../dead-letter.ts';
import { type ContractsEnv, contractsEnv } from '../int-support.ts';

// The three CLIs as an operator runs them, against the real stack under a prefix of their own.
const run = promisify(execFile);
let env: ContractsEnv;

async function cli(name: string, args: string[], extraEnv: Record<string, string> = {}) {
  const script = join(import.meta.dirname, `${name}.ts`);
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args], {
      env: {
        ...process.env,
        KAFKA_BROKERS: env.kafkaBrokers.join(','),
        SCHEMA_REGISTRY_URL: env.registryUrl,
        TOPIC_PREFIX: env.prefix,
        TOPIC_PARTITIONS: '1',
        ...extraEnv,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  env = contractsEnv('cli');
});
afterAll(async () => {
  await env.cleanup();
});

describe('command lines', () => {
  it.each([
    ['topics', ['--help']],
    ['schemas', ['--help']],
    ['dlq', ['-h']],
  ])('%s %s prints usage', async (name, args) => {
    const r = await cli(name, args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run/);
  });

  it.each([
    ['topics', ['--bogus'], /Unknown option '--bogus'/],
    ['topics', ['extra'], /unexpected argument "extra"/],
    ['schemas', [], /expected exactly one command/],
    ['schemas', ['frobnicate'], /unknown command "frobnicate"/],
    ['schemas', ['check', '--check'], /--check applies to codegen only/],
    ['dlq', ['replay'], /replay needs --topic/],
    ['dlq', ['inspect', '--limit', 'x'], /--limit must be an integer >= 1/],
    ['dlq', ['inspect', '--offset', '3'], /--offset needs --partition/],
    ['dlq', ['inspect', '--topic', 'nope'], /"nope" is not an input topic/],
  ])('%s %s is a usage error (exit 2)', async (name, args, message) => {
    const r = await cli(name, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Usage:');
  });

  it('refuses a bad environment value with exit 2', async () => {
    const r = await cli('topics', [], { TOPIC_PARTITIONS: 'many' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TOPIC_PARTITIONS must be an integer >= 1, got "many"');
  });
});

describe('an operator session', () => {
  it('creates topics idempotently', async () => {
    const first = await cli('topics', []);
    expect(first.code).toBe(0);
    expect(first.stdout.match(/^created /gm)).toHaveLength(env.catalogue.specs().length);
    const second = await cli('topics', []);
    expect(second.stdout.match(/^unchanged /gm)).toHaveLength(env.catalogue.specs().length);
  });

  it('checks, registers and re-checks schemas', async () => {
    const check = await cli('schemas', ['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`ok   ${env.prefix}engagement.web-visit.v1-value: new`);
    const register = await cli('schemas', ['register']);
    expect(register.code).toBe(0);
    expect(register.stdout.match(/^ok .*: id \d+ \(new\)$/gm)).toHaveLength(env.catalogue.topics.length);
    const again = await cli('schemas', ['check']);
    expect(again.stdout).toContain(`ok   ${env.prefix}lead.stage-changed.v1-value: unchanged (versions 1)`);
  });

  it('registers the .avsc text over a differently formatted registration without a second version', async () => {
    // What deployments registered before the CLI sent the file text: JSON.stringify output.
    const earlier = contractsEnv('cli-text');
    try {
      await earlier.registerAll();
      const r = await cli('schemas', ['register'], { TOPIC_PREFIX: earlier.prefix });
      expect(r.stdout).not.toContain('FAIL');
      expect(r.code).toBe(0);
      expect(r.stdout.match(/^ok .*: id \d+ \(unchanged\)$/gm)).toHaveLength(env.catalogue.topics.length);
      for (const t of earlier.catalogue.topics) expect(await earlier.admin.versions(t.subject)).toEqual([1]);
    } finally {
      await earlier.cleanup();
    }
  });

  it('reports the committed generated files as current', async () => {
    const r = await cli('schemas', ['codegen', '--check']);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('inspects and dry-runs a replay of dead letters', async () => {
    const topic = `${env.prefix}engagement.web-visit.v1`;
    const empty = await cli('dlq', ['inspect', '--topic', 'engagement.web-visit.v1']);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('0 dead letter(s)');

    const producer = env.kafka.producer();
    await producer.connect();
    const poison = new LeadScorerError('MESSAGE_BAD_MAGIC_BYTE', 'value starts with 0x7b');
    const original = {
      topic,
      partition: 0,
      offset: '5',
      key: Buffer.from('lead-9'),
      value: Buffer.from('{"a":1}'),
    };
    const { topic: dlq, message } = deadLetterMessage(original, poison, {
      service: 'cli-test',
      now: Date.now(),
    });
    await producer.send({ topic: dlq, messages: [message] });
    await producer.disconnect();

    const inspect = await cli('dlq', ['inspect', '--topic', 'engagement.web-visit.v1']);
    expect(inspect.code).toBe(0);
    const line = JSON.parse(inspect.stdout.trim());
    expect(line).toMatchObject({
      deadLetter: `${dlq}:0:0`,
      code: 'MESSAGE_BAD_MAGIC_BYTE',
      source: `${topic}:0:5`,
      service: 'cli-test',
      key: 'lead-9',
      valueBytes: 7,
      valueHead: Buffer.from('{"a":1}').toString('hex'),
    });
    const dry = await cli('dlq', ['replay', '--topic', `${dlq}`, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim()).toBe(`would replay ${dlq}:0:0 -> ${topic} (MESSAGE_BAD_MAGIC_BYTE)`);
    const filtered = await cli('dlq', [
      'replay',
      '--topic',
      'engagement.web-visit.v1',
      '--code',
      'MESSAGE_NO_KEY',
    ]);
    expect(filtered.stderr).toContain('0 dead letter(s) replayed');
  });
});
