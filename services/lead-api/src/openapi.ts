/** The read API's contract, served at GET /openapi.json. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Lead scorer read API',
    // The project's one version number (package.json, docs/asyncapi.yaml, the image tag):
    // test/version.test.ts fails when they disagree.
    version: '0.1.0',
    description:
      "A lead's current stage, its scores decayed to now, why (the rules that contribute, largest first) and its recent stage changes. Answers from Redis; scores are computed by the same engine the scorers use.\n\nEvery operation needs an API key (`Authorization: Bearer <key>`) except this document and the operational endpoints /metrics, /healthz and /readyz, which stay open for Kubernetes probes and Prometheus (keep the port inside the cluster network). Without a key, or with a malformed Authorization header, the answer is 401 with `WWW-Authenticate: Bearer`; a key that is not configured gets 403. When Redis is unavailable or does not answer within the request deadline, the answer is 503 with `Retry-After` and no detail of the failure.",
  },
  // Every operation needs a key unless it says `security: []`.
  security: [{ apiKey: [] }],
  // Where `npm start` and docker compose publish it, and its in-cluster Service (deploy/kubernetes).
  servers: [
    { url: 'http://127.0.0.1:8080', description: 'local: npm start or docker compose' },
    { url: 'http://lead-api.lead-scorer.svc:8080', description: 'inside the Kubernetes cluster' },
  ],
  paths: {
    '/leads/{leadId}': {
      get: {
        operationId: 'getLead',
        summary: "A lead's stage, scores now and why",
        description:
          'The stage, every score decayed to now, the rules that contribute (largest first), signals, the sales verdict and the last stage changes, with the model version that computed them.',
        parameters: [
          {
            name: 'leadId',
            in: 'path',
            required: true,
            description:
              'The lead id as used as the Kafka message key: 1-128 characters, no surrounding whitespace.',
            schema: { type: 'string', minLength: 1, maxLength: 128 },
          },
        ],
        responses: {
          '200': {
            description: 'The lead',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Lead' } } },
          },
          '400': {
            description: 'Malformed lead id',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '403': { $ref: '#/components/responses/Forbidden' },
          '404': {
            description: 'No such lead',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
          '500': { $ref: '#/components/responses/Internal' },
          '503': { $ref: '#/components/responses/Unavailable' },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        security: [],
        responses: {
          '200': { description: 'The OpenAPI document', content: { 'application/json': {} } },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'getHealth',
        summary: 'Liveness (Kubernetes livenessProbe); GET and HEAD only, no key',
        security: [],
        responses: {
          '200': {
            description: 'Alive',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } },
          },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
          '503': {
            description: 'Not alive: restart it',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } },
          },
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'getReadiness',
        summary:
          'Readiness (Kubernetes readinessProbe): Redis answered a PING within READY_TIMEOUT_MS; GET and HEAD only, no key',
        security: [],
        responses: {
          '200': {
            description: 'Ready',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } },
          },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
          '503': {
            description:
              'Not ready: Redis is unreachable or did not answer in time (the answer is reused for READY_CACHE_MS)',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } },
          },
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics; GET and HEAD only, no key',
        security: [],
        responses: {
          '200': { description: 'Prometheus text exposition format', content: { 'text/plain': {} } },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
        },
      },
    },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key as a bearer token. The service stores only SHA-256 hashes of the keys (API_KEY_HASHES or API_KEY_HASHES_FILE); `npm run api-key` makes a key and its hash.',
      },
    },
    responses: {
      Unauthorized: {
        description: 'No API key, or a malformed Authorization header',
        headers: {
          'WWW-Authenticate': { description: 'Bearer realm="lead-scorer"', schema: { type: 'string' } },
        },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      Forbidden: {
        description: 'The API key is not one this deployment accepts',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      MethodNotAllowed: {
        description: 'Wrong HTTP method; Allow lists the right ones',
        headers: { Allow: { schema: { type: 'string' } } },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      Internal: {
        description: 'An unexpected error; the body says nothing about it (it is logged)',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      Unavailable: {
        description:
          'Redis is unavailable or did not answer within the request deadline (REQUEST_TIMEOUT_MS); retry after the given time',
        headers: {
          'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
        },
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
    schemas: {
      Status: {
        type: 'object',
        required: ['status'],
        properties: { status: { type: 'string', enum: ['ok', 'unhealthy', 'ready', 'not ready'] } },
      },
      Error: {
        type: 'object',
        required: ['error', 'message'],
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
      Lead: {
        type: 'object',
        required: ['leadId', 'stage', 'scores', 'explanation', 'recentStageChanges', 'modelVersion', 'asOf'],
        properties: {
          leadId: { type: 'string' },
          stage: { type: 'string', description: 'The current stage (as last recorded and published).' },
          stageNow: {
            type: 'string',
            description:
              'The stage re-evaluation gives now; differs from stage only for the moment before the fading-leads service moves it.',
          },
          scores: {
            type: 'object',
            additionalProperties: { type: 'number' },
            description: 'Score per dimension, decayed to asOf.',
          },
          explanation: {
            type: 'object',
            properties: {
              contributions: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    ruleId: { type: 'string' },
                    dimension: { type: 'string' },
                    value: { type: 'number' },
                    description: { type: 'string' },
                  },
                },
              },
              fit: { type: 'array', items: { type: 'object' } },
              signals: {
                type: 'object',
                additionalProperties: { type: 'integer', description: 'epoch ms last seen' },
              },
              salesQualified: { type: 'boolean' },
              disqualified: { type: 'boolean' },
            },
          },
          recentStageChanges: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                eventId: { type: 'string' },
                sequence: { type: 'integer' },
                fromStage: { type: 'string' },
                toStage: { type: 'string' },
                cause: { type: 'object' },
                eventTime: { type: 'integer' },
                decidedAt: { type: 'integer' },
              },
            },
          },
          modelVersion: { type: 'string' },
          asOf: { type: 'integer', description: 'epoch ms the scores are computed at' },
        },
      },
    },
  },
} as const;
