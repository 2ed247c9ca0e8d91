import { z } from 'zod';
import { createTracing, samplerOf, type Tracing, type TracingOptions } from './tracing.ts';

/**
 * The OpenTelemetry SDK's standard variables that the services honour, validated with the rest of
 * the configuration (the SDK's own env parsing is not used: nothing reads process.env outside
 * main.ts). Tracing exports only when an endpoint is set.
 */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const otelEnvShape = {
  /** Base URL of an OTLP/HTTP receiver (collector, Jaeger); `/v1/traces` is appended. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  /** Full URL of the traces endpoint; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  /** `key=value,key2=value2` sent with every export (e.g. a collector's auth header). */
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .regex(/^\s*[^=,\s]+\s*=[^,]*(,\s*[^=,\s]+\s*=[^,]*)*$/, 'must be key=value pairs separated by commas')
    .optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_SDK_DISABLED: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .default(false),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** Milliseconds spans wait in the batch before an export. */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).max(600_000).default(5_000),
};

const otelEnvSchema = z.object(otelEnvShape);
export type OtelEnv = z.infer<typeof otelEnvSchema>;

/** The OTLP traces URL the variables name, if any (the specification's rule for the base URL). */
export function tracesUrl(env: OtelEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED) return undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/** A service's Tracing from its validated configuration. */
export function tracingFromEnv(env: OtelEnv, service: string, extra: Partial<TracingOptions> = {}): Tracing {
  const url = tracesUrl(env);
  const headers = env.OTEL_EXPORTER_OTLP_HEADERS ? parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) : undefined;
  return createTracing({
    service: env.OTEL_SERVICE_NAME ?? service,
    ...(url ? { url } : {}),
    ...(headers ? { headers } : {}),
    sampler: samplerOf(env.OTEL_TRACES_SAMPLER, env.OTEL_TRACES_SAMPLER_ARG),
    scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
    ...extra,
  });
}

function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}
