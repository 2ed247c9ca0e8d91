#!/bin/bash
# docker compose's broker (apache/kafka image): single-node KRaft with
#   INTERNAL  SASL_SSL, SCRAM-SHA-512, kafka:9092     the services and the broker itself
#   EXTERNAL  PLAINTEXT, published on 127.0.0.1:19092  tools on this machine, as the local stack
#   CONTROLLER PLAINTEXT, inside the container
# the same broker settings as scripts/infra/sasl-ssl-kafka.ts, which the secure integration test
# runs. SCRAM users are written into the metadata log when the storage is formatted (first start):
# `admin` (the broker's own, inter-broker) and `lead-scorer` (the services). No authorizer: the
# compose stack has one tenant; deploy/README.md "Security" has the ACLs for a shared cluster.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_SASL_PASSWORD:?}" "${KAFKA_KEYSTORE_PASSWORD:?}"
bin=${KAFKA_HOME:-/opt/kafka}/bin
props=${KAFKA_PROPERTIES:-/tmp/server.properties}
data=${KAFKA_DATA_DIR:-/var/lib/kafka/data}
certs=${CERTS_DIR:-/certs}
cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=INTERNAL://:9092,EXTERNAL://:19092,CONTROLLER://localhost:9093
advertised.listeners=INTERNAL://kafka:9092,EXTERNAL://127.0.0.1:19092
listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.keystore.type=PKCS12
ssl.keystore.location=${certs}/server.p12
ssl.keystore.password=${KAFKA_KEYSTORE_PASSWORD}
ssl.truststore.type=PEM
ssl.truststore.location=${certs}/ca.crt
ssl.enabled.protocols=TLSv1.3,TLSv1.2
log.dirs=${data}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
chmod 600 "$props"
if [ ! -f "$data/meta.properties" ]; then
  "$bin/kafka-storage.sh" format -t "$("$bin/kafka-storage.sh" random-uuid)" -c "$props" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]" \
    --add-scram "SCRAM-SHA-512=[name=lead-scorer,password=${KAFKA_SASL_PASSWORD}]"
fi
exec "$bin/kafka-server-start.sh" "$props"
