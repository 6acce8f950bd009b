"""kafka-python and confluent-kafka, unmodified, under Debian's python3:
admin create/delete, produce with keys and headers, consume by assignment,
list offsets, and CreateTopics errors."""
import os
import time

import pytest

kafka = pytest.importorskip("kafka")
confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient, NewTopic as CkNewTopic  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from conftest import KAFKA_PYTHON_PROBE  # noqa: E402

PARTITIONS = 3
PER_PARTITION = 300


def kp_consume_all(bootstrap, topic, partitions, expect):
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", consumer_timeout_ms=5000)
    c.assign([TopicPartition(topic, p) for p in range(partitions)])
    got = {p: [] for p in range(partitions)}
    deadline = time.time() + 60
    while sum(len(v) for v in got.values()) < expect and time.time() < deadline:
        for m in c:
            got[m.partition].append(m)
            if sum(len(v) for v in got.values()) >= expect:
                break
    c.close()
    return got


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_kafka_python(broker, compression):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **KAFKA_PYTHON_PROBE)
    topic = f"kp-{compression or 'none'}"
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    assert topic in admin.list_topics()
    for acks in (1, "all"):
        p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks,
                          compression_type=compression)
        futures = [p.send(topic, key=b"k%d" % i, value=b"%s-%d" % (str(acks).encode(), i),
                          partition=i % PARTITIONS, headers=[("n", str(i).encode())])
                   for i in range(PER_PARTITION * PARTITIONS // 2)]
        p.flush(30)
        for f in futures:
            f.get(30)
        p.close()
    total = PER_PARTITION * PARTITIONS // 2 * 2
    got = kp_consume_all(broker.bootstrap, topic, PARTITIONS, total)
    assert sum(len(v) for v in got.values()) == total
    for part, msgs in got.items():
        assert [m.offset for m in msgs] == list(range(len(msgs)))
        first = [m for m in msgs if m.value.startswith(b"1-")]
        idx = [int(m.value.split(b"-")[1]) for m in first]
        assert idx == sorted(idx) and all(i % PARTITIONS == part for i in idx)
        for m in msgs:
            i = int(m.value.split(b"-")[1])
            assert m.key == b"k%d" % i and m.headers == [("n", str(i).encode())]
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    assert c.beginning_offsets(tps) == {tp: 0 for tp in tps}
    ends = c.end_offsets(tps)
    assert sum(ends.values()) == total
    times = c.offsets_for_times({tps[0]: 0})
    assert times[tps[0]].offset == 0
    future = c.offsets_for_times({tps[0]: int(time.time() * 1000) + 3_600_000})
    assert future[tps[0]] is None
    c.close()
    admin.delete_topics([topic])
    assert topic not in admin.list_topics()
    assert not os.path.exists(os.path.join(broker.data_dir, f"{topic}-0"))
    admin.close()


def test_confluent_kafka(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    fs = admin.create_topics([CkNewTopic("ck", 2, 1, config={"retention.ms": "3600000"})])
    fs["ck"].result(30)
    fs = admin.create_topics([CkNewTopic("ck-validate", 2, 1)], validate_only=True)
    fs["ck-validate"].result(30)
    md = admin.list_topics(timeout=10)
    assert "ck" in md.topics and "ck-validate" not in md.topics
    assert len(md.topics["ck"].partitions) == 2
    with pytest.raises(confluent_kafka.KafkaException) as e:
        admin.create_topics([CkNewTopic("ck-rf", 1, 3)])["ck-rf"].result(30)
    assert e.value.args[0].code() == confluent_kafka.KafkaError.INVALID_REPLICATION_FACTOR
    with pytest.raises(confluent_kafka.KafkaException) as e:
        admin.create_topics([CkNewTopic("bad name!", 1, 1)])["bad name!"].result(30)
    assert e.value.args[0].code() == confluent_kafka.KafkaError.TOPIC_EXCEPTION
    with pytest.raises(confluent_kafka.KafkaException) as e:
        admin.create_topics([CkNewTopic("ck", 1, 1)])["ck"].result(30)
    assert e.value.args[0].code() == confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS

    delivered = []
    p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                                  "linger.ms": 5, "compression.type": "lz4"})
    for i in range(2000):
        p.produce("ck", key=b"%d" % i, value=b"v" * (i % 100) + b"%d" % i, partition=i % 2,
                  headers={"i": str(i)},
                  on_delivery=lambda err, msg: delivered.append((err, msg.partition(), msg.offset())))
    assert p.flush(30) == 0
    assert all(err is None for err, _, _ in delivered)
    for part in (0, 1):
        offs = sorted(o for _, pp, o in delivered if pp == part)
        assert offs == list(range(1000))

    c = confluent_kafka.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                                  "enable.auto.commit": False, "enable.auto.offset.store": False})
    c.assign([confluent_kafka.TopicPartition("ck", part, confluent_kafka.OFFSET_BEGINNING)
              for part in (0, 1)])
    seen = {0: [], 1: []}
    deadline = time.time() + 60
    while sum(len(v) for v in seen.values()) < 2000 and time.time() < deadline:
        m = c.poll(1.0)
        if m is None or m.error():
            continue
        seen[m.partition()].append((m.offset(), m.key(), m.value(), m.headers()))
    for part in (0, 1):
        assert [o for o, _, _, _ in seen[part]] == list(range(1000))
        for o, k, v, h in seen[part]:
            i = int(k)
            assert i % 2 == part and v == b"v" * (i % 100) + k and h == [("i", k)]
    lo, hi = c.get_watermark_offsets(confluent_kafka.TopicPartition("ck", 0), timeout=10)
    assert (lo, hi) == (0, 1000)
    ts = c.offsets_for_times([confluent_kafka.TopicPartition("ck", 1, 0)], timeout=10)
    assert ts[0].offset == 0
    c.close()
    fs = admin.delete_topics(["ck"])
    fs["ck"].result(30)
    assert "ck" not in admin.list_topics(timeout=10).topics


def test_offsets_for_times_inside_compressed_batches(broker):
    """One compressed batch holding ten timestamps: ListOffsets finds the
    record, not just the batch, as Kafka does."""
    for codec in ("gzip", "zstd", "lz4", "snappy"):
        topic = f"times-{codec}"
        p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 200,
                                      "compression.type": codec})
        for i in range(10):
            p.produce(topic, value=b"%d" % i, partition=0, timestamp=1_000_000 + 1000 * i)
        assert p.flush(30) == 0
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
        tp = TopicPartition(topic, 0)
        found = c.offsets_for_times({tp: 1_000_000 + 5000})[tp]
        assert (found.offset, found.timestamp) == (5, 1_005_000), codec
        found = c.offsets_for_times({tp: 1_000_000 + 4500})[tp]
        assert (found.offset, found.timestamp) == (5, 1_005_000), codec
        c.close()
