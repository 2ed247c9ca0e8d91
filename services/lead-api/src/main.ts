import { runMain, startLeadApi } from './server.ts';

// The read API: GET /leads/{id}, GET /openapi.json, plus /metrics, /healthz, /readyz.
runMain((onFatal) => startLeadApi(process.env, 8080, onFatal));
