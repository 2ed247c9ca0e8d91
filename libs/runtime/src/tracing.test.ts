import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadEnv } from './config.ts';
import { createTracing } from './tracing.ts';
import { otelEnvShape, tracesUrl } from './tracing-config.ts';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const otelEnv = (vars: Record<string, string>) => loadEnv(z.object(otelEnvShape), vars);

describe('tracing without an endpoint', () => {
  const tracing = createTracing({ service: 'test' });

  it('records nothing and hands an incoming traceparent on unchanged', () => {
    expect(tracing.enabled).toBe(false);
    const span = tracing.tracer.startSpan(
      'process',
      { kind: SpanKind.CONSUMER },
      tracing.extract({ traceparent: Buffer.from(PARENT) }),
    );
    expect(span.isRecording()).toBe(false);
    expect(tracing.traceparentOf(span)).toBe(PARENT);
  });

  it('starts no trace of its own', () => {
    const span = tracing.tracer.startSpan('process', {}, tracing.extract({}));
    expect(tracing.traceparentOf(span)).toBeUndefined();
    expect(tracing.headersOf(span)).toEqual({});
  });

  it('ignores a malformed traceparent', () => {
    const span = tracing.tracer.startSpan('process', {}, tracing.extract({ traceparent: '00-nonsense-01' }));
    expect(tracing.traceparentOf(span)).toBeUndefined();
  });
});

describe('tracing with an exporter', () => {
  it('continues the incoming trace with a span of its own, exported with the service name', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ service: 'web-visits', exporter, scheduleDelayMs: 10 });
    expect(tracing.enabled).toBe(true);
    const span = tracing.tracer.startSpan('process', {}, tracing.extract({ traceparent: PARENT }));
    const out = tracing.traceparentOf(span)!;
    const [, traceId, spanId, flags] = out.split('-');
    expect(traceId).toBe(PARENT.split('-')[1]);
    expect(spanId).not.toBe(PARENT.split('-')[2]);
    expect(flags).toBe('01');
    span.end();
    await tracing.flush();
    const [exported] = exporter.getFinishedSpans();
    expect(exported?.parentSpanContext?.spanId).toBe(PARENT.split('-')[2]);
    expect(exported?.resource.attributes['service.name']).toBe('web-visits');
    await tracing.shutdown();
  });

  it('keeps an upstream decision not to sample (parent-based by default)', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ service: 't', exporter });
    const unsampled = PARENT.replace(/-01$/, '-00');
    const span = tracing.tracer.startSpan('process', {}, tracing.extract({ traceparent: unsampled }));
    expect(span.isRecording()).toBe(false);
    expect(tracing.traceparentOf(span)?.endsWith('-00')).toBe(true);
    span.end();
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    await tracing.shutdown();
  });
});

describe('OTEL_* configuration', () => {
  it('exports only when an endpoint is set, to its /v1/traces', () => {
    expect(tracesUrl(otelEnv({}))).toBeUndefined();
    expect(tracesUrl(otelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }))).toBe(
      'http://jaeger:4318/v1/traces',
    );
    expect(tracesUrl(otelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }))).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracesUrl(
        otelEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
        }),
      ),
    ).toBe('http://b:4318/custom');
    expect(
      tracesUrl(otelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' })),
    ).toBeUndefined();
  });

  it('refuses a bad value with the variable named and hides the headers (they hold credentials)', () => {
    expect(() => otelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'jaeger:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => otelEnv({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => otelEnv({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    let message = '';
    try {
      otelEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization Bearer s3cret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/OTEL_EXPORTER_OTLP_HEADERS/);
    expect(message).not.toContain('s3cret');
  });
});
