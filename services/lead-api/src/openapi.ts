/** The read API's contract, served at GET /openapi.json. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Lead scorer read API',
    // The project's one version number (package.json, docs/asyncapi.yaml, the image tag):
    // test/version.test.ts fails when they disagree.
    version: '0.1.0',
    description:
      "A lead's current stage, its scores decayed to now, why (the rules that contribute, largest first) and its recent stage changes; a stage's leads by a score now or by entry time, every lead written since a time (incremental sync), up to 100 leads in one request, and the funnel. Answers from Redis; scores are computed by the same engine the scorers use. Which operation for which job: the README's section for integrators.\n\nEvery operation needs an API key (`Authorization: Bearer <key>`) except this document and the operational endpoints /metrics, /healthz and /readyz, which stay open for Kubernetes probes and Prometheus (keep the port inside the cluster network). Without a key, or with a malformed Authorization header, the answer is 401 with `WWW-Authenticate: Bearer`; a key that is not configured gets 403. When Redis is unavailable or does not answer within the request deadline, the answer is 503 with `Retry-After` and no detail of the failure.",
  },
  // Every operation needs a key unless it says `security: []`.
  security: [{ apiKey: [] }],
  // Where `npm start` and docker compose publish it, and its in-cluster Service (deploy/kubernetes).
  servers: [
    { url: 'http://127.0.0.1:8080', description: 'local: npm start or docker compose' },
    { url: 'http://lead-api.lead-scorer.svc:8080', description: 'inside the Kubernetes cluster' },
  ],
  paths: {
    '/leads': {
      get: {
        operationId: 'listLeads',
        summary: "A stage's leads by score or entry time, or every lead written since a time",
        description:
          "Two queries, one per job; give exactly one of `stage` and `updatedSince` (or only a `cursor`, which carries its query).\n\n**A stage's leads** (`stage`): ordered by a dimension's score now (`sort=score:<dimension>`, highest first by default) or by the time they entered the stage (`sort=enteredAt`, newest first by default). Scores fade with time but the order does not change by fading alone, so a cursor stays right however long a client takes.\n\n**Incremental sync** (`updatedSince`): every lead whose stored state was written at or after the time, oldest write first; a lead written again moves to the end, so a client that keeps following `nextCursor` (also when `hasMore` is false, to poll) misses no write. Each item says when it was written (`updatedAt`, the Redis server's clock).\n\nPages: follow `nextCursor` and pass nothing else (or the same parameters). A lead that stays where it is appears once in a paged listing; a lead that changes meanwhile may appear twice or not at all in a stage listing (use updatedSince for those).",
        parameters: [
          {
            name: 'stage',
            in: 'query',
            description:
              "A stage of the model (GET /stages lists them), e.g. mql. Every stage but the ladder's first (unqualified, where most leads are): GET /stages counts those, updatedSince finds them.",
            schema: { type: 'string', minLength: 1, maxLength: 64 },
          },
          {
            name: 'sort',
            in: 'query',
            description:
              'With stage: `score:<dimension>` (a dimension of the model, e.g. score:engagement) or `enteredAt`. Default: `enteredAt`.',
            schema: { type: 'string', pattern: '^(score:[A-Za-z0-9_.-]{1,64}|enteredAt)$' },
          },
          {
            name: 'order',
            in: 'query',
            description: 'With stage: desc (highest score, latest entry first; the default) or asc.',
            schema: { type: 'string', enum: ['asc', 'desc'] },
          },
          {
            name: 'updatedSince',
            in: 'query',
            description: 'An ISO 8601 time with a zone (2026-06-01T08:00:00Z) or epoch milliseconds.',
            schema: { type: 'string', minLength: 1, maxLength: 40 },
          },
          {
            name: 'limit',
            in: 'query',
            description: 'Leads per page, 1-200; default 50.',
            schema: { type: 'integer', minimum: 1, maximum: 200 },
          },
          {
            name: 'cursor',
            in: 'query',
            description: 'nextCursor of the previous page: opaque.',
            schema: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        ],
        responses: {
          '200': {
            description: 'A page of leads',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/LeadPage' } } },
          },
          '400': {
            description: 'Bad parameters: the message names the parameter',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '403': { $ref: '#/components/responses/Forbidden' },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
          '500': { $ref: '#/components/responses/Internal' },
          '503': { $ref: '#/components/responses/Unavailable' },
        },
      },
    },
    '/leads:batchGet': {
      post: {
        operationId: 'batchGetLeads',
        summary: 'Up to 100 leads in one request',
        description:
          'Each lead as GET /leads/{leadId} answers it; ids not found are listed in `notFound`. Duplicated ids are answered once.',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchGetRequest' } } },
        },
        responses: {
          '200': {
            description: 'The leads found',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchGetResponse' } } },
          },
          '400': {
            description: 'Not a JSON object with 1-100 lead ids',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '403': { $ref: '#/components/responses/Forbidden' },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
          '413': {
            description: 'Body over 64 KiB',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '415': {
            description: 'Content-Type is not application/json',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '500': { $ref: '#/components/responses/Internal' },
          '503': { $ref: '#/components/responses/Unavailable' },
        },
      },
    },
    '/stages': {
      get: {
        operationId: 'getStages',
        summary: 'The funnel: how many leads are in each stage now',
        description:
          'One count per stage of the model, ladder order, then disqualified. Cheap enough to poll every few seconds: one round trip to Redis, no lead read.',
        parameters: [],
        responses: {
          '200': {
            description: 'The funnel',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Funnel' } } },
          },
          '400': {
            description: 'An unknown query parameter',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '403': { $ref: '#/components/responses/Forbidden' },
          '405': { $ref: '#/components/responses/MethodNotAllowed' },
          '500': { $ref: '#/components/responses/Internal' },
          '503': { $ref: '#/components/responses/Unavailable' },
        },
      },
    },
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
      LeadSummary: {
        type: 'object',
        additionalProperties: false,
        required: ['leadId', 'stage', 'scores', 'sequence', 'stageEnteredAt'],
        properties: {
          leadId: { type: 'string' },
          stage: { type: 'string' },
          scores: {
            type: 'object',
            additionalProperties: { type: 'number' },
            description: 'Score per dimension, decayed to asOf.',
          },
          sequence: { type: 'integer', description: 'The sequence of its last stage change (0: none yet).' },
          stageEnteredAt: {
            type: ['integer', 'null'],
            description:
              'epoch ms it entered its stage (its last stage change), null when it never changed stage',
          },
          updatedAt: {
            type: 'integer',
            description:
              'updatedSince queries: epoch ms of the write that put it on this page (Redis server clock)',
          },
        },
      },
      LeadPage: {
        type: 'object',
        additionalProperties: false,
        required: ['items', 'hasMore', 'nextCursor', 'asOf', 'modelVersion'],
        properties: {
          items: { type: 'array', items: { $ref: '#/components/schemas/LeadSummary' } },
          hasMore: { type: 'boolean', description: 'Whether another page follows now.' },
          nextCursor: {
            type: ['string', 'null'],
            description:
              'Where the next page starts. A stage listing: null at its end. updatedSince: never null, keep it to poll for later writes.',
          },
          asOf: { type: 'integer', description: 'epoch ms the scores are computed at' },
          modelVersion: { type: 'string' },
        },
      },
      BatchGetRequest: {
        type: 'object',
        additionalProperties: false,
        required: ['leadIds'],
        properties: {
          leadIds: {
            type: 'array',
            minItems: 1,
            maxItems: 100,
            items: { type: 'string', minLength: 1, maxLength: 128 },
          },
        },
      },
      BatchGetResponse: {
        type: 'object',
        additionalProperties: false,
        required: ['leads', 'notFound'],
        properties: {
          leads: { type: 'array', items: { $ref: '#/components/schemas/Lead' } },
          notFound: { type: 'array', items: { type: 'string' } },
        },
      },
      Funnel: {
        type: 'object',
        additionalProperties: false,
        required: ['stages', 'total', 'asOf', 'modelVersion'],
        properties: {
          stages: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['stage', 'leads'],
              properties: { stage: { type: 'string' }, leads: { type: 'integer', minimum: 0 } },
            },
          },
          total: { type: 'integer', minimum: 0 },
          asOf: { type: 'integer' },
          modelVersion: { type: 'string' },
        },
      },
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
