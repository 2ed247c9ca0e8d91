/**
 * `npm run bench:tracing`: what tracing costs the consumer pipeline, in process. The scoring
 * processor (decode, engine, read-apply-commit, publish) runs over the same seeded web visits on
 * the in-memory store in four modes and prints messages per second and the cost per message:
 *   off          no OTEL endpoint, messages without traceparent (the default deployment)
 *   off+header   no OTEL endpoint, every message with a traceparent (handed on unchanged)
 *   on           spans recorded and batched for export (to an exporter that drops them)
 *   on+header    the same, continuing each message's trace
 * No Kafka, Redis or network: the numbers isolate the tracing code. They move with the machine's
 * other load: compare the modes of one run, not single numbers. Asserts nothing.
 *   node_modules/.bin/node scripts/bench/tracing.ts [messages=200000] [rounds=3]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  AVRO_SCHEMAS,
  createCatalogue,
  createSerde,
  EXAMPLES,
  encodeFrame,
  parseAvro,
} from '@leadscorer/contracts';
import { MemoryScoreStore, type StageChangeRecord } from '@leadscorer/core';
import { loadModel } from '@leadscorer/engine';
import {
  createLogger,
  createMetrics,
  createTracing,
  type InboundMessage,
  type Tracing,
} from '@leadscorer/runtime';
import {
  createScoringProcessor,
  PartitionTracker,
  StageChangePublisher,
  StateGuard,
} from '@leadscorer/scoring-service';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

const MESSAGES = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const CHUNK = 500;
const LEADS = 5_000;
const ROOT = resolve(import.meta.dirname, '../..');
const model = loadModel(readFileSync(join(ROOT, 'models/default.yaml'), 'utf8'), 'models/default.yaml');
const catalogue = createCatalogue();
const WEB = 'engagement.web-visit.v1';

/** The registry's two calls the serde makes, answered from the schemas in the repository. */
const registry = {
  getSchema: async (id: number) => parseAvro(AVRO_SCHEMAS[catalogue.topics[id - 1]!.name]),
  getRegistryIdBySchema: async (subject: string) =>
    catalogue.topics.findIndex((t) => t.subject === subject) + 1,
} as unknown as SchemaRegistry;

/** Takes spans and drops them: the SDK's whole cost up to the wire, without a receiver. */
const dropping: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};

function messages(withHeader: boolean): InboundMessage[] {
  const id = catalogue.topics.findIndex((t) => t.name === WEB) + 1;
  const type = parseAvro(AVRO_SCHEMAS[WEB]);
  const now = Date.now();
  const out: InboundMessage[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const lead = `lead-${i % LEADS}`;
    const value = encodeFrame(
      id,
      type.toBuffer({ ...EXAMPLES[WEB], eventId: `e${i}`, leadId: lead, eventTime: now - (MESSAGES - i) }),
    );
    const headers = withHeader
      ? {
          traceparent: Buffer.from(
            `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
          ),
        }
      : {};
    out.push({
      topic: WEB,
      partition: 0,
      offset: String(i),
      key: Buffer.from(lead),
      value,
      headers,
      timestamp: String(now),
    });
  }
  return out;
}

async function run(tracing: Tracing, input: InboundMessage[]): Promise<number> {
  const store = new MemoryScoreStore();
  const metrics = createMetrics('bench', { defaultMetrics: false });
  const log = createLogger('bench', 'silent');
  const sink = { send: async (_c: readonly StageChangeRecord[]) => undefined };
  const state = new StateGuard({ store: () => store, log, metrics, hasHistory: async () => false });
  await state.check();
  const processor = createScoringProcessor({
    serde: createSerde({ registry, catalogue }),
    generation: {
      current: () => ({
        record: { generation: 0 },
        model,
        store,
        scorer: { model, historyLength: 5 },
        publisher: new StageChangePublisher({ store, sink, metrics, clock: Date.now }),
      }),
      refresh: async () => false,
    },
    deadLetters: { send: async () => undefined },
    publishInline: (recorded, publisher) => publisher.publish(recorded, 'inline'),
    metrics,
    log,
    clock: Date.now,
    partitions: new PartitionTracker({ store: () => store, group: 'bench', log, metrics, clock: Date.now }),
    state,
    tracing,
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < input.length; i += CHUNK) await processor(input.slice(i, i + CHUNK));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await tracing.shutdown();
  return seconds;
}

async function main(): Promise<void> {
  const plain = messages(false);
  const traced = messages(true);
  const modes: { name: string; tracing: () => Tracing; input: InboundMessage[] }[] = [
    { name: 'off', tracing: () => createTracing({ service: 'bench' }), input: plain },
    { name: 'off+header', tracing: () => createTracing({ service: 'bench' }), input: traced },
    { name: 'on', tracing: () => createTracing({ service: 'bench', exporter: dropping }), input: plain },
    {
      name: 'on+header',
      tracing: () => createTracing({ service: 'bench', exporter: dropping }),
      input: traced,
    },
  ];
  console.log(
    `[bench:tracing] ${MESSAGES} web visits over ${LEADS} leads, chunks of ${CHUNK}, best of ${ROUNDS}`,
  );
  await run(modes[0]!.tracing(), plain.slice(0, 20_000)); // warm-up: JIT, schema cache
  const best = new Map<string, number>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of modes) {
      const s = await run(m.tracing(), m.input);
      best.set(m.name, Math.min(best.get(m.name) ?? Number.POSITIVE_INFINITY, s));
    }
  }
  const base = best.get('off')!;
  console.log('mode         msgs/s     µs/msg   vs off');
  for (const m of modes) {
    const s = best.get(m.name)!;
    const perMsg = (s / MESSAGES) * 1e6;
    const delta = ((s - base) / MESSAGES) * 1e6;
    console.log(
      `${m.name.padEnd(12)} ${Math.round(MESSAGES / s)
        .toString()
        .padStart(
          8,
        )} ${perMsg.toFixed(2).padStart(9)}   ${m.name === 'off' ? '' : `${delta >= 0 ? '+' : ''}${delta.toFixed(2)} µs`}`,
    );
  }
}

await main();
