import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Bearer API keys (RFC 6750). The service holds only SHA-256 hashes of the keys: a leaked
 * configuration gives no key away, and keys are long random strings, so a fast hash is enough (no
 * password stretching needed). The presented key is hashed and compared with every configured
 * hash in constant time, without stopping at a match, so timing tells nothing about which hash or
 * how much of one matched.
 *
 * - no Authorization header, or not `Bearer <token>` with a well-formed token: 401 with
 *   WWW-Authenticate, so clients know what to send;
 * - a well-formed key that is not one of ours: 403.
 */
export type Denial = {
  status: 401 | 403;
  body: { error: string; message: string };
  headers?: Record<string, string>;
};

const REALM = 'Bearer realm="lead-scorer"';
// RFC 6750 b64token, bounded: nothing longer is a key of ours.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,512}=*)$/;

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function checkApiKey(
  req: Pick<IncomingMessage, 'headers'>,
  hashes: readonly Buffer[],
): Denial | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') {
    return {
      status: 401,
      body: { error: 'unauthorized', message: 'an API key is required: Authorization: Bearer <key>' },
      headers: { 'www-authenticate': REALM },
    };
  }
  const m = BEARER.exec(header.trim());
  if (!m) {
    return {
      status: 401,
      body: { error: 'unauthorized', message: 'malformed Authorization header: expected Bearer <key>' },
      headers: { 'www-authenticate': `${REALM}, error="invalid_request"` },
    };
  }
  const presented = hashKey(m[1]!);
  let match = 0;
  for (const h of hashes) match |= timingSafeEqual(presented, h) ? 1 : 0;
  if (match === 0)
    return { status: 403, body: { error: 'forbidden', message: 'this API key is not allowed' } };
  return undefined;
}
