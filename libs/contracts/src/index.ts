/**
 * @leadscorer/contracts: the event contracts of the lead scorer. Schemas live in schemas/*.avsc
 * (the source of truth); everything here is built on them. See docs/contracts.md.
 *
 * How a consumer service uses it (the clock is read once per message, at the edge):
 *
 *   const catalogue = createCatalogue({ prefix: config.topicPrefix });
 *   await ensureTopics(kafkaAdmin, catalogue.specs());                  // at start, idempotent
 *   const serde = createSerde({ registry: createRegistryClient(config.registryUrl), catalogue });
 *   const deadLetters = createDeadLetterPublisher({ producer, service: 'scorer-web' });
 *
 *   eachMessage: async ({ topic, partition, message }) => {
 *     const now = Date.now();
 *     try {
 *       const { event } = await serde.decode(topic, message, now);      // poison -> throws
 *       if (event) await apply(event);
 *     } catch (err) {
 *       if (!isPoison(err)) throw err;  // REGISTRY_UNAVAILABLE etc.: retry the same message
 *       await deadLetters.publish({ topic, partition, ...message }, err, now);
 *     }
 *     // commit only now: the message is applied or safely in the dead-letter topic
 *   }
 *
 * A producer: `const m = await serde.encode('lead.stage-changed.v1', record, now)` then
 * `producer.send({ topic: m.topic, messages: [{ key: m.key, value: m.value }] })`.
 */

export {
  type BreakingChange,
  type CompatibilityReport,
  type CompatibilityStatus,
  checkCompatibility,
  findBreakingChanges,
  formatProblems,
  parseAvro,
  registerSchemas,
  type SchemaToRegister,
} from './compatibility.ts';
export {
  CONNECT_ERROR_HEADER_DOCS,
  CONNECT_ERROR_HEADERS,
  createDeadLetterPublisher,
  type DeadLetter,
  type DeadLetterOptions,
  type DeadLetterPublisher,
  type DeadLetterReason,
  DLQ_HEADER_DOCS,
  DLQ_HEADERS,
  deadLetterMessage,
  headerText,
  REPLAY_HEADERS,
  readDeadLetter,
  replayMessage,
  type SourceMessage,
} from './dead-letter.ts';
export { EXAMPLES } from './examples.ts';
export * from './generated/index.ts';
export {
  causeKindSymbol,
  fieldsFor,
  mapToScoringEvent,
  type ScoringEvent,
  type TransitionLike,
  type TransitionMeta,
  toStageChangedRecord,
  toStageSnapshotRecord,
} from './mapping.ts';
export {
  type CompatibilityLevel,
  createRegistryAdmin,
  type RegistryAdmin,
  type RegistryAdminOptions,
  type SubjectVersion,
} from './registry-admin.ts';
export {
  createRegistryClient,
  createSerde,
  type Decoded,
  type EncodedMessage,
  type RegistryAuth,
  type Serde,
  type SerdeOptions,
} from './serde.ts';
export { ensureTopics, type TopicResult } from './topic-admin.ts';
export {
  type Catalogue,
  type CatalogueOptions,
  type CatalogueTopic,
  type CleanupPolicy,
  CONTROL_TOPICS,
  type ControlTopicName,
  createCatalogue,
  DEAD_LETTER,
  INPUT_TOPICS,
  type InputTopicName,
  OUTPUT_TOPICS,
  type OutputTopicName,
  type ScoringEventType,
  type TopicDefinition,
  type TopicName,
  type TopicSpec,
} from './topics.ts';
export {
  DEFAULT_MAX_FUTURE_SKEW_MS,
  MAX_ID_LENGTH,
  MIN_EVENT_TIME,
  type ValidationOptions,
  validateRecord,
} from './validation.ts';
export {
  encodeFrame,
  type Frame,
  type FrameLimits,
  HEADER_BYTES,
  MAGIC_BYTE,
  parseFrame,
  type RawMessage,
} from './wire.ts';
