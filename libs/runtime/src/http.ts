import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Tracing } from './tracing.ts';

/**
 * /metrics, /healthz (the process is alive and its loop is not wedged) and /readyz (it is
 * connected and has joined its consumer group; a service may answer it asynchronously, e.g. with a
 * Redis PING under a deadline). These three answer GET and HEAD only (405 with Allow otherwise) and
 * need no credentials: Kubernetes probes and Prometheus call them. Extra routes (the read API)
 * plug in via `routes`; an unknown path is a 404 with a message. An error a route throws is a 500
 * that says nothing of the error (logged instead): internals stay inside.
 */
export type Route = (
  req: import('node:http').IncomingMessage,
  url: URL,
) => Promise<{ status: number; body: unknown; headers?: Record<string, string> } | undefined>;

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  live: () => boolean;
  ready: () => boolean | Promise<boolean>;
  routes?: Route[];
  /** Where a route's unexpected error is logged (it is never sent to the client). */
  log?: Pick<Logger, 'error'>;
  /** Counts every request and its duration (http_server_*) when given. */
  http?: Pick<Metrics, 'httpRequests' | 'httpDuration'>;
  /**
   * The templates of the routes' paths (OpenAPI style: `/leads/{leadId}`), which metrics label a
   * request with: never the raw path, which carries lead ids (unbounded, and not for labels).
   */
  routeTemplates?: readonly string[];
  /**
   * A SERVER span per request to a route (not /metrics, /healthz, /readyz: probes and scrapes
   * would drown the traces), under the caller's `traceparent` when it sends one, named by method
   * and route template, with OpenTelemetry's HTTP attributes. Only when tracing is enabled.
   */
  tracing?: Tracing;
}

const OPS_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

function send(res: import('node:http').ServerResponse, status: number, body: unknown, headers = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    ...headers,
  });
  res.end(text);
}

/** The methods counted by name; any other is `_OTHER` (OpenTelemetry's rule: bounded labels). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);

/** The route label of a path that matches no template (a 404, a scanner's probe). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Maps a request path to its route template: `/leads/abc` -> `/leads/{leadId}`. A `{name}`
 * segment matches one non-empty path segment; the first template that matches wins.
 */
export function routeMatcher(templates: readonly string[]): (path: string) => string {
  const compiled = templates.map((t) => ({
    template: t,
    re: new RegExp(
      `^${t
        .split(/(\{[^}/]+\})/)
        .map((part) => (/^\{[^}/]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    ),
  }));
  return (path) => compiled.find((c) => c.re.test(path))?.template ?? UNMATCHED_ROUTE;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const routeOf = routeMatcher([...OPS_PATHS, ...(opts.routeTemplates ?? [])]);
  const http = opts.http;
  const tracing = opts.tracing?.enabled ? opts.tracing : undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (tracing && !OPS_PATHS.has(url.pathname)) {
      const method = req.method && METHODS.has(req.method) ? req.method : '_OTHER';
      const route = routeOf(url.pathname);
      const span = tracing.tracer.startSpan(
        route === UNMATCHED_ROUTE ? method : `${method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': method,
            'http.route': route,
            'url.path': url.pathname,
            'url.scheme': 'http',
          },
        },
        tracing.extract(req.headers),
      );
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        const status = res.writableFinished ? res.statusCode : 499;
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      };
      res.once('finish', end);
      res.once('close', end);
    }
    if (http) {
      const started = process.hrtime.bigint();
      // Counted once: when the answer is handed to the socket ('finish', before the client can
      // read it), or when the client went away before that ('close': 499, as nginx counts it).
      let counted = false;
      const count = (): void => {
        if (counted) return;
        counted = true;
        const method = req.method && METHODS.has(req.method) ? req.method : '_OTHER';
        const labels = {
          http_request_method: method,
          http_route: routeOf(url.pathname),
          http_response_status_code: String(res.writableFinished ? res.statusCode : 499),
        };
        http.httpRequests.inc(labels);
        http.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      };
      res.once('finish', count);
      res.once('close', count);
    }
    const handle = async (): Promise<void> => {
      if (OPS_PATHS.has(url.pathname) && req.method !== 'GET' && req.method !== 'HEAD') {
        return send(
          res,
          405,
          { error: 'method_not_allowed', message: `${url.pathname} answers GET and HEAD only` },
          { allow: 'GET, HEAD' },
        );
      }
      if (url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(await opts.registry.metrics());
        return;
      }
      if (url.pathname === '/healthz') {
        const ok = opts.live();
        return send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unhealthy' });
      }
      if (url.pathname === '/readyz') {
        const ok = await opts.ready();
        return send(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
      }
      for (const route of opts.routes ?? []) {
        const out = await route(req, url);
        if (out) return send(res, out.status, out.body, out.headers);
      }
      send(res, 404, { error: 'not_found', message: `no route for ${req.method} ${url.pathname}` });
    };
    handle().catch((err: unknown) => {
      opts.log?.error({ err, path: url.pathname }, 'request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
