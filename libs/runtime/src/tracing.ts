import {
  type Context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/**
 * OpenTelemetry tracing, injected like the metrics registry: one Tracing per service, never a
 * global provider (tests run several services in one process, each under its own name).
 *
 * Exporting (OTLP over HTTP, batched) happens only when an endpoint is configured. Without one
 * the tracer is the API's no-op tracer: no span is recorded or exported, and a span started
 * under a remote parent is that parent, so a `traceparent` read from a message is carried on
 * unchanged to what the service writes next (the trace stays whole through a service that does
 * not export). Context travels explicitly (extract from a carrier, start a span under it, inject
 * the span into the next carrier): no async-hooks context manager, no auto-instrumentation.
 */
export interface Tracing {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** The parent context a W3C `traceparent` (and `tracestate`) in these headers names. */
  extract(headers: HeaderCarrier): Context;
  /** `traceparent` (and `tracestate`) of a span, to put in outgoing headers; {} for no span. */
  headersOf(span: Span): Record<string, string>;
  /** The span's `traceparent` alone (what an outbox entry keeps), if it has a valid one. */
  traceparentOf(span: Span): string | undefined;
  /** Exports what is buffered now. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

/** Kafka headers (Buffer or string values), HTTP headers or a plain record. */
export type HeaderCarrier = Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;

export interface TracingOptions {
  service: string;
  version?: string;
  /** Full OTLP/HTTP traces URL (…/v1/traces); unset: nothing is exported. */
  url?: string;
  /** Extra headers for the collector (OTEL_EXPORTER_OTLP_HEADERS). */
  headers?: Record<string, string>;
  sampler?: Sampler;
  /** How long spans wait in the batch before an export (OTEL_BSP_SCHEDULE_DELAY). */
  scheduleDelayMs?: number;
  /** Where spans go instead of OTLP (tests). */
  exporter?: SpanExporter;
}

const propagator = new W3CTraceContextPropagator();

const getter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v.map(String);
    return String(v); // a Kafka header is a Buffer: its text
  },
};

export function createTracing(o: TracingOptions): Tracing {
  const exporter =
    o.exporter ?? (o.url ? new OTLPTraceExporter({ url: o.url, headers: o.headers ?? {} }) : undefined);
  let provider: TracerProvider | undefined;
  let tracer: Tracer;
  if (exporter) {
    provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: o.service,
        ...(o.version ? { [ATTR_SERVICE_VERSION]: o.version } : {}),
      }),
      sampler: o.sampler ?? new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          scheduledDelayMillis: o.scheduleDelayMs ?? 5_000,
          // Spans beyond this are dropped, never waited for: tracing must not slow scoring.
          maxQueueSize: 8_192,
          maxExportBatchSize: 512,
        }),
      ],
    });
    tracer = provider.getTracer('lead-scorer');
  } else {
    // A proxy with no delegate is the no-op tracer (the global provider is never touched).
    tracer = new ProxyTracerProvider().getTracer('lead-scorer');
  }
  return {
    enabled: provider !== undefined,
    tracer,
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, getter),
    headersOf: (span) => {
      const out: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), out, {
        set: (c, k, v) => {
          c[k] = v;
        },
      });
      return out;
    },
    traceparentOf(span) {
      return this.headersOf(span).traceparent;
    },
    flush: async () => {
      await provider?.forceFlush();
    },
    shutdown: async () => {
      await provider?.shutdown();
    },
  };
}

/** The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name (the specification's values). */
export function samplerOf(name: string, arg: number | undefined): Sampler {
  const ratio = new TraceIdRatioBasedSampler(arg ?? 1);
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

// W3C Trace Context: version 00, a non-zero trace id and parent id, flags (lower-case hex).
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The `traceparent` of these headers as it is, if well-formed: what a service that records no
 * spans hands on (the no-op tracer would do the same, at the price of a context and a span object
 * per message).
 */
export function passThrough(headers: HeaderCarrier): string | undefined {
  const v = headers.traceparent;
  if (v === undefined) return undefined;
  const text = Array.isArray(v) ? String(v[0]) : String(v);
  return TRACEPARENT.test(text) ? text : undefined;
}
