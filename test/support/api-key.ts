import { createHash } from 'node:crypto';

/**
 * The API key integration tests read lead-api with. Test-only: a deployment makes its own with
 * `npm run api-key`; scorerEnv() configures lead-api with this key's hash.
 */
export const TEST_API_KEY = 'lsk_integration-tests-only-0000000000000000';
export const TEST_API_KEY_HASH = createHash('sha256').update(TEST_API_KEY).digest('hex');
export const AUTH = { authorization: `Bearer ${TEST_API_KEY}` };
