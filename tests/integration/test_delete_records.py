"""DeleteRecords from confluent-kafka's AdminClient and kafka-python's
KafkaAdminClient (the PyPI clients of scripts/install-clients.sh): the low
watermark moves to the offset asked for (-1: the end), the segments wholly
below it go, consumers from the beginning start there, and an offset above
the high watermark or an unknown partition is refused as Kafka refuses it."""
import glob
import json
import os
import subprocess
import sys

import pytest

kafka = pytest.importorskip("kafka")
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from conftest import KAFKA_PYTHON_PROBE  # noqa: E402

# kafka-python probes the broker's versions with a 2 s deadline, which a
# sanitized broker on a busy machine can miss.

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS_DIR = os.environ.get("SLUICE_CLIENTS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sluice", "clients")
VENV_PYTHON = os.path.join(CLIENTS_DIR, "python", "venv", "bin", "python")
RECORDS = 200
OUT_OF_RANGE = {"confluent-kafka": "OFFSET_OUT_OF_RANGE", "kafka-python": "OffsetOutOfRangeError"}
UNKNOWN = {"confluent-kafka": "_NOENT", "kafka-python": "UnknownTopicOrPartitionError"}


def delete_records(client, bootstrap, topic, partition, offset):
    if not os.path.exists(VENV_PYTHON):
        pytest.skip(f"no PyPI client venv in {CLIENTS_DIR}: run scripts/install-clients.sh")
    out = subprocess.run([VENV_PYTHON, os.path.join(HERE, "delete_records_clients.py"), client,
                          bootstrap, topic, str(partition), str(offset)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def setup_topic(bootstrap, topic):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"segment.bytes": "4000"})])
    admin.close()
    p = KafkaProducer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE, acks="all", linger_ms=0, batch_size=300)
    for f in [p.send(topic, value=b"%06d" % i + b"y" * 94, partition=0) for i in range(RECORDS)]:
        f.get(30)
    p.close()


def beginning(bootstrap, topic):
    c = KafkaConsumer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    tp = TopicPartition(topic, 0)
    start = c.beginning_offsets([tp])[tp]
    c.close()
    return start


def first_record(bootstrap, topic):
    c = KafkaConsumer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=10000)
    c.assign([TopicPartition(topic, 0)])
    m = next(iter(c))
    c.close()
    return m


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_delete_records_clients(make_broker, client):
    broker = make_broker({"log.segment.delete.delay.ms": "0"})
    topic = f"dr-{client}"
    setup_topic(broker.bootstrap, topic)
    segments = glob.glob(os.path.join(broker.data_dir, f"{topic}-0", "*.log"))
    assert len(segments) > 3

    assert delete_records(client, broker.bootstrap, topic, 0, 101) == {"low_watermark": 101}
    assert beginning(broker.bootstrap, topic) == 101
    m = first_record(broker.bootstrap, topic)
    assert m.offset == 101 and m.value.startswith(b"000101")
    left = sorted(glob.glob(os.path.join(broker.data_dir, f"{topic}-0", "*.log")))
    assert int(os.path.basename(left[0])[:20]) <= 101 < int(os.path.basename(left[1])[:20])

    assert delete_records(client, broker.bootstrap, topic, 0, RECORDS + 1) == \
        {"error": OUT_OF_RANGE[client]}
    # librdkafka finds the partition missing from Metadata before it asks.
    assert delete_records(client, broker.bootstrap, topic, 7, 0) == {"error": UNKNOWN[client]}

    assert delete_records(client, broker.bootstrap, topic, 0, -1) == {"low_watermark": RECORDS}
    assert beginning(broker.bootstrap, topic) == RECORDS
    assert broker.stop() == 0
    broker.start()
    assert beginning(broker.bootstrap, topic) == RECORDS
