"""DeleteRecords through a modern client's admin API, run under the PyPI
client venv (Debian's confluent-kafka 1.7 and kafka-python 2.0 lack it):
`delete_records_clients.py CLIENT BOOTSTRAP TOPIC PARTITION OFFSET` prints
one JSON line, {"low_watermark": N} or {"error": "..."}."""
import json
import sys


def confluent(bootstrap, topic, partition, offset):
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    tp = TopicPartition(topic, partition, offset)
    future = admin.delete_records([tp], request_timeout=30, operation_timeout=30)[tp]
    try:
        return {"low_watermark": future.result(timeout=60).low_watermark}
    except KafkaException as e:
        return {"error": e.args[0].name()}


def kafka_python(bootstrap, topic, partition, offset):
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        result = admin.delete_records({TopicPartition(topic, partition): offset}, timeout_ms=30000)
        meta = result[TopicPartition(topic, partition)]
        low = meta["low_watermark"] if isinstance(meta, dict) else meta.low_watermark
        return {"low_watermark": low}
    except KafkaError as e:
        return {"error": type(e).__name__}
    finally:
        admin.close()


def main():
    client, bootstrap, topic, partition, offset = sys.argv[1:6]
    run = confluent if client == "confluent-kafka" else kafka_python
    print(json.dumps(run(bootstrap, topic, int(partition), int(offset))))


if __name__ == "__main__":
    main()
