"""Idempotent producers under faults: a proxy between the client and the
broker drops connections after forwarding a Produce request but before its
response comes back (dropping_proxy.py), so the client retries batches the
broker already wrote; librdkafka (Debian's confluent-kafka) with
enable.idempotence=true produces numbered records through it, and every
record must be in the log exactly once, in order per partition (sarama with
Producer.Idempotent does the same in tests/compat/test_modern_clients.py). Then the
broker is killed (kill -9) during an idempotent stream and restarted: the
producer state comes back from its snapshot and the batches after it, so a
batch retried after the restart is still de-duplicated. Idle producers
expire; kcat's idempotent batches carry a producer id."""
import os
import struct
import threading
import time

import pytest

from conftest import run, scaled
from dropping_proxy import DroppingProxy
import kafka_wire

HERE = os.path.dirname(os.path.abspath(__file__))
PARTITIONS = 3
RECORDS = scaled(100_000)
PRODUCE_TIMEOUT_S = 180
# librdkafka meets a lost response by waiting for its other requests to
# drain (request.timeout.ms, lowered here) before it goes on: fewer drops.
CONFLUENT_DROP_EVERY = 37
CONFLUENT_DROPS_MAX = 8


@pytest.fixture
def proxied(make_broker):
    """A broker that advertises a DroppingProxy in front of it."""
    proxy = DroppingProxy(CONFLUENT_DROP_EVERY, CONFLUENT_DROPS_MAX)
    b = make_broker({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    proxy.upstream_port = b.port
    proxy.start()
    yield b, proxy
    proxy.stop()


def create_topic(bootstrap, name, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def partition_values(bootstrap, topic, partition):
    """Every record value of the partition (as ints), in offset order."""
    return [int(v) for batch in kafka_wire.partition_batches(bootstrap, topic, partition)
            for v in kafka_wire.batch_values(batch)]


def expect_exactly_once(bootstrap, topic, count):
    for p in range(PARTITIONS):
        got = partition_values(bootstrap, topic, p)
        want = list(range(p, count, PARTITIONS))
        if got != want:
            dup = len(got) - len(set(got))
            missing = sorted(set(want) - set(got))[:10]
            pytest.fail(f"partition {p}: {len(got)} records for {len(want)} ({dup} duplicates, "
                        f"first missing {missing}, out of order: {got != sorted(got)})")


def confluent_produce(bootstrap, topic, count, extra=None):
    """Debian's confluent-kafka (librdkafka 2.0.2), idempotent; returns the
    delivery errors."""
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
            "linger.ms": 2, "batch.num.messages": 500, "message.timeout.ms": 120000,
            "retry.backoff.ms": 20, "socket.timeout.ms": 10000, "request.timeout.ms": 5000}
    conf.update(extra or {})
    p = Producer(conf)
    errors = []

    def delivered(err, _msg):
        if err:
            errors.append(err)
    for i in range(count):
        while True:
            try:
                p.produce(topic, value=b"%d" % i, partition=i % PARTITIONS, on_delivery=delivered)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(PRODUCE_TIMEOUT_S)
    assert left == 0, f"{left} records never delivered"
    return errors


def test_confluent_idempotent_through_dropped_connections(proxied):
    b, proxy = proxied
    create_topic(b.bootstrap, "idem-ck", PARTITIONS)
    errors = confluent_produce(f"127.0.0.1:{proxy.port}", "idem-ck", RECORDS)
    assert not errors, errors[:3]
    assert proxy.drops > 0, "no connection was dropped: the test proved nothing"
    expect_exactly_once(b.bootstrap, "idem-ck", RECORDS)
    assert b.metrics()["sluice_produce_duplicates_total"] > 0


# ---- a crash during an idempotent stream ----

def idempotent_batch(values, producer_id, epoch, seq):
    return kafka_wire.record_batch(values, producer=(producer_id, epoch, seq))


def init_producer_id(conn):
    """InitProducerId v0 (null transactional id): (error, producer id, epoch)."""
    conn.request(22, 0, struct.pack(">hi", -1, 60000))
    r = conn.response()
    err, pid, epoch = struct.unpack(">hqh", r[8:20])
    return err, pid, epoch


def test_retry_after_kill9_is_deduplicated(make_broker):
    """A batch written just before a kill -9 (no snapshot covers it: the
    state is rebuilt from the log) is answered with its original offset when
    the producer retries it after the restart."""
    b = make_broker()
    create_topic(b.bootstrap, "idem-crash", 1)
    conn = kafka_wire.Conn(b.bootstrap)
    err, pid, epoch = init_producer_id(conn)
    assert err == 0 and pid >= 0 and epoch == 0
    offsets = []
    for seq in range(0, 30, 3):
        batch = idempotent_batch([b"%d" % (seq + k) for k in range(3)], pid, epoch, seq)
        err, base = kafka_wire.produce_v3(conn, "idem-crash", 0, batch, acks=-1)
        assert err == 0
        offsets.append(base)
    conn.close()
    b.kill9()
    b.start()
    conn = kafka_wire.Conn(b.bootstrap)
    for seq, base in ((27, offsets[-1]), (24, offsets[-2]), (15, offsets[5])):
        batch = idempotent_batch([b"%d" % (seq + k) for k in range(3)], pid, epoch, seq)
        assert kafka_wire.produce_v3(conn, "idem-crash", 0, batch, acks=-1) == (0, base)
    # The next sequence goes on; a gap is refused (45: OUT_OF_ORDER_SEQUENCE_NUMBER).
    batch = idempotent_batch([b"30"], pid, epoch, 30)
    assert kafka_wire.produce_v3(conn, "idem-crash", 0, batch, acks=-1) == (0, 30)
    batch = idempotent_batch([b"40"], pid, epoch, 40)
    assert kafka_wire.produce_v3(conn, "idem-crash", 0, batch, acks=-1)[0] == 45
    conn.close()
    assert partition_values(b.bootstrap, "idem-crash", 0) == list(range(31))
    m = b.metrics()
    assert m["sluice_produce_duplicates_total"] == 3
    assert m["sluice_produce_sequence_errors_total"] == 1
    assert m["sluice_producer_ids"] == 1


def test_confluent_stream_survives_kill9(make_broker):
    """librdkafka streams idempotently while the broker is killed and
    restarted on the same port: every record once, in order."""
    b = make_broker()
    create_topic(b.bootstrap, "idem-kill", PARTITIONS)
    count = RECORDS
    result = {}

    def stream():
        result["errors"] = confluent_produce(b.bootstrap, "idem-kill", count,
                                             {"linger.ms": 5, "batch.num.messages": 200})
    t = threading.Thread(target=stream)
    t.start()
    deadline = time.time() + 30
    while time.time() < deadline:
        conn = kafka_wire.Conn(b.bootstrap)
        err, _ts, end = kafka_wire.list_offsets_v7(conn, "idem-kill", 0, -1)
        conn.close()
        if end > count // (4 * PARTITIONS):
            break
        time.sleep(0.02)
    b.kill9()
    assert end < count // PARTITIONS, "the stream was over before the kill"
    b.start()
    t.join(PRODUCE_TIMEOUT_S + 10)
    assert not t.is_alive()
    assert not result["errors"], result["errors"][:3]
    expect_exactly_once(b.bootstrap, "idem-kill", count)


def test_producers_expire(make_broker):
    """A producer idle for producer.id.expiration.ms is forgotten (checked
    every producer.id.expiration.check.interval.ms, on the next append): its
    next batch may then start anywhere, as one the partition never saw."""
    b = make_broker({"producer.id.expiration.ms": "1000",
                     "producer.id.expiration.check.interval.ms": "100"})
    create_topic(b.bootstrap, "idem-expire", 1)
    conn = kafka_wire.Conn(b.bootstrap)
    _, old, _ = init_producer_id(conn)
    _, other, _ = init_producer_id(conn)
    assert kafka_wire.produce_v3(conn, "idem-expire", 0, idempotent_batch([b"a"], old, 0, 0), acks=-1)[0] == 0
    # Known: a gap is refused (45: OUT_OF_ORDER_SEQUENCE_NUMBER).
    assert kafka_wire.produce_v3(conn, "idem-expire", 0, idempotent_batch([b"b"], old, 0, 5), acks=-1)[0] == 45
    time.sleep(1.2)
    assert kafka_wire.produce_v3(conn, "idem-expire", 0, idempotent_batch([b"c"], other, 0, 0), acks=-1)[0] == 0
    assert b.metrics()["sluice_producer_ids"] == 1
    assert kafka_wire.produce_v3(conn, "idem-expire", 0, idempotent_batch([b"b"], old, 0, 5), acks=-1) == (0, 2)
    conn.close()


def test_kcat_idempotent(broker):
    """kcat (Debian's librdkafka 2.0.2) with enable.idempotence=true: its
    batches carry a producer id, every line once."""
    create_topic(broker.bootstrap, "idem-kcat", 1)
    lines = b"".join(b"%d\n" % i for i in range(1000))
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", "idem-kcat", "-p", "0",
         "-X", "enable.idempotence=true"], input_bytes=lines)
    batches = kafka_wire.partition_batches(broker.bootstrap, "idem-kcat", 0)
    assert batches and all(struct.unpack(">q", x[43:51])[0] >= 0 for x in batches)
    assert partition_values(broker.bootstrap, "idem-kcat", 0) == list(range(1000))
