import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

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

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
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
