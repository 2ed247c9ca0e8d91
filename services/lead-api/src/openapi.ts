/** The read API's contract, served at GET /openapi.json. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Lead scorer read API',
    // The project's one version number (package.json, docs/asyncapi.yaml, the image tag):
    // test/version.test.ts fails when they disagree.
    version: '0.1.0',
    description:
      "A lead's current stage, its scores decayed to now, why (the rules that contribute, largest first) and its recent stage changes. Answers from Redis; scores are computed by the same engine the scorers use.",
  },
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
          '404': {
            description: 'No such lead',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        responses: { '200': { description: 'The OpenAPI document', content: { 'application/json': {} } } },
      },
    },
  },
  components: {
    schemas: {
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
