import { runMain, startLeadApi } from './server.ts';

// The read API: GET /leads/{id}, GET /leads (stage listings, updatedSince), POST /leads:batchGet,
// GET /stages, GET /openapi.json, plus /metrics, /healthz, /readyz.
runMain((onFatal) => startLeadApi(process.env, 8080, onFatal));
