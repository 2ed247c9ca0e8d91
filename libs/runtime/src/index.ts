export { backoffMs } from './backoff.ts';
export { createKafka, createRedis, kafkaSecurity, type RedisClient } from './clients.ts';
export { type CommonEnv, checkCommon, commonEnvSchema, loadEnv, redisTls, registryAuth } from './config.ts';
export {
  type BatchProcessor,
  type InboundMessage,
  KafkajsSource,
  type KafkajsSourceOptions,
  type MessageSource,
} from './consumer.ts';
export { type OpsServer, type Route, routeMatcher, startOpsServer, UNMATCHED_ROUTE } from './http.ts';
export { createLogger, type Logger } from './logger.ts';
export { CounterTally, createMetrics, type HttpLabel, type Metrics } from './metrics.ts';
export {
  type RunningService,
  runMain,
  type ServiceContext,
  type ServiceParts,
  type ServiceSpec,
  startService,
} from './service.ts';
export { createTracing, type HeaderCarrier, passThrough, type Tracing } from './tracing.ts';
export { type OtelEnv, tracesUrl, tracingFromEnv } from './tracing-config.ts';
