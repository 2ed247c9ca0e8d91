#!/usr/bin/python3
"""A producer and a consumer built only from Confluent's own Python client (Debian's
python3-confluent-kafka: librdkafka plus its schema-registry AvroSerializer/AvroDeserializer),
driven by test/interop/confluent-python.int.test.ts to show that clients we did not write work
with our topics and registry unmodified. Nothing here knows our code.

  produce  serializes each record of --records (a JSON array) with AvroSerializer, given the
           text of the .avsc file, and produces it keyed by --key with the murmur2_random
           partitioner; prints {"eventId", "partition", "offset", "schemaId"} per record.
  consume  reads --topic from the start with a fresh group and prints the first --count records
           keyed --key, values decoded by AvroDeserializer (writer schema from the registry).

Prints one JSON object per line. A registry refusal prints {"error": {...}} and exits 2; a
consume that found too few records before --timeout exits 3.
"""
import argparse
import json
import sys
import time
from datetime import datetime

from confluent_kafka import DeserializingConsumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, StringDeserializer


def emit(obj):
    print(json.dumps(obj, default=_json_default), flush=True)


def _json_default(value):
    # fastavro decodes timestamp-millis into aware datetimes; the contract speaks epoch ms.
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def produce(args):
    registry = SchemaRegistryClient({"url": args.registry})
    with open(args.schema, encoding="utf-8") as f:
        schema_text = f.read()
    serializer = AvroSerializer(
        registry, schema_text, conf={"auto.register.schemas": args.auto_register}
    )
    # librdkafka's default is consistent_random (CRC32); the contract asks for murmur2.
    producer = Producer(
        {"bootstrap.servers": args.bootstrap, "partitioner": "murmur2_random", "acks": "all"}
    )
    delivered = []

    def on_delivery(err, msg):
        delivered.append((err, msg))

    ctx = SerializationContext(args.topic, MessageField.VALUE)
    sent = []
    for record in json.loads(args.records):
        value = serializer(record, ctx)
        sent.append((record["eventId"], int.from_bytes(value[1:5], "big")))
        producer.produce(args.topic, key=args.key.encode("utf-8"), value=value, on_delivery=on_delivery)
    if producer.flush(args.timeout) > 0:
        emit({"error": {"message": "messages not delivered before the timeout"}})
        return 2
    for (event_id, schema_id), (err, msg) in zip(sent, delivered):
        if err is not None:
            emit({"error": {"message": str(err)}})
            return 2
        emit({"eventId": event_id, "partition": msg.partition(), "offset": msg.offset(), "schemaId": schema_id})
    return 0


def consume(args):
    registry = SchemaRegistryClient({"url": args.registry})
    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(registry),
        }
    )
    consumer.subscribe([args.topic])
    found = 0
    deadline = time.monotonic() + args.timeout
    try:
        while found < args.count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.key() != args.key:
                continue
            emit({"key": msg.key(), "partition": msg.partition(), "offset": msg.offset(), "value": msg.value()})
            found += 1
    finally:
        consumer.close()
    return 0 if found >= args.count else 3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("produce", "consume"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True)
        p.add_argument("--registry", required=True, help="Confluent-compatible API base URL")
        p.add_argument("--topic", required=True)
        p.add_argument("--key", required=True)
        p.add_argument("--timeout", type=float, default=30.0, help="seconds")
    produce_args = sub.choices["produce"]
    produce_args.add_argument("--schema", required=True, help="the .avsc file")
    produce_args.add_argument("--records", required=True, help="JSON array of records")
    produce_args.add_argument(
        "--no-auto-register", dest="auto_register", action="store_false",
        help="look the schema up instead of registering it (the client's default is to register)",
    )
    consume_args = sub.choices["consume"]
    consume_args.add_argument("--group", required=True)
    consume_args.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    try:
        return produce(args) if args.command == "produce" else consume(args)
    except SchemaRegistryError as e:
        emit({"error": {"status": e.http_status_code, "code": e.error_code, "message": e.error_message}})
        return 2


if __name__ == "__main__":
    sys.exit(main())
