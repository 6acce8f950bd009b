"""Compaction of a topic written in transactions, as Kafka's cleaner treats
it: after cleaning, a read_committed and a read_uncommitted consumer (Debian's
confluent-kafka) both read exactly the latest committed value of each key
(aborted data is removed whatever its keys, and never replaces an older
committed value); the transaction markers go once no data of their
transaction is left and delete.retention.ms has passed (seen in the segment
files); an idempotent producer's last batch is kept (emptied) by the
cleaner, so a retry of it after a kill -9 whose restart rebuilds the
producer state from the log is still answered as a duplicate.

SLUICE_COMPACTION_TXN_BOOTSTRAP=host:port (or the suite's Kafka peer,
SLUICE_KAFKA_BOOTSTRAP) also runs the client-visible part of the first
scenario against that broker (Apache Kafka 4.4 passes it with its default
cleaner settings): it waits until the read_uncommitted view holds no aborted
value, then checks both views."""
import glob
import os
import struct
import time
import uuid

import confluent_kafka
import pytest

import kafka_wire
from test_compaction import CLEANER, cleaner_runs, create, segment_bases, wait_cleaned

RETENTION_MS = 2000
TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.bytes": "16384",
                "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": str(RETENTION_MS)}
KEYS = 50
PER_TXN = 20
TXNS = 31                 # even ones committed, odd ones aborted: the last commits
FILLER = 400              # records of other keys that roll the transactions' segments
WAIT_S = 60
MARKER_ROUNDS = 8         # cleanings, delete.retention.ms apart, for the markers to go
OTHER = os.environ.get("SLUICE_COMPACTION_TXN_BOOTSTRAP") or os.environ.get("SLUICE_KAFKA_BOOTSTRAP")
OTHER_ROLL_MS = 1000
# The suite's Kafka peer is shared: its one cleaner thread also works through
# the other tests' compacted logs (and __consumer_offsets), backing off 15 s
# when it finds nothing, so it can take longer than our own cleaner.
OTHER_WAIT_S = 180
CONTROL_ATTR = 0x20
ABORT, COMMIT = 0, 1


def unique(what):
    return f"ctxn-{what}-{uuid.uuid4().hex[:8]}"


def produce_transactions(bootstrap, topic):
    """TXNS transactions of PER_TXN keyed records; returns the values of the
    committed ones in the order written. The aborted ones are flushed first:
    their records are in the log."""
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tid"),
                                  "linger.ms": 5})
    p.init_transactions(30)
    aborted_written = []

    def on_delivery(err, msg):
        if err is None and msg.value().startswith(b"a-"):
            aborted_written.append(msg.offset())
    committed = []
    for t in range(TXNS):
        commit = t % 2 == 0
        p.begin_transaction()
        for i in range(PER_TXN):
            n = t * PER_TXN + i
            k, v = b"k%d" % (n % KEYS), b"%s-%d-%d" % (b"c" if commit else b"a", t, n)
            p.produce(topic, key=k, value=v, partition=0, on_delivery=on_delivery)
            if commit:
                committed.append((k, v))
        if commit:
            p.commit_transaction(30)
        else:
            assert p.flush(30) == 0
            p.abort_transaction(30)
    assert len(aborted_written) == (TXNS // 2) * PER_TXN
    return committed


def produce_filler(bootstrap, topic, tag):
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(FILLER):
        p.produce(topic, key=b"f%d-%d" % (tag, i), value=os.urandom(100), partition=0)
    assert p.flush(30) == 0


def consume(bootstrap, topic, isolation):
    """(key, value) of topic/0 from the start to its end as a consumer of
    that isolation level reads them."""
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"),
                                  "isolation.level": isolation, "enable.auto.commit": False,
                                  "enable.partition.eof": True, "check.crcs": True})
    c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    out, deadline = [], time.time() + WAIT_S
    try:
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    return out
                raise AssertionError(f"consume error: {m.error()}")
            out.append((m.key(), m.value()))
    finally:
        c.close()
    raise AssertionError("did not reach the end of the partition in time")


def latest_committed(committed):
    latest = {}
    for k, v in committed:
        latest[k] = v
    return latest


def check_views(bootstrap, topic, committed):
    """Both isolation levels read exactly the latest committed value of each
    transactional key, and no aborted one."""
    want = latest_committed(committed)
    for isolation in ("read_committed", "read_uncommitted"):
        got = [(k, v) for k, v in consume(bootstrap, topic, isolation) if k.startswith(b"k")]
        aborted = [v for _, v in got if v.startswith(b"a-")]
        assert not aborted, f"{isolation} reads aborted values {aborted[:5]}"
        assert dict(got) == want and len(got) == len(want), \
            f"{isolation}: {len(got)} records, want {len(want)} (one per key)"


def markers_below_active(broker, topic):
    """[(offset, type)] of the transaction markers in the closed segments."""
    part = os.path.join(broker.data_dir, f"{topic}-0")
    logs = sorted(glob.glob(os.path.join(part, "*.log")))[:-1]
    out = []
    for path in logs:
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack(">qi", data[pos:pos + 12])
            (attributes,) = struct.unpack(">h", data[pos + 21:pos + 23])
            (count,) = struct.unpack(">i", data[pos + 57:pos + 61])
            if attributes & CONTROL_ATTR and count > 0:
                rec = pos + 61
                _, rec = kafka_wire.read_varint(data, rec)     # record length
                rec += 1                            # attributes
                _, rec = kafka_wire.read_varint(data, rec)     # timestamp delta
                _, rec = kafka_wire.read_varint(data, rec)     # offset delta
                _, rec = kafka_wire.read_varint(data, rec)     # key length
                (_version, kind) = struct.unpack(">hh", data[rec:rec + 4])
                out.append((base, kind))
            pos += 12 + length
    return out


def test_transactions_compacted(make_broker):
    b = make_broker(CLEANER)
    topic = unique("t")
    create(b.bootstrap, topic, TOPIC_CONFIG)
    committed = produce_transactions(b.bootstrap, topic)
    produce_filler(b.bootstrap, topic, 0)
    wait_cleaned(b, topic, segment_bases(b, topic)[-1])
    check_views(b.bootstrap, topic, committed)
    metrics = b.metrics()
    assert metrics["sluice_log_cleaner_records_dropped_total"] > 0

    # The markers: each ABORT marker goes (its data went in the first pass),
    # and each COMMIT marker whose transaction has no record left; those of
    # the transactions still holding a latest value stay.
    live_txns = {int(v.split(b"-")[1]) for v in latest_committed(committed).values()}
    markers = None
    for r in range(MARKER_ROUNDS):
        time.sleep(RETENTION_MS / 1000 + 0.2)
        runs = cleaner_runs(b)
        produce_filler(b.bootstrap, topic, r + 1)
        wait_cleaned(b, topic, segment_bases(b, topic)[-1], runs)
        markers = markers_below_active(b, topic)
        if not any(kind == ABORT for _, kind in markers) and \
                len(markers) == len(live_txns):
            break
    else:
        raise AssertionError(f"markers left after {MARKER_ROUNDS} cleanings: {markers}; "
                             f"transactions with live records: {sorted(live_txns)}")
    assert all(kind == COMMIT for _, kind in markers)
    check_views(b.bootstrap, topic, committed)


@pytest.mark.skipif(not OTHER, reason="no other broker (SLUICE_COMPACTION_TXN_BOOTSTRAP, SLUICE_KAFKA_BOOTSTRAP)")
def test_transactions_compacted_elsewhere():
    topic = unique("t")
    # Kafka 4 takes no segment.bytes below 1 MiB: its segments roll by time.
    create(OTHER, topic, dict(TOPIC_CONFIG, **{"segment.bytes": str(1 << 20),
                                               "segment.ms": str(OTHER_ROLL_MS)}))
    committed = produce_transactions(OTHER, topic)
    time.sleep(OTHER_ROLL_MS / 1000 + 0.2)
    produce_filler(OTHER, topic, 0)
    deadline = time.time() + OTHER_WAIT_S
    while any(v.startswith(b"a-") for _, v in consume(OTHER, topic, "read_uncommitted")):
        assert time.time() < deadline, "the aborted values were not cleaned in time"
        time.sleep(1)
    check_views(OTHER, topic, committed)


def keyed_batch(key, value, producer=(-1, -1, -1)):
    """A record batch v2 of one keyed record."""
    ts = int(time.time() * 1000)
    body = b"\x00" + kafka_wire.varint(0) + kafka_wire.varint(0) + kafka_wire.varint(len(key)) + \
        key + kafka_wire.varint(len(value)) + value + kafka_wire.varint(0)
    recs = kafka_wire.varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, 0, ts, ts, *producer, 1) + recs
    after_len = struct.pack(">ibI", 0, 2, kafka_wire.crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def init_producer_id(conn):
    conn.request(22, 0, struct.pack(">hi", -1, 60000))
    r = conn.response()
    return struct.unpack(">hqh", r[8:20])


def test_retried_batch_after_compaction_is_a_duplicate(make_broker):
    """The producer's only batch is replaced by another producer's record of
    the same key; the cleaner keeps it empty, and after a kill -9 with the
    producer snapshots gone (the state is rebuilt from the log's last two
    segments, as Kafka's is) its retry is answered with its original offset."""
    b = make_broker(CLEANER)
    topic = unique("idem")
    create(b.bootstrap, topic, dict(TOPIC_CONFIG, **{"segment.bytes": "4096"}))
    conn = kafka_wire.Conn(b.bootstrap)
    err, pid, epoch = init_producer_id(conn)
    assert err == 0
    first = keyed_batch(b"k", b"first", (pid, epoch, 0))
    err, offset = kafka_wire.produce_v3(conn, topic, 0, first, acks=-1)
    assert (err, offset) == (0, 0)
    assert kafka_wire.produce_v3(conn, topic, 0, keyed_batch(b"k", b"second"), acks=-1) == (0, 1)
    # One closed segment and the active one: the filler replaces itself.
    while len(segment_bases(b, topic)) < 2:
        assert kafka_wire.produce_v3(conn, topic, 0, keyed_batch(b"f", os.urandom(1500)),
                                     acks=-1)[0] == 0
    wait_cleaned(b, topic, segment_bases(b, topic)[-1])
    assert len(segment_bases(b, topic)) == 2
    values = [v for batch in kafka_wire.partition_batches(b.bootstrap, topic, 0)
              for v in kafka_wire.batch_values(batch)]
    assert b"first" not in values and b"second" in values
    conn.close()
    b.kill9()
    for path in glob.glob(os.path.join(b.data_dir, f"{topic}-0", "*.snapshot")):
        os.unlink(path)
    b.start()
    conn = kafka_wire.Conn(b.bootstrap)
    assert kafka_wire.produce_v3(conn, topic, 0, first, acks=-1) == (0, 0)
    err, end = kafka_wire.produce_v3(conn, topic, 0, keyed_batch(b"k", b"third", (pid, epoch, 1)),
                                     acks=-1)
    assert err == 0 and end > 1
    conn.close()
    assert b.metrics()["sluice_produce_duplicates_total"] == 1
