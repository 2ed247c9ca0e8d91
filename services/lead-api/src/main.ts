import { startLeadApi } from './server.ts';

// The read API: GET /leads/{id}, GET /openapi.json, plus /metrics, /healthz, /readyz.
startLeadApi(process.env).then(
  (api) => {
    const stop = (): void => {
      api.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  (err: unknown) => {
    console.error(
      JSON.stringify({ level: 'fatal', msg: 'could not start', err: String((err as Error)?.stack ?? err) }),
    );
    process.exit(1);
  },
);
