/**
 * The same three services from testcontainers, for machines with a container runtime.
 * Images match docker-compose.yml. Returns undefined when no runtime answers (unless
 * `required`), so the caller falls back to the local stack.
 */
export interface ContainerStack {
  endpoints: { kafkaBrokers: string; registryUrl: string; redisUrl: string };
  stop: () => Promise<void>;
}

export const IMAGES = {
  kafka: 'apache/kafka:4.4.0',
  registry: 'apicurio/apicurio-registry:3.0.9',
  redis: 'redis:7.4-alpine',
} as const;

export async function startContainers(required: boolean): Promise<ContainerStack | undefined> {
  const tc = await import('testcontainers');
  try {
    await tc.getContainerRuntimeClient();
  } catch (err) {
    if (required) throw err;
    return undefined;
  }
  const network = await new tc.Network().start();
  // Kafka advertises the host-mapped port, so the broker listens on a fixed host port.
  const kafkaPort = 39092;
  const kafka = await new tc.GenericContainer(IMAGES.kafka)
    .withNetwork(network)
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/))
    .start();
  const registry = await new tc.GenericContainer(IMAGES.registry)
    .withExposedPorts(8080)
    // Canonical matching as scripts/infra/registry.ts explains (CANONICAL_HASH_PROPERTY).
    .withEnvironment({
      APICURIO_RULES_GLOBAL_COMPATIBILITY: 'BACKWARD',
      APICURIO_CCOMPAT_USE_CANONICAL_HASH: 'true',
    })
    .withWaitStrategy(tc.Wait.forHttp('/health/ready', 8080))
    .start();
  const redis = await new tc.GenericContainer(IMAGES.redis).withExposedPorts(6379).start();
  const registryBase = `http://${registry.getHost()}:${registry.getMappedPort(8080)}`;
  await fetch(`${registryBase}/apis/ccompat/v7/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  return {
    endpoints: {
      kafkaBrokers: `127.0.0.1:${kafkaPort}`,
      registryUrl: `${registryBase}/apis/ccompat/v7`,
      redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    },
    stop: async () => {
      await Promise.all([kafka.stop(), registry.stop(), redis.stop()]);
      await network.stop();
    },
  };
}
