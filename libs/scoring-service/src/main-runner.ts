import type { RunningService } from './service.ts';

/**
 * Runs a service as a process: starts it, and on SIGTERM / SIGINT stops it gracefully within
 * SHUTDOWN_TIMEOUT_MS (finish the batch in hand, commit, leave the group) or exits non-zero.
 * An unrecoverable error exits 1 so the orchestrator restarts the pod and the alert fires.
 */
export function runMain(start: (onFatal: (err: unknown) => void) => Promise<RunningService>): void {
  const deadlineMs = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 25_000);
  const fatal = (err: unknown): void => {
    console.error(
      JSON.stringify({ level: 'fatal', msg: 'exiting', err: String((err as Error)?.stack ?? err) }),
    );
    process.exit(1);
  };
  start(fatal).then((svc) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      svc.wiring.log.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        svc.wiring.log.error({ deadlineMs }, 'shutdown deadline passed: exiting');
        process.exit(1);
      }, deadlineMs);
      timer.unref();
      svc.stop().then(
        () => {
          svc.wiring.log.info('stopped cleanly');
          process.exit(0);
        },
        (err: unknown) => fatal(err),
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  }, fatal);
}
