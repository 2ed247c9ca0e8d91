import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSalesAlerts } from './service.ts';
import { loadSubscriptions, wants } from './subscriptions.ts';

const STAGES = ['unqualified', 'mql', 'sql', 'pql', 'cql', 'disqualified'];
const RANKS = new Map(STAGES.map((s, i) => [s, s === 'disqualified' ? -1 : i]));
const defaults = { maxAttempts: 5, timeoutMs: 5_000, concurrency: 4 };
const env = { CRM_SECRET: 'c'.repeat(20), CHAT_SECRET: 'd'.repeat(16), SHORT: 'short' };
const load = (text: string) => loadSubscriptions('subs.yaml', { env, stages: STAGES, defaults, text });

const GOOD = `# two subscribers
subscribers:
  - id: crm
    url: https://crm.example.com/hooks/stage
    secretEnv: CRM_SECRET
    filter: { stages: [sql, cql], direction: up }
    maxAttempts: 8
  - id: chat-ops
    url: http://127.0.0.1:9999/alerts
    secretEnv: CHAT_SECRET
`;

describe('loadSubscriptions', () => {
  it('reads each subscriber with its secret from the environment and the defaults it leaves out', () => {
    const [crm, chat] = load(GOOD);
    expect(crm).toMatchObject({ id: 'crm', secret: env.CRM_SECRET, maxAttempts: 8, timeoutMs: 5_000 });
    expect([...crm!.filter.stages!]).toEqual(['sql', 'cql']);
    expect(crm!.filter.direction).toBe('up');
    expect(chat).toMatchObject({ id: 'chat-ops', maxAttempts: 5, concurrency: 4 });
    expect(chat!.filter).toEqual({ stages: null, direction: 'any', modelVersions: null });
  });

  it('reads the documented example (services/sales-alerts/subscriptions.example.yaml)', () => {
    const file = resolve(import.meta.dirname, '../subscriptions.example.yaml');
    const subs = loadSubscriptions(file, {
      env: { SALES_WEBHOOK_SECRET: 's'.repeat(32), NURTURE_WEBHOOK_SECRET: 'n'.repeat(32) },
      stages: STAGES,
      defaults,
      text: readFileSync(file, 'utf8'),
    });
    expect(subs.map((s) => [s.id, s.filter.direction, s.maxAttempts])).toEqual([
      ['sales-team', 'up', 5],
      ['nurture', 'down', 8],
    ]);
  });

  it.each([
    [
      'a misspelt key',
      GOOD.replace('    secretEnv: CHAT_SECRET', '    secretenv: CHAT_SECRET'),
      /^subs\.yaml:10: subscribers\[1\]\.secretenv: /m,
    ],
    [
      'a secret that is not set',
      GOOD.replace('CHAT_SECRET', 'NOPE_SECRET'),
      /^subs\.yaml:10: subscribers\[1\]\.secretEnv: environment variable NOPE_SECRET is not set$/m,
    ],
    [
      'a short secret, not echoed',
      GOOD.replace('CHAT_SECRET', 'SHORT'),
      /^subs\.yaml:10: subscribers\[1\]\.secretEnv: SHORT must be at least 16 characters$/m,
    ],
    [
      'an unknown stage',
      GOOD.replace('[sql, cql]', '[sql, cqll]'),
      /^subs\.yaml:6: subscribers\[0\]\.filter\.stages\[1\]: unknown stage "cqll"/m,
    ],
    [
      'a bad direction',
      GOOD.replace('direction: up', 'direction: upward'),
      /^subs\.yaml:6: subscribers\[0\]\.filter\.direction: /m,
    ],
    [
      'a duplicate id',
      GOOD.replace('id: chat-ops', 'id: crm'),
      /^subs\.yaml:8: subscribers\[1\]\.id: duplicate subscriber id "crm"$/m,
    ],
    [
      'a bad URL',
      GOOD.replace('http://127.0.0.1:9999/alerts', 'ftp://x'),
      /^subs\.yaml:9: subscribers\[1\]\.url: /m,
    ],
    [
      'an id unfit for labels',
      GOOD.replace('id: crm', 'id: CRM Team'),
      /^subs\.yaml:3: subscribers\[0\]\.id: lower-case/m,
    ],
    ['broken YAML', `${GOOD}  - id: [\n`, /^subs\.yaml:1[12]: \(yaml\): /m],
    ['no subscribers', 'subscribers: []\n', /^subs\.yaml:1: subscribers: /m],
  ])('refuses %s with file:line: field: why', (_, text, message) => {
    let err: unknown;
    try {
      load(text);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toMatch(/^invalid subscriptions file\n/);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('short');
  });

  it('sales-alerts refuses to start on a bad file, naming its line, before connecting to anything', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'subs-')), 'subscriptions.yaml');
    writeFileSync(file, GOOD.replace('[sql, cql]', '[sql, cqll]'));
    await expect(
      startSalesAlerts(
        {
          SUBSCRIPTIONS_FILE: file,
          ...env,
          MODEL_FILE: resolve(import.meta.dirname, '../../../models/default.yaml'),
          // Nothing listens here: a start that got as far as connecting would fail differently.
          KAFKA_BROKERS: '127.0.0.1:1',
          REDIS_URL: 'redis://127.0.0.1:1',
        },
        () => {},
        0,
      ),
    ).rejects.toThrow(`${file}:6: subscribers[0].filter.stages[1]: unknown stage "cqll"`);
  });
});

describe('wants', () => {
  const change = (fromStage: string, toStage: string, modelVersion = 'v1') => ({
    fromStage,
    toStage,
    modelVersion,
  });
  const sub = (
    filter: Partial<{ stages: string[]; direction: 'up' | 'down' | 'any'; modelVersions: string[] }>,
  ) => ({
    filter: {
      stages: filter.stages ? new Set(filter.stages) : null,
      direction: filter.direction ?? 'any',
      modelVersions: filter.modelVersions ? new Set(filter.modelVersions) : null,
    },
  });

  it('filters by target stage, direction on the ladder and model version', () => {
    expect(wants(sub({}), change('mql', 'unqualified'), RANKS)).toBe(true);
    expect(wants(sub({ stages: ['pql'] }), change('mql', 'sql'), RANKS)).toBe(false);
    expect(wants(sub({ direction: 'up' }), change('unqualified', 'cql'), RANKS)).toBe(true);
    expect(wants(sub({ direction: 'up' }), change('cql', 'pql'), RANKS)).toBe(false);
    expect(wants(sub({ direction: 'down' }), change('mql', 'disqualified'), RANKS)).toBe(true);
    expect(wants(sub({ direction: 'up' }), change('disqualified', 'unqualified'), RANKS)).toBe(true);
    expect(wants(sub({ modelVersions: ['v2'] }), change('mql', 'sql'), RANKS)).toBe(false);
    // A stage this model does not know has no direction.
    expect(wants(sub({ direction: 'up' }), change('mql', 'legacy'), RANKS)).toBe(false);
    expect(wants(sub({}), change('mql', 'legacy'), RANKS)).toBe(true);
  });
});
