import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryAdmin } from './registry-admin.ts';
import { createRegistryClient } from './serde.ts';

// SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD reach the registry as HTTP basic auth, from
// both clients (the services' serde and the deploy step's admin), and nothing is sent without them.
describe('registry basic auth', () => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      req.url?.startsWith('/schemas/ids/')
        ? JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'X', fields: [] }) })
        : '[1]',
    );
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const basic = `Basic ${Buffer.from('svc:s3cret').toString('base64')}`;

  it('the serde client sends it', async () => {
    seen.length = 0;
    // Only the request matters here, not whether this stub's answer parses.
    await createRegistryClient(url, { username: 'svc', password: 's3cret' })
      .getSchema(1)
      .catch(() => undefined);
    expect(seen).toHaveLength(1);
    expect(seen.at(-1)?.authorization).toBe(basic);
    await createRegistryClient(`${url}/x`)
      .getSchema(2)
      .catch(() => undefined);
    expect(seen).toHaveLength(2);
    expect(seen.at(-1)?.authorization).toBeUndefined();
  });

  it('the admin client sends it', async () => {
    seen.length = 0;
    await createRegistryAdmin({ url, auth: { username: 'svc', password: 's3cret' } }).versions('s-value');
    expect(seen.at(-1)?.authorization).toBe(basic);
    await createRegistryAdmin({ url }).versions('s-value');
    expect(seen.at(-1)?.authorization).toBeUndefined();
  });
});
