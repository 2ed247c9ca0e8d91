import { startSalesAlerts } from './service.ts';

// Reference subscriber: POSTs chosen lead.stage-changed events to WEBHOOK_URL, signed.
const fatal = (err: unknown): void => {
  console.error(
    JSON.stringify({ level: 'fatal', msg: 'exiting', err: String((err as Error)?.stack ?? err) }),
  );
  process.exit(1);
};
startSalesAlerts(process.env, fatal).then((svc) => {
  const stop = (): void => {
    const timer = setTimeout(() => process.exit(1), Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 25_000));
    timer.unref();
    svc.stop().then(() => process.exit(0), fatal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}, fatal);
