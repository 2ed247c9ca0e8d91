import type { CommonEnv } from './config.ts';
import { type OpsServer, type Route, startOpsServer } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Tracing } from './tracing.ts';
import { tracingFromEnv } from './tracing-config.ts';

/**
 * The one skeleton every service runs on: build its parts, connect, ensure its topics, open the
 * ops server (/metrics, /healthz, /readyz and the service's own routes), start the work, and stop
 * gracefully in reverse. If any step of the start fails, what was already started is stopped
 * again before the error propagates, so a failed start leaves no socket or timer behind.
 */
export interface ServiceContext<E extends CommonEnv> {
  name: string;
  env: E;
  log: Logger;
  metrics: Metrics;
  /** Spans, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (tracing.ts). */
  tracing: Tracing;
  /** A bug-class error from a background loop: the process must exit non-zero. */
  fatal(err: unknown): void;
}

export interface ServiceParts {
  /** Connect clients. */
  connect(): Promise<void>;
  /** Create or update the topics the service uses; only called when ENSURE_TOPICS is true. */
  ensureTopics?(): Promise<void>;
  /** Start the work (a consumer group, a loop). */
  start(): Promise<void>;
  /**
   * Stop the work (finish the batch in hand, commit, leave the group), then close the clients.
   * Must also work after a partial start.
   */
  stop(): Promise<void>;
  live(): boolean;
  ready(): boolean;
  /**
   * A check /readyz also awaits after ready() (e.g. lead-api's Redis PING under a deadline): for
   * readiness that a connection state alone cannot tell, such as a Redis that is frozen.
   */
  readyProbe?(): Promise<boolean>;
  routes?: Route[];
  /** The path templates of `routes` (e.g. `/leads/{leadId}`): HTTP metrics label requests by them. */
  routeTemplates?: readonly string[];
}

export interface RunningService {
  name: string;
  ops: OpsServer;
  log: Logger;
  metrics: Metrics;
  tracing: Tracing;
  isReady(): boolean;
  /** The validated graceful-stop deadline (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  stop(): Promise<void>;
}

export interface ServiceSpec<E extends CommonEnv> {
  name: string;
  /** Ops port when HTTP_PORT is unset (distinct per service so several can share a host). */
  defaultPort: number;
  env: E;
  /** Told about bug-class errors of the running service (runMain exits the process). */
  onFatal: (err: unknown) => void;
  build(ctx: ServiceContext<E>): ServiceParts | Promise<ServiceParts>;
}

export async function startService<E extends CommonEnv>(spec: ServiceSpec<E>): Promise<RunningService> {
  const { name, env } = spec;
  const log = createLogger(name, env.LOG_LEVEL);
  const metrics = createMetrics(name);
  const tracing = tracingFromEnv(env, name);
  const fatal = (err: unknown): void => {
    log.fatal({ err }, 'unrecoverable error: crashing');
    spec.onFatal(err);
  };
  const parts = await spec.build({ name, env, log, metrics, tracing, fatal });
  let ops: OpsServer | undefined;
  try {
    await parts.connect();
    if (env.ENSURE_TOPICS && parts.ensureTopics) await parts.ensureTopics();
    ops = await startOpsServer({
      host: env.HTTP_HOST,
      port: env.HTTP_PORT ?? spec.defaultPort,
      registry: metrics.registry,
      live: () => parts.live(),
      ready: async () => parts.ready() && (parts.readyProbe ? await parts.readyProbe() : true),
      log,
      http: metrics,
      tracing,
      ...(parts.routes ? { routes: parts.routes } : {}),
      ...(parts.routeTemplates ? { routeTemplates: parts.routeTemplates } : {}),
    });
    await parts.start();
  } catch (err) {
    await parts.stop().catch((e: unknown) => log.warn({ err: e }, 'stopping after a failed start'));
    await ops?.close();
    await tracing.shutdown().catch(() => undefined);
    throw err;
  }
  const server = ops;
  log.info({ port: server.port }, 'started');
  return {
    name,
    ops: server,
    log,
    metrics,
    tracing,
    isReady: () => parts.ready(),
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    stop: async () => {
      await parts.stop();
      await server.close();
      // The last spans are exported before the process goes, within a bound that leaves the rest
      // of SHUTDOWN_TIMEOUT_MS alone when the collector is away.
      await boundedShutdown(tracing, 3_000).catch((err: unknown) =>
        log.warn({ err }, 'exporting the last spans failed'),
      );
    },
  };
}

async function boundedShutdown(tracing: Tracing, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([tracing.shutdown(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a service as a process: starts it; on SIGTERM / SIGINT stops it gracefully within its
 * SHUTDOWN_TIMEOUT_MS or exits 1. A failed start, and a bug-class error later, exit 1 with one
 * JSON line, so the orchestrator restarts the pod and the alert fires.
 */
export function runMain(start: (onFatal: (err: unknown) => void) => Promise<RunningService>): void {
  const fatal = (err: unknown): void => {
    console.error(JSON.stringify({ level: 'fatal', msg: 'exiting', ...describe(err) }));
    process.exit(1);
  };
  start(fatal).then((svc) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      svc.log.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        svc.log.error({ deadlineMs: svc.shutdownTimeoutMs }, 'shutdown deadline passed: exiting');
        process.exit(1);
      }, svc.shutdownTimeoutMs);
      timer.unref();
      svc.stop().then(
        () => {
          svc.log.info('stopped cleanly');
          process.exit(0);
        },
        (err: unknown) => fatal(err),
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  }, fatal);
}

/**
 * A coded error (bad config, bad model: LeadScorerError) is its code and message, no stack trace:
 * the message names the variable or the file and line. Anything else is a bug: its stack.
 */
function describe(err: unknown): { code?: string; err: string } {
  if (err instanceof Error && err.name === 'LeadScorerError' && 'code' in err) {
    return { code: String((err as { code: unknown }).code), err: err.message };
  }
  return { err: String((err as Error)?.stack ?? err) };
}
