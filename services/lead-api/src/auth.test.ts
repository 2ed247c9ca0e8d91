import type { IncomingMessage } from 'node:http';
import { LeadScorerError } from '@leadscorer/errors';
import type { Route } from '@leadscorer/runtime';
import { describe, expect, it } from 'vitest';
import { newApiKey } from '../../../scripts/api-key.ts';
import { readApi } from './api.ts';
import { checkApiKey, hashKey } from './auth.ts';

const KEY = 'lsk_test-key-0123456789abcdefghijklmnop';
const OTHER = 'lsk_other-key-0123456789abcdefghijklmno';
const hashes = [hashKey('lsk_retired-key-000000000000000000000000'), hashKey(KEY)];
const req = (authorization?: string, method = 'GET') =>
  ({ method, headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('checkApiKey', () => {
  it('lets a configured key through, whichever of several it is', () => {
    expect(checkApiKey(req(`Bearer ${KEY}`), hashes)).toBeUndefined();
    expect(checkApiKey(req(`Bearer ${KEY}`), [hashKey(KEY)])).toBeUndefined();
  });

  it('401 with WWW-Authenticate: Bearer without a header or with a malformed one', () => {
    for (const h of [
      undefined,
      '',
      'Basic dXNlcjpwYXNz',
      `Bearer`,
      `Bearer ${KEY} extra`,
      `bearer${KEY}`,
      `Bearer ${'a'.repeat(600)}`,
      'Bearer ä',
    ]) {
      const d = checkApiKey(req(h), hashes);
      expect(d?.status, String(h)).toBe(401);
      expect(d?.headers?.['www-authenticate'], String(h)).toMatch(/^Bearer realm="lead-scorer"/);
    }
  });

  it('accepts a key made by npm run api-key, configured by its printed hash', () => {
    const { key, hash } = newApiKey();
    expect(key).toMatch(/^lsk_[A-Za-z0-9_-]{43}$/);
    expect(checkApiKey(req(`Bearer ${key}`), [Buffer.from(hash, 'hex')])).toBeUndefined();
  });

  it('403 for a well-formed key that is not configured', () => {
    expect(checkApiKey(req(`Bearer ${OTHER}`), hashes)?.status).toBe(403);
    expect(checkApiKey(req(`Bearer ${KEY}`), [])?.status).toBe(403);
  });
});

describe('readApi', () => {
  const ok: Route = async () => ({ status: 200, body: { fine: true } });
  const api = (inner: Route, deadlineMs = 1_000) =>
    readApi(inner, { apiKeyHashes: hashes, deadlineMs, retryAfterSeconds: 7 });
  const url = (p: string) => new URL(p, 'http://localhost');

  it('asks every path but /openapi.json for a key, unknown paths included', async () => {
    expect((await api(ok)(req(), url('/leads/x')))?.status).toBe(401);
    expect((await api(async () => undefined)(req(), url('/elsewhere')))?.status).toBe(401);
    expect(await api(async () => undefined)(req(`Bearer ${KEY}`), url('/elsewhere'))).toBeUndefined();
    expect((await api(ok)(req(`Bearer ${KEY}`), url('/leads/x')))?.status).toBe(200);
    expect((await api(ok)(req(), url('/openapi.json')))?.status).toBe(200);
    const post = await api(ok)(req(undefined, 'POST'), url('/openapi.json'));
    expect(post?.status).toBe(405);
    expect(post?.headers).toEqual({ allow: 'GET, HEAD' });
  });

  it('503 with Retry-After and no internals when the store fails or passes the deadline', async () => {
    const down: Route = async () => {
      throw new LeadScorerError('REDIS_UNAVAILABLE', 'read leads: connect ECONNREFUSED 127.0.0.1:6399');
    };
    const frozen: Route = () => new Promise(() => {});
    for (const inner of [down, frozen]) {
      const res = await api(inner, 100)(req(`Bearer ${KEY}`), url('/leads/x'));
      expect(res?.status).toBe(503);
      expect(res?.headers).toEqual({ 'retry-after': '7' });
      expect(JSON.stringify(res?.body)).not.toMatch(/ECONN|127\.0\.0\.1|Redis|ioredis/);
    }
  });

  it('lets a bug through to the ops server (a 500 without details there)', async () => {
    const bug: Route = async () => {
      throw new TypeError('boom');
    };
    await expect(api(bug)(req(`Bearer ${KEY}`), url('/leads/x'))).rejects.toThrow('boom');
  });
});
