export { clockOf, loadScoringEnv, type ScoringEnv, scoringEnvSchema } from './config.ts';
export { FadingLoop, type FadingLoopOptions } from './fading.ts';
export { runMain } from './main-runner.ts';
export { createScoringProcessor, type ProcessorDeps } from './processor.ts';
export { createStageChangePublisher, type StageChangePublisher } from './publisher.ts';
export { OutboxRelay, type OutboxRelayOptions } from './relay.ts';
export {
  type ConsumerServiceSpec,
  type RunningService,
  startConsumerService,
  startFadingService,
  startRelayService,
} from './service.ts';
export { type Wiring, wire } from './wiring.ts';
