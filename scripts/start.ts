import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraConfigFromEnv } from './infra/config.ts';
import { up } from './infra/stack.ts';

/**
 * `npm start`: brings the local stack up and says what runs where. The scoring services
 * and the demo simulator join here as they land (see README "Status").
 */
async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const cfg = infraConfigFromEnv(process.env, root);
  const ep = await up(cfg);
  console.log(`
Lead scorer stack is up:
  Kafka broker      ${ep.kafkaBrokers}        (kcat -b ${ep.kafkaBrokers} -L)
  Schema registry   ${ep.registryUrl}
  Redis             ${ep.redisUrl}

Stop it with: npm run infra -- down`);
}

main().catch((err: unknown) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
