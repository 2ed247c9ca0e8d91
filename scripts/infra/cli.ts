import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { infraConfigFromEnv } from './config.ts';
import { down, logs, reset, status, stopParts, up } from './stack.ts';

const USAGE = `Usage: npm run infra -- <command> [options]

Local Kafka (KRaft, Maven Central jars), Apicurio schema registry and Redis, without Docker.

Commands:
  up                 start what is not running and wait until every part answers; refuses at
                     once, naming it, a program that holds a port a part needs (nothing starts)
  down               stop every process this stack started (and nothing else)
  status             show each part, its endpoint, whether it answers and our pid
  logs [part] [-n N] last N log lines (part: kafka | registry | redis)
  reset              down, then delete the local data (topics, schemas, our Redis)

Environment: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), SCHEMA_REGISTRY_PORT (18081),
REDIS_URL (redis://127.0.0.1:6379), KAFKA_VERSION (4.4.0), APICURIO_VERSION (3.0.9),
INFRA_DIR (.infra), JAVA_HOME, INFRA_READY_TIMEOUT_MS (120000).`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, lines: { type: 'string', short: 'n', default: '60' } },
  });
  const [command, arg] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const cfg = infraConfigFromEnv(process.env, root);
  switch (command) {
    case 'up': {
      // A part that fails to come up must not leave the parts this run started behind it.
      const started: string[] = [];
      const ep = await up(cfg, console.log, started).catch(async (err: unknown) => {
        await stopParts(cfg, started);
        throw err;
      });
      console.log(
        `KAFKA_BROKERS=${ep.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${ep.registryUrl}\nREDIS_URL=${ep.redisUrl}`,
      );
      return 0;
    }
    case 'down':
      await down(cfg);
      return 0;
    case 'reset':
      await reset(cfg);
      return 0;
    case 'status': {
      const parts = await status(cfg);
      for (const p of parts) {
        const who = p.pid === undefined ? (p.answers ? 'external' : '-') : `pid ${p.pid}`;
        console.log(
          `${p.name.padEnd(9)} ${(p.answers ? 'up' : 'down').padEnd(5)} ${who.padEnd(12)} ${p.endpoint}`,
        );
      }
      return parts.every((p) => p.answers) ? 0 : 1;
    }
    case 'logs':
      console.log(logs(cfg, arg, Number(values.lines)));
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[infra] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
