import { request } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpsServer, routeMatcher, startOpsServer, UNMATCHED_ROUTE } from './http.ts';
import { createMetrics } from './metrics.ts';
import { createTracing } from './tracing.ts';

describe('routeMatcher', () => {
  const routeOf = routeMatcher(['/metrics', '/leads/{leadId}', '/leads/{leadId}/history', '/a.b']);

  it('maps a path to its template, never to the raw path', () => {
    expect(routeOf('/leads/lead-42')).toBe('/leads/{leadId}');
    expect(routeOf('/leads/lead-42/history')).toBe('/leads/{leadId}/history');
    expect(routeOf('/metrics')).toBe('/metrics');
  });

  it('matches a parameter to one non-empty segment and literal parts literally', () => {
    expect(routeOf('/leads/')).toBe(UNMATCHED_ROUTE);
    expect(routeOf('/leads/a/b')).toBe(UNMATCHED_ROUTE);
    expect(routeOf('/aXb')).toBe(UNMATCHED_ROUTE);
    expect(routeOf('/a.b')).toBe('/a.b');
    expect(routeOf('/metrics/x')).toBe(UNMATCHED_ROUTE);
  });
});

/** One request on loopback; answers the status. */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ops server HTTP metrics', () => {
  const metrics = createMetrics('http-test', { defaultMetrics: false });
  let ops: OpsServer;

  beforeAll(async () => {
    ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      live: () => true,
      ready: () => false,
      http: metrics,
      routeTemplates: ['/leads/{leadId}'],
      routes: [
        async (_req, url) => {
          if (url.pathname === '/leads/boom') throw new Error('a bug');
          return url.pathname.startsWith('/leads/') ? { status: 200, body: { ok: true } } : undefined;
        },
      ],
    });
  });
  afterAll(() => ops.close());

  const count = async (labels: Record<string, string>): Promise<number> => {
    const values = (await metrics.httpRequests.get()).values;
    return values
      .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k as never]) === x))
      .reduce((n, v) => n + v.value, 0);
  };

  it('counts requests by method, route template and status, and times them', async () => {
    expect(await call(ops.port, 'GET', '/leads/lead-1')).toBe(200);
    expect(await call(ops.port, 'GET', '/leads/lead-2')).toBe(200);
    expect(await call(ops.port, 'GET', '/leads/boom')).toBe(500);
    expect(await call(ops.port, 'GET', '/readyz')).toBe(503);
    expect(await call(ops.port, 'POST', '/healthz')).toBe(405);
    expect(await call(ops.port, 'GET', '/nothing/here')).toBe(404);
    expect(await call(ops.port, 'PROPFIND', '/leads/x')).toBe(200);

    const route = '/leads/{leadId}';
    expect(
      await count({ http_route: route, http_response_status_code: '200', http_request_method: 'GET' }),
    ).toBe(2);
    expect(await count({ http_route: route, http_response_status_code: '500' })).toBe(1);
    expect(await count({ http_route: '/readyz', http_response_status_code: '503' })).toBe(1);
    expect(
      await count({ http_route: '/healthz', http_request_method: 'POST', http_response_status_code: '405' }),
    ).toBe(1);
    expect(await count({ http_route: UNMATCHED_ROUTE, http_response_status_code: '404' })).toBe(1);
    // An unknown method is one bounded label value, as OpenTelemetry's conventions say.
    expect(await count({ http_route: route, http_request_method: '_OTHER' })).toBe(1);

    const durations = (await metrics.httpDuration.get()).values.filter(
      (v) => v.metricName === 'http_server_request_duration_seconds_count' && v.labels.http_route === route,
    );
    expect(durations.reduce((n, v) => n + v.value, 0)).toBe(4);

    const text = await metrics.registry.metrics();
    expect(text).not.toContain('lead-1');
    expect(text).not.toContain('/nothing/here');
  });
});

describe('ops server request spans', () => {
  const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing({ service: 'lead-api', exporter, scheduleDelayMs: 10 });
  let ops: OpsServer;

  beforeAll(async () => {
    ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetrics('span-test', { defaultMetrics: false }).registry,
      live: () => true,
      ready: () => true,
      tracing,
      routeTemplates: ['/leads/{leadId}'],
      routes: [
        async (_req, url) => {
          if (url.pathname === '/leads/broken') throw new Error('boom');
          return url.pathname.startsWith('/leads/') ? { status: 200, body: { ok: true } } : undefined;
        },
      ],
    });
  });
  afterAll(async () => {
    await ops.close();
    await tracing.shutdown();
  });

  it('records a SERVER span per routed request under the caller trace, none for probes and scrapes', async () => {
    expect(await call(ops.port, 'GET', '/leads/lead-7?x=1', { traceparent: PARENT })).toBe(200);
    expect(await call(ops.port, 'GET', '/leads/broken')).toBe(500);
    expect(await call(ops.port, 'GET', '/nowhere')).toBe(404);
    for (const path of ['/metrics', '/healthz', '/readyz'])
      expect(await call(ops.port, 'GET', path)).toBe(200);
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET /leads/{leadId}', 'GET /leads/{leadId}']);
    const ok = spans.find((s) => s.attributes['url.path'] === '/leads/lead-7')!;
    expect(ok.kind).toBe(SpanKind.SERVER);
    expect(ok.spanContext().traceId).toBe(PARENT.split('-')[1]);
    expect(ok.parentSpanContext?.spanId).toBe(PARENT.split('-')[2]);
    expect(ok.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/leads/{leadId}',
      'http.response.status_code': 200,
    });
    const broken = spans.find((s) => s.attributes['url.path'] === '/leads/broken')!;
    expect(broken.status.code).toBe(SpanStatusCode.ERROR);
    expect(broken.attributes['http.response.status_code']).toBe(500);
    expect(spans.find((s) => s.name === 'GET')?.attributes['http.route']).toBe(UNMATCHED_ROUTE);
  });
});
