export { runMain } from '@leadscorer/runtime';
export { clockOf, loadScoringEnv, type ScoringEnv, scoringEnvSchema } from './config.ts';
export { CONSUMERS, type ConsumerName, consumerSpec, defaultGroup } from './consumers.ts';
export {
  ErasedLeads,
  type ErasureDeps,
  type ErasureResult,
  type ErasureSource,
  erasedKey,
  eraseLead,
  erasureAuditKey,
} from './erasure.ts';
export { FadingLoop, type FadingLoopOptions } from './fading.ts';
export {
  ActiveGeneration,
  type GenerationRecord,
  generationKey,
  generationModel,
  generationPrefix,
  readGeneration,
} from './generation.ts';
export { PartitionTracker, type PartitionTrackerOptions } from './partitions.ts';
export { createScoringProcessor, type ProcessorDeps, type ProcessorGeneration } from './processor.ts';
export { AUTO_HOLD_MS, resolvePublishHold } from './publish-hold.ts';
export { BackgroundPublisher, type PublishSource, StageChangePublisher } from './publisher.ts';
export { OutboxRelay, type OutboxRelayOptions } from './relay.ts';
export {
  type ConsumerServiceSpec,
  type ScoringService,
  startConsumerService,
  startFadingService,
  startRelayService,
} from './service.ts';
export { KafkaDeadLetterSink, KafkaStageChangeSink } from './sinks.ts';
export {
  LEASE_MS,
  StageSnapshotWriter,
  type StageSnapshotWriterOptions,
  sendStageTombstones,
  snapshotProducer,
} from './snapshots.ts';
export { StateGuard, type StateGuardOptions } from './state-guard.ts';
export { readModel, readModelFile, type ScoringGeneration, type Wiring, wire } from './wiring.ts';
