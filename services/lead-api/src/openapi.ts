/** The read API's contract, served at GET /openapi.json. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Lead scorer read API',
    version: '1.0.0',
    description:
      "A lead's current stage, its scores decayed to now, why (the rules that contribute, largest first) and its recent stage changes. Answers from Redis; scores are computed by the same engine the scorers use.",
  },
  paths: {
    '/leads/{leadId}': {
      get: {
        operationId: 'getLead',
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
