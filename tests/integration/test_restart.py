"""Restarts: after SIGTERM, after kill -9 under load, and after a torn write
at the end of a segment, everything acknowledged is readable, in order."""
import glob
import os
import threading
import time

import confluent_kafka
import pytest

from conftest import Broker, scaled


def produce(bootstrap, topic, n, acks="1", start=0):
    acked = []
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 2})
    for i in range(start, start + n):
        p.produce(topic, value=b"m%d" % i, partition=0,
                  on_delivery=lambda err, msg: err is None and acked.append((msg.offset(), msg.value())))
        p.poll(0)
    assert p.flush(60) == 0
    return acked


def consume(bootstrap, topic, expect_at_least, timeout_s=60):
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "x",
                                  "enable.auto.commit": False,
                                  "enable.partition.eof": True})
    c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    out = []
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF and len(out) >= expect_at_least:
                break
            continue
        out.append((m.offset(), m.value()))
    c.close()
    return out


def test_sigterm_restart(make_broker):
    b = make_broker({"log.segment.bytes": 262144})
    n = scaled(50_000)
    acked = produce(b.bootstrap, "r1", n)
    assert len(acked) == n
    assert b.stop() == 0
    assert os.path.exists(os.path.join(b.data_dir, ".kafka_cleanshutdown"))
    b.start()
    got = consume(b.bootstrap, "r1", n)
    assert got == sorted(acked)
    assert [o for o, _ in got] == list(range(n))


def test_kill9_under_load(make_broker):
    b = make_broker()
    produce(b.bootstrap, "r2", 10)  # create the topic
    acked = []
    stop = threading.Event()

    def load():
        p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap, "acks": "all",
                                      "linger.ms": 1, "message.timeout.ms": 5000,
                                      "retries": 0})
        i = 0
        while not stop.is_set():
            try:
                p.produce("r2", value=b"load-%d" % i, partition=0,
                          on_delivery=lambda err, msg: err is None and acked.append((msg.offset(), msg.value())))
            except BufferError:
                # The client's queue is full: let deliveries drain, then go on.
                p.poll(0.01)
                continue
            p.poll(0)
            i += 1
            if i % 1000 == 0:
                time.sleep(0.001)
        p.flush(10)

    t = threading.Thread(target=load)
    t.start()
    time.sleep(1.5)
    b.kill9()
    stop.set()
    t.join(30)
    assert acked, "nothing was acknowledged before the kill"
    b.start()
    got = dict(consume(b.bootstrap, "r2", len(acked) + 10))
    offsets = sorted(got)
    assert offsets == list(range(len(offsets))), "gap in offsets after recovery"
    for off, value in acked:
        assert got.get(off) == value, f"acknowledged offset {off} lost or changed"
    more = produce(b.bootstrap, "r2", 10, start=10**6)
    assert sorted(o for o, _ in more)[0] == len(offsets)


def test_torn_tail_is_truncated(make_broker):
    b = make_broker()
    acked = produce(b.bootstrap, "r3", 1000)
    b.kill9()
    seg = sorted(glob.glob(os.path.join(b.data_dir, "r3-0", "*.log")))[-1]
    size = os.path.getsize(seg)
    with open(seg, "ab") as f:
        # a batch header claiming 4 KiB more than follows: a torn write
        f.write(b"\x00" * 8 + (4096).to_bytes(4, "big") + b"\x00" * 100)
    b.start()
    assert "truncating" in b.log_text()
    assert os.path.getsize(seg) == size
    got = consume(b.bootstrap, "r3", 1000)
    assert got == sorted(acked)
    more = produce(b.bootstrap, "r3", 5, start=5000)
    assert sorted(o for o, _ in more) == list(range(1000, 1005))
