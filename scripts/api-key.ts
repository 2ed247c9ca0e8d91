import { createHash, randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';

/**
 * npm run api-key            a new read-API key and its SHA-256 hash
 * npm run api-key -- hash    the hash of a key read from standard input (not an argument: shell
 *                            history and `ps` would keep it)
 *
 * The key goes to the client (Authorization: Bearer <key>); only the hash goes to lead-api, in
 * API_KEY_HASHES (comma-separated, from a Secret) or a line of API_KEY_HASHES_FILE. 32 random bytes
 * make guessing hopeless, which is why a plain SHA-256 (no slow password hash) is enough.
 */
export function newApiKey(): { key: string; hash: string } {
  const key = `lsk_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashOf(key) };
}

export function hashOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

async function main(args: string[]): Promise<number> {
  if (args[0] === 'hash') {
    const key = (await text(process.stdin)).trim();
    if (key === '') {
      console.error('usage: npm run api-key -- hash < file-holding-the-key');
      return 2;
    }
    console.log(hashOf(key));
    return 0;
  }
  if (args.length > 0) {
    console.error(
      'usage: npm run api-key            (a new key and its hash)\n       npm run api-key -- hash  (the hash of a key on standard input)',
    );
    return 2;
  }
  const { key, hash } = newApiKey();
  console.log(`key:    ${key}
sha256: ${hash}

Give the key to the client (Authorization: Bearer <key>). Configure lead-api with the hash only:
API_KEY_HASHES (comma-separated, from a Secret) or one line of API_KEY_HASHES_FILE.`);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
