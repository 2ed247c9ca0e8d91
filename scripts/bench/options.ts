import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run bench [-- options]

Benchmarks the lead scorer against the local stack (Kafka, schema registry; a redis-server of
its own): ceilings, drain throughput, produce-to-stage-change latency, memory per lead. Prints
numbers and asserts nothing. Writes .infra/bench/result-<timestamp>.json and docs/benchmarks.md.

Options:
  --events N              events pre-filled for the drain (default 1000000)
  --leads N               leads those events are spread over (default 100000)
  --rates LIST            open-loop latency rates, events/s (default 1000,5000,10000,20000)
  --rate-seconds S        seconds per latency rate (default 15)
  --memory-leads LIST     lead counts for the memory phase (default 100000)
  --memory-events-per-lead N   average events per lead in the memory phase (default 10)
  --chunk N               APPLY_CHUNK_SIZE of the services and the ceilings' chunk
                          (default 5000, tuned; the services' own default is 500)
  --no-scale              skip the second drain (two instances of web-visits in one group)
  --partitions-concurrently N  PARTITIONS_CONCURRENTLY of the services (default 3)
  --drain-timeout S       give up draining after S seconds and report what was done (default 420)
  --skip-drain            no pre-fill, no consume ceiling, no drain
  --skip-latency          no latency phase
  --skip-memory           no memory phase
  --cpu-prof              run the services with --cpu-prof (profiles in .infra/bench/prof-<timestamp>/)
  --no-docs               do not rewrite docs/benchmarks.md (e.g. for small trial runs)
  -h, --help              this text`;

export interface BenchOptions {
  events: number;
  leads: number;
  rates: number[];
  rateSeconds: number;
  memoryLeads: number[];
  memoryEventsPerLead: number;
  chunk: number;
  scaleDrain: boolean;
  partitionsConcurrently: number;
  drainTimeoutS: number;
  skipDrain: boolean;
  skipLatency: boolean;
  skipMemory: boolean;
  cpuProf: boolean;
  docs: boolean;
  /** The command line as typed after `npm run bench --`, for the report. */
  argv: string[];
}

function positive(name: string, raw: string): number {
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return n;
}

function list(name: string, raw: string): number[] {
  return raw.split(',').map((x) => Math.round(positive(name, x.trim())));
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      events: { type: 'string', default: '1000000' },
      leads: { type: 'string', default: '100000' },
      rates: { type: 'string', default: '1000,5000,10000,20000' },
      'rate-seconds': { type: 'string', default: '15' },
      'memory-leads': { type: 'string', default: '100000' },
      'memory-events-per-lead': { type: 'string', default: '10' },
      chunk: { type: 'string', default: '5000' },
      'partitions-concurrently': { type: 'string', default: '3' },
      'drain-timeout': { type: 'string', default: '420' },
      'skip-drain': { type: 'boolean', default: false },
      'skip-latency': { type: 'boolean', default: false },
      'skip-memory': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      'no-scale': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    events: Math.round(positive('events', values.events)),
    leads: Math.round(positive('leads', values.leads)),
    rates: list('rates', values.rates),
    rateSeconds: positive('rate-seconds', values['rate-seconds']),
    memoryLeads: list('memory-leads', values['memory-leads']),
    memoryEventsPerLead: positive('memory-events-per-lead', values['memory-events-per-lead']),
    chunk: Math.round(positive('chunk', values.chunk)),
    scaleDrain: !values['no-scale'],
    partitionsConcurrently: Math.round(
      positive('partitions-concurrently', values['partitions-concurrently']),
    ),
    drainTimeoutS: positive('drain-timeout', values['drain-timeout']),
    skipDrain: values['skip-drain'],
    skipLatency: values['skip-latency'],
    skipMemory: values['skip-memory'],
    cpuProf: values['cpu-prof'],
    docs: !values['no-docs'],
    argv,
  };
}
