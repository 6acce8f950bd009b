"""flush.messages=1, the durable acknowledgement, with real clients
(confluent-kafka): 16 concurrent producers are acknowledged through group
commits (the fsync metric's appends per fsync > 1); kill -9 under acks=all
load loses nothing that was acknowledged; flush.messages=N and flush.ms
flush without holding answers; flush.messages is no longer warned about."""
import os
import threading
import time

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import scaled

PRODUCERS = 16
VALUE_BYTES = 1024
DELIVERY_TIMEOUT_S = 60
CONSUME_TIMEOUT_S = 60


def create_topic(bootstrap, name, partitions, config):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, partitions, 1, config=config)],
                                 operation_timeout=10).values():
        f.result(timeout=30)


def produce_concurrently(bootstrap, topic, producers, per_producer, acked, stop=None):
    """Each producer in its own thread; acked[(partition, offset)] = value for
    every delivery the broker acknowledged."""
    lock = threading.Lock()

    def one(k):
        p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all",
                                      "linger.ms": 0, "enable.idempotence": False,
                                      "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000})

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acked[(msg.partition(), msg.offset())] = msg.value()

        for i in range(per_producer):
            if stop is not None and stop.is_set():
                break
            value = (b"%03d-%08d-" % (k, i)).ljust(VALUE_BYTES, b"x")
            while True:
                try:
                    p.produce(topic, value, on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        p.flush(DELIVERY_TIMEOUT_S if stop is None else 5)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(producers)]
    for t in threads:
        t.start()
    return threads


def consume_all(bootstrap, topic, want):
    """Reads from the beginning until every key of `want` was seen (or the
    deadline): {(partition, offset): value}."""
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "flush-check",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = {}
    deadline = time.time() + CONSUME_TIMEOUT_S
    while not want.keys() <= got.keys() and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got[(m.partition(), m.offset())] = m.value()
    c.close()
    return got


def test_group_commit_with_16_producers(make_broker):
    b = make_broker()
    create_topic(b.bootstrap, "durable", 1, {"flush.messages": "1"})
    acked = {}
    per_producer = scaled(400)
    for t in produce_concurrently(b.bootstrap, "durable", PRODUCERS, per_producer, acked):
        t.join(DELIVERY_TIMEOUT_S + 30)
    assert len(acked) == PRODUCERS * per_producer
    m = b.metrics()
    fsyncs = m["sluice_log_fsyncs_total"]
    appends = m["sluice_log_fsync_appends_total"]
    assert fsyncs > 0 and appends >= len(acked) / 1000, m
    # Group commit: fewer fsyncs than acknowledged appends.
    print(f"group commit: {appends:.0f} appends in {fsyncs:.0f} fsyncs")
    assert appends / fsyncs > 1, f"{appends} appends in {fsyncs} fsyncs"
    assert m["sluice_log_fsync_seconds_count"] == fsyncs
    assert m["sluice_log_fsync_failures_total"] == 0
    assert "flush policy is not implemented" not in b.log_text()
    got = consume_all(b.bootstrap, "durable", acked)
    assert got == acked


def test_kill9_under_acks_all_loses_nothing_acknowledged(make_broker):
    b = make_broker()
    create_topic(b.bootstrap, "durable", 4, {"flush.messages": "1"})
    acked = {}
    stop = threading.Event()
    threads = produce_concurrently(b.bootstrap, "durable", 8, 10 ** 6, acked, stop)
    deadline = time.time() + 30
    while len(acked) < scaled(2000) and time.time() < deadline:
        time.sleep(0.05)
    b.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    n = len(acked)
    assert n >= scaled(2000), f"only {n} acknowledged before the kill"
    b.start()
    got = consume_all(b.bootstrap, "durable", acked)
    missing = [k for k in acked if got.get(k) != acked[k]]
    assert not missing, f"{len(missing)} of {n} acknowledged records lost, e.g. {missing[:5]}"


def test_flush_messages_n_and_flush_ms_do_not_hold_answers(make_broker):
    b = make_broker({"log.flush.interval.messages": 100, "log.flush.scheduler.interval.ms": 50})
    assert "log.flush.interval.messages is accepted but not enforced" not in b.log_text()
    create_topic(b.bootstrap, "every100", 1, {})
    create_topic(b.bootstrap, "timed", 1, {"flush.ms": "100"})
    p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
    for i in range(250):
        p.produce("every100", b"v%d" % i)
        assert p.flush(30) == 0
    # 250 one-record batches: flushes after 100 and 200, none held (so the
    # answers may come before the fsyncs complete).
    deadline = time.time() + 30
    while b.metrics()["sluice_log_fsyncs_total"] < 2 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    m = b.metrics()
    assert m["sluice_log_fsyncs_total"] == 2, m
    assert m["sluice_log_fsync_records_total"] == 200
    assert m["sluice_log_fsync_appends_total"] == 0
    p.produce("timed", b"once")
    assert p.flush(30) == 0
    deadline = time.time() + 10
    while b.metrics()["sluice_log_fsyncs_total"] < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert b.metrics()["sluice_log_fsyncs_total"] >= 3
    assert os.path.exists(os.path.join(b.data_dir, "timed-0"))
    # Stopped with unflushed bytes on a timed log: the shutdown syncs it and
    # the scheduler lets go of it (the fixture checks the exit and ASan).
    p.produce("timed", b"last")
    p.flush(10)
