"""Compaction (cleanup.policy=compact) with real clients: after cleaning,
exactly the latest value of every live key is read back below the active
segment, at the offset it was written at, in every codec; deleted keys
vanish once delete.retention.ms has passed; kill -9 at random moments of a
cleaning always leaves a complete log; __consumer_offsets shrinks after many
commits and its groups replay after a restart; a record without a key is
refused as Kafka refuses it. SLUICE_COMPACTION_LONG=1 runs the long version
(more records, more kills)."""
import glob
import os
import random
import re
import urllib.request
import time

import confluent_kafka
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import SANITIZED
from kafka_wire import batches_end

LONG = os.environ.get("SLUICE_COMPACTION_LONG") == "1"
RECORDS = 400_000 if LONG else (25_000 if SANITIZED else 100_000)
KEYS = 1000
DELETED = 100             # keys 0..DELETED-1 end with a tombstone
KILLS = 30 if LONG else 10
WAIT_S = 60
RETENTION_MS = 2000
STOP_BOUND_S = 20
CLEANER = {"log.cleaner.backoff.ms": 50, "log.cleaner.min.cleanable.ratio": 0.01,
           "num.io.threads": 1}
TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.bytes": "65536",
                "min.cleanable.dirty.ratio": "0.01",
                "delete.retention.ms": str(RETENTION_MS)}


def create(bootstrap, topic, config=TOPIC_CONFIG):
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(topic, 1, 1, config=dict(config))]).values():
        f.result(30)


def produce(bootstrap, topic, records, codec="none"):
    """records: (key, value) pairs; returns {offset: (key, value)} acknowledged."""
    acked = {}
    failed = []

    def on_delivery(err, msg):
        if err is None:
            acked[msg.offset()] = (msg.key(), msg.value())
        else:
            failed.append(err)

    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                                  "compression.type": codec, "batch.num.messages": 500})
    for k, v in records:
        while True:
            try:
                p.produce(topic, key=k, value=v, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0
    assert not failed, failed[:3]
    return acked


def workload(n, start=0):
    """Keyed records; the last write of keys below DELETED is a tombstone."""
    out = []
    for i in range(start, start + n):
        k = i % KEYS
        last_round = i >= start + n - KEYS
        value = None if last_round and k < DELETED else b"v%d" % i
        out.append((b"k%d" % k, value))
    return out


def consume_all(bootstrap, topic, timeout_s=WAIT_S):
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-check",
                                  "enable.auto.commit": False, "enable.partition.eof": True,
                                  "check.crcs": True})
    c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    out = []
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                break
            raise AssertionError(f"consume error: {m.error()}")
        out.append((m.offset(), m.key(), m.value()))
    else:
        raise AssertionError("did not reach the end of the partition in time")
    c.close()
    return out


def segment_bases(broker, topic):
    part = os.path.join(broker.data_dir, f"{topic}-0")
    return sorted(int(os.path.basename(p)[:-4]) for p in glob.glob(os.path.join(part, "*.log")))


def cleaner_runs(broker):
    return broker.metrics().get("sluice_log_cleaner_runs_total", 0)


def wait_cleaned(broker, topic, below, runs_before=0):
    """Waits for a pass that cleaned the log up to `below` (the active
    segment's base), seen in cleaner-offset-checkpoint's published value
    through the metrics' pass count and the segments' bases."""
    deadline = time.time() + WAIT_S
    while time.time() < deadline:
        if cleaner_runs(broker) > runs_before and segment_bases(broker, topic)[-1] >= below:
            time.sleep(0.5)  # a pass started meanwhile finishes
            if not any(p.endswith(".cleaned") for p in os.listdir(
                    os.path.join(broker.data_dir, f"{topic}-0"))):
                return
        time.sleep(0.1)
    raise AssertionError(f"no cleaning in {WAIT_S}s:\n{broker.log_tail()}")


def latest_of(acked):
    latest = {}
    for offset in sorted(acked):
        k, v = acked[offset]
        latest[k] = (offset, v)
    return latest


def check_compacted(got, acked, active_base, tombstones_gone):
    """Below the active segment: exactly the latest record of each key (and
    of a deleted key its tombstone, until it is gone), at its own offset;
    from it on, what was written."""
    latest = latest_of(acked)
    offsets = [o for o, _, _ in got]
    assert offsets == sorted(set(offsets)), "offsets out of order or repeated"
    for o, k, v in got:
        assert acked[o] == (k, v), f"offset {o} holds {k}={v}, written {acked[o]}"
        if o < active_base:
            assert latest[k][0] == o, f"{k} at {o} is not its latest ({latest[k][0]})"
            if tombstones_gone:
                assert v is not None, f"tombstone of {k} at {o} still there"
    seen = {k for _, k, v in got}
    for k, (o, v) in latest.items():
        if v is not None:
            assert k in seen, f"live key {k} (latest at {o}) missing"
        elif o < active_base and tombstones_gone:
            assert k not in seen, f"deleted key {k} still read back"


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_latest_value_per_key_in_every_codec(make_broker, codec):
    b = make_broker(CLEANER)
    create(b.bootstrap, "cmp")
    acked = produce(b.bootstrap, "cmp", workload(RECORDS), codec)
    # Filler of other keys rolls the tombstones out of the active segment.
    acked.update(produce(b.bootstrap, "cmp", [(b"f%d" % i, os.urandom(100)) for i in range(2000)], codec))
    active = segment_bases(b, "cmp")[-1]
    wait_cleaned(b, "cmp", active)
    got = consume_all(b.bootstrap, "cmp")
    check_compacted(got, acked, segment_bases(b, "cmp")[-1], tombstones_gone=False)
    assert len(got) < len(acked) / 5
    # Past delete.retention.ms, the next cleaning removes the tombstones.
    time.sleep(RETENTION_MS / 1000 + 0.5)
    runs = cleaner_runs(b)
    acked.update(produce(b.bootstrap, "cmp", [(b"g%d" % i, os.urandom(100)) for i in range(2000)], codec))
    wait_cleaned(b, "cmp", segment_bases(b, "cmp")[-1], runs)
    got = consume_all(b.bootstrap, "cmp")
    check_compacted(got, acked, segment_bases(b, "cmp")[-1], tombstones_gone=True)
    metrics = b.metrics()
    assert metrics["sluice_log_cleaner_bytes_read_total"] > metrics["sluice_log_cleaner_bytes_written_total"] > 0
    assert metrics["sluice_log_cleaner_records_dropped_total"] > 0


def test_record_without_key_is_refused(make_broker):
    b = make_broker(CLEANER)
    create(b.bootstrap, "nokey")
    errors = []
    p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
    p.produce("nokey", value=b"v", partition=0, on_delivery=lambda e, m: errors.append(e))
    assert p.flush(30) == 0
    p.produce("nokey", key=b"k", value=b"v", partition=0, on_delivery=lambda e, m: errors.append(e))
    assert p.flush(30) == 0
    assert errors[0] is not None and errors[0].code() == confluent_kafka.KafkaError.INVALID_RECORD
    assert errors[1] is None
    got = consume_all(b.bootstrap, "nokey")
    assert [(k, v) for _, k, v in got] == [(b"k", b"v")]


def test_kill9_during_cleaning_leaves_a_complete_log(make_broker):
    # Throttled so that a pass takes long enough to be killed in.
    b = make_broker(dict(CLEANER, **{"log.cleaner.io.max.bytes.per.second": 4 << 20}))
    create(b.bootstrap, "crash")
    acked = {}
    rng = random.Random(13)
    per_round = RECORDS // KILLS
    for round_ in range(KILLS):
        acked.update(produce(b.bootstrap, "crash", workload(per_round, round_ * per_round)))
        time.sleep(rng.uniform(0.05, 0.6))
        b.kill9()
        b.start()
        got = consume_all(b.bootstrap, "crash")
        part = os.path.join(b.data_dir, "crash-0")
        leftovers = [f for f in os.listdir(part) if f.endswith((".swap", ".cleaned", ".deleted"))]
        assert not leftovers, leftovers
        check_compacted(got, acked, segment_bases(b, "crash")[0], tombstones_gone=False)
        latest = latest_of(acked)
        got_latest = {k: (o, v) for o, k, v in got}
        for k, (o, v) in latest.items():
            if v is not None:
                assert got_latest.get(k) == (o, v), f"round {round_}: {k} lost its latest value"
    assert cleaner_runs(b) >= 0
    assert "cleaner" in b.log_text()


def offsets_dir_bytes(broker):
    """The batches' bytes, not the files' sizes: the active segment is sparse
    up to segment.bytes while mapped appends write it."""
    part = os.path.join(broker.data_dir, "__consumer_offsets-0")
    total = 0
    for path in glob.glob(os.path.join(part, "*.log")):
        with open(path, "rb") as f:
            total += batches_end(f.read())
    return total


def test_consumer_offsets_shrinks_and_groups_replay(make_broker):
    b = make_broker(dict(CLEANER, **{"offsets.topic.num.partitions": 1,
                                     "offsets.topic.segment.bytes": 16384}))
    produce(b.bootstrap, "work", [(b"k", b"v")] * 10)
    commits = 500 if SANITIZED else 3000
    groups = ["g%d" % i for i in range(5)]
    for g in groups:
        c = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": g,
                                      "enable.auto.commit": False})
        for i in range(commits // len(groups)):
            c.commit(offsets=[confluent_kafka.TopicPartition("work", 0, i + 1)], asynchronous=False)
        c.close()
    written = commits * 100  # each commit writes a batch of about this many bytes
    deadline = time.time() + WAIT_S
    while time.time() < deadline and offsets_dir_bytes(b) > written / 4:
        time.sleep(0.2)
    assert offsets_dir_bytes(b) <= written / 4, f"__consumer_offsets not compacted: {offsets_dir_bytes(b)} bytes"
    assert b.stop() == 0
    b.start()
    for g in groups:
        c = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": g,
                                      "enable.auto.commit": False})
        got = c.committed([confluent_kafka.TopicPartition("work", 0)], timeout=30)
        c.close()
        assert got[0].offset == commits // len(groups), (g, got)


def test_sigterm_during_a_throttled_pass_stops_promptly(make_broker):
    # At 16 KiB/s the pass over this log would take minutes: a stop that
    # waited for it could not come in under STOP_BOUND_S, however busy the
    # machine.
    b = make_broker(dict(CLEANER, **{"log.cleaner.io.max.bytes.per.second": 16 << 10}))
    create(b.bootstrap, "slow")
    acked = produce(b.bootstrap, "slow", workload(25_000))
    deadline = time.time() + WAIT_S
    part = os.path.join(b.data_dir, "slow-0")
    while time.time() < deadline and not glob.glob(os.path.join(part, "*.cleaned")):
        time.sleep(0.02)
    assert glob.glob(os.path.join(part, "*.cleaned")), "no pass started"
    start = time.time()
    assert b.stop() == 0
    assert time.time() - start < STOP_BOUND_S, "the stop waited for the throttled pass"
    assert not glob.glob(os.path.join(part, "*.cleaned"))
    b.start()
    got = consume_all(b.bootstrap, "slow")
    assert {o: (k, v) for o, k, v in got} == acked


def test_min_compaction_lag_keeps_recent_segments_dirty(make_broker):
    b = make_broker(CLEANER)
    create(b.bootstrap, "lag", dict(TOPIC_CONFIG, **{"min.compaction.lag.ms": "3600000"}))
    acked = produce(b.bootstrap, "lag", workload(25_000))
    time.sleep(1)
    assert cleaner_runs(b) == 0
    assert len(consume_all(b.bootstrap, "lag")) == len(acked)


def test_one_cleaner_thread_serves_every_io_shard(make_broker):
    """log.cleaner.threads=1 with two io shards: one shard cleans at a time,
    and both shards' compacted logs get cleaned."""
    b = make_broker(dict(CLEANER, **{"num.io.threads": 2, "num.network.threads": 2,
                                     "log.cleaner.threads": 1}))
    for t in ("s0", "s1"):
        create(b.bootstrap, t)
        produce(b.bootstrap, t, workload(20_000))
    deadline = time.time() + WAIT_S
    runs = {}
    while time.time() < deadline:
        body = urllib.request.urlopen(f"http://127.0.0.1:{b.metrics_port}/metrics", timeout=5).read().decode()
        runs = {m.group(1): float(m.group(2)) for m in
                re.finditer(r'^sluice_log_cleaner_runs_total\{shard="(\d+)"\} (\S+)$', body, re.M)}
        if len(runs) == 2 and all(v > 0 for v in runs.values()):
            break
        time.sleep(0.1)
    assert len(runs) == 2 and all(v > 0 for v in runs.values()), runs


def test_max_compaction_lag_cleans_below_the_dirty_ratio(make_broker):
    """min.cleanable.dirty.ratio=1 cleans only an all-dirty log; once part of
    it is clean, max.compaction.lag.ms alone brings the next pass, when the
    first dirty batch is older than it."""
    b = make_broker(CLEANER)
    # Long enough that producing the second half, however slow on a busy
    # machine, ends well inside it: the "not yet" check below must see
    # batches younger than the lag.
    lag_ms = 10000
    create(b.bootstrap, "maxlag", dict(TOPIC_CONFIG, **{"min.cleanable.dirty.ratio": "1",
                                                        "max.compaction.lag.ms": str(lag_ms)}))
    produce(b.bootstrap, "maxlag", workload(25_000))
    wait_cleaned(b, "maxlag", segment_bases(b, "maxlag")[-1])
    runs = cleaner_runs(b)
    written = time.time()
    produce(b.bootstrap, "maxlag", workload(25_000))
    time.sleep(max(0.0, written + lag_ms / 2000 - time.time()))
    assert cleaner_runs(b) == runs, "cleaned before max.compaction.lag.ms"
    deadline = written + lag_ms / 1000 + WAIT_S / 4
    while time.time() < deadline and cleaner_runs(b) == runs:
        time.sleep(0.1)
    assert cleaner_runs(b) > runs, "max.compaction.lag.ms did not bring a pass"


def test_damaged_segment_is_left_alone_and_reported_once(make_broker):
    b = make_broker(dict(CLEANER, **{"log.cleaner.enable": "false"}))
    create(b.bootstrap, "dmg")
    acked = produce(b.bootstrap, "dmg", workload(25_000))
    assert b.stop() == 0
    first = os.path.join(b.data_dir, "dmg-0", "%020d.log" % segment_bases(b, "dmg")[0])
    with open(first, "r+b") as f:
        f.seek(16)
        f.write(b"\x07")  # the first batch's magic
    size = os.path.getsize(first)
    b.settings["log.cleaner.enable"] = "true"
    b.start()
    time.sleep(1.5)  # dozens of cleaner rounds
    assert b.log_text().count("not cleaned again until a restart") == 1, b.log_tail()
    assert os.path.getsize(first) == size
    assert b.metrics()["sluice_log_cleaner_failures_total"] == 1
    assert len(acked) == 25_000
