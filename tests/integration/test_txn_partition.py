"""Transactions on the partition side, over the raw wire against sluice:
transactional batches (from a producer that InitProducerId gave a
transactional id's producer id, after AddPartitionsToTxn) open a producer's
transaction, WriteTxnMarkers (API 27) or EndTxn ends it with a COMMIT or
ABORT control batch and answers Kafka's errors (unknown partitions, older
producer epochs, older coordinator epochs), the last stable offset and
read_committed fetches follow the markers, and all of it survives a
restart. KIP-890 part 1: a transaction's first batch on a partition the
coordinator did not add is refused INVALID_TXN_STATE, and transactional
batches without a transactional id TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
as Kafka answers both.

The tests that need no restart and no broker settings run against any
broker at SLUICE_TXN_TEST_BOOTSTRAP instead of a sluice of their own (they
pass against Kafka 4.4: scripts/kafka-peer.sh start), with names unique to
the run."""
import os
import struct
import threading
import time
import types
import uuid

import pytest

import kafka_wire
from kafka_wire import Conn, string, uvarint

INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
TRANSACTION_COORDINATOR_FENCED = 52
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
UNKNOWN_TOPIC_OR_PARTITION = 3
TXN_ATTR = 0x10
CONTROL_ATTR = 0x20


@pytest.fixture
def peer(request):
    """The broker under test: SLUICE_TXN_TEST_BOOTSTRAP's, or a new sluice."""
    if os.environ.get("SLUICE_TXN_TEST_BOOTSTRAP"):
        return types.SimpleNamespace(bootstrap=os.environ["SLUICE_TXN_TEST_BOOTSTRAP"])
    return request.getfixturevalue("broker")


def unique_names():
    """Topic and transactional id names unique to one test run (a shared
    peer keeps what earlier runs wrote)."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"


def txn_batch(values, pid, epoch, seq):
    """A transactional record batch v2 of pid/epoch from sequence seq."""
    b = bytearray(kafka_wire.record_batch(values, producer=(pid, epoch, seq)))
    struct.pack_into(">h", b, 21, TXN_ATTR)
    struct.pack_into(">I", b, 17, kafka_wire.crc32c(bytes(b[21:])))
    return bytes(b)


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def write_txn_markers(conn, markers, version=1):
    """markers: [(pid, epoch, commit, coordinator_epoch, {topic: [partitions]})].
    Returns [(pid, {(topic, partition): error})]."""
    flexible = version >= 1

    def array(items):
        return uvarint(len(items) + 1) if flexible else struct.pack(">i", len(items))

    tags = b"\x00" if flexible else b""
    body = array(markers)
    for pid, epoch, commit, coordinator_epoch, topics in markers:
        body += struct.pack(">qh?", pid, epoch, commit) + array(topics)
        for topic, parts in topics.items():
            body += (compact_string(topic) if flexible else string(topic)) + array(parts)
            body += b"".join(struct.pack(">i", p) for p in parts) + tags
        body += struct.pack(">i", coordinator_epoch) + tags
    conn.request(27, version, body + tags, flexible=flexible)
    r = conn.response()
    pos = 4 + (1 if flexible else 0)

    def read_count(pos):
        if flexible:
            n, pos = kafka_wire.read_uvarint(r, pos)
            return n - 1, pos
        return struct.unpack(">i", r[pos:pos + 4])[0], pos + 4

    def read_str(pos):
        if flexible:
            n, pos = kafka_wire.read_uvarint(r, pos)
            return r[pos:pos + n - 1].decode(), pos + n - 1
        (n,) = struct.unpack(">h", r[pos:pos + 2])
        return r[pos + 2:pos + 2 + n].decode(), pos + 2 + n

    out = []
    nm, pos = read_count(pos)
    for _ in range(nm):
        (pid,) = struct.unpack(">q", r[pos:pos + 8])
        pos += 8
        errors = {}
        nt, pos = read_count(pos)
        for _ in range(nt):
            name, pos = read_str(pos)
            np_, pos = read_count(pos)
            for _ in range(np_):
                part, err = struct.unpack(">ih", r[pos:pos + 6])
                pos += 6 + (1 if flexible else 0)
                errors[(name, part)] = err
            pos += 1 if flexible else 0
        pos += 1 if flexible else 0
        out.append((pid, errors))
    return out


def fetch(conn, topic, partition, offset, isolation=0):
    return kafka_wire.fetch_v4_partition(conn, topic, partition, offset, isolation_level=isolation)


def control_batches(records):
    """(offset, pid, epoch, type, coordinator epoch) of each control batch."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        batch = records[pos:pos + 12 + length]
        (attrs,) = struct.unpack(">h", batch[21:23])
        if attrs & CONTROL_ATTR:
            pid, epoch, seq = struct.unpack(">qhi", batch[43:53 + 4])
            assert seq == -1 and attrs & TXN_ATTR
            # One record: length, attributes, two deltas, key (len 4), value.
            p = 61 + 1 + 1 + 1 + 1 + 1
            version, ctype = struct.unpack(">hh", batch[p:p + 4])
            p += 4 + 1
            vversion, coordinator_epoch = struct.unpack(">hi", batch[p:p + 6])
            assert version == 0 and vversion == 0
            out.append((base, pid, epoch, ctype, coordinator_epoch))
        pos += 12 + length
    return out


RETRIABLE_COORDINATOR_ERRORS = (14, 15, 16, 51)  # loading, not available, not coordinator, concurrent


def init_producer(conn, txn_id, timeout_s=30):
    """InitProducerId v1 for a transactional id: (producer id, epoch),
    retried while the coordinator is not ready (Kafka creates
    __transaction_state on first use)."""
    deadline = time.monotonic() + timeout_s
    while True:
        # FindCoordinator first, as clients do (Kafka creates
        # __transaction_state for it).
        conn.request(10, 1, string(txn_id) + struct.pack(">b", 1))
        conn.response()
        conn.request(22, 1, string(txn_id) + struct.pack(">i", 60000))
        r = conn.response()
        _throttle, err, pid, epoch = struct.unpack(">ihqh", r[4:20])
        if err not in RETRIABLE_COORDINATOR_ERRORS or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert err == 0, err
    return pid, epoch


def add_partitions(conn, txn_id, pid, epoch, topic, partitions):
    """AddPartitionsToTxn v2: {partition: error}."""
    body = string(txn_id) + struct.pack(">qhi", pid, epoch, 1) + string(topic)
    body += struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)
    conn.request(24, 2, body)
    r = conn.response()
    pos = 4 + 4 + 4
    (tlen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + tlen
    (n,) = struct.unpack(">i", r[pos:pos + 4])
    pos += 4
    return dict(struct.unpack(">ih", r[pos + 6 * i:pos + 6 * i + 6]) for i in range(n))


def end_txn(conn, txn_id, pid, epoch, commit):
    conn.request(26, 1, string(txn_id) + struct.pack(">qh?", pid, epoch, commit))
    return struct.unpack(">h", conn.response()[8:10])[0]


class Producer:
    """A transactional producer over the raw wire: its id, epoch and next
    sequence per partition."""

    def __init__(self, conn, txn_id):
        self.conn, self.txn_id = conn, txn_id
        kafka_wire.metadata_v4(conn, "__warm-up")
        self.pid, self.epoch = init_producer(conn, txn_id)
        self.seq = {}

    def produce(self, topic, values, partition=0, add=True, expect=0):
        """Adds the partition to the transaction (unless add is False) and
        produces the values; returns the base offset."""
        ensure_topic(self.conn, topic)
        if add:
            assert add_partitions(self.conn, self.txn_id, self.pid, self.epoch, topic,
                                  [partition]) == {partition: 0}
        seq = self.seq.get((topic, partition), 0)
        err, base = kafka_wire.produce_v3(self.conn, topic, partition,
                                          txn_batch(values, self.pid, self.epoch, seq),
                                          transactional_id=self.txn_id)
        assert err == expect, err
        if err == 0:
            self.seq[(topic, partition)] = seq + len(values)
        return base

    def end(self, commit, topic=None, partition=0, markers_at=None):
        """EndTxn; the coordinator writes the markers after it answers, so
        with a topic this waits until the partition's high watermark
        passes markers_at."""
        assert end_txn(self.conn, self.txn_id, self.pid, self.epoch, commit) == 0
        if topic is not None:
            wait_for_high_watermark(self.conn, topic, partition, markers_at + 1)


def ensure_topic(conn, topic, timeout_s=30):
    """Metadata until the topic exists (Kafka creates it a moment after the
    first Metadata asks for it)."""
    deadline = time.monotonic() + timeout_s
    while kafka_wire.metadata_v4(conn, topic) != 0:
        assert time.monotonic() < deadline, f"{topic} never created"
        time.sleep(0.1)
    conn.topics_seen.add(topic)


def wait_for_high_watermark(conn, topic, partition, at_least, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while fetch(conn, topic, partition, 0)[1] < at_least:
        assert time.monotonic() < deadline, f"{topic}-{partition} never reached {at_least}"
        time.sleep(0.02)


def test_markers_end_transactions(peer):
    u = unique_names()
    conn = Conn(peer.bootstrap)
    a, b = Producer(conn, u("tx-a")), Producer(conn, u("tx-b"))
    a.produce(u("txn-a"), [b"a0", b"a1"])    # 0..1
    b.produce(u("txn-a"), [b"b0"])           # 2
    err, hw, lso, aborted, _ = fetch(conn, u("txn-a"), 0, 0)
    assert (err, hw, lso, aborted) == (0, 3, 0, None)
    res = write_txn_markers(conn, [(a.pid, a.epoch, True, 3, {u("txn-a"): [0]}),
                                   (b.pid, b.epoch, False, 3, {u("txn-a"): [0], u("nope"): [0]})])
    assert res == [(a.pid, {(u("txn-a"), 0): 0}),
                   (b.pid, {(u("txn-a"), 0): 0, (u("nope"), 0): UNKNOWN_TOPIC_OR_PARTITION})]
    err, hw, lso, _, records = fetch(conn, u("txn-a"), 0, 0)
    assert (err, hw, lso) == (0, 5, 5)
    got = sorted(control_batches(records))
    assert [(pid, epoch, ctype, ce) for _, pid, epoch, ctype, ce in got] == \
        [(a.pid, a.epoch, 1, 3), (b.pid, b.epoch, 0, 3)]
    assert {off for off, *_ in got} == {3, 4}
    conn.close()


def test_marker_errors(peer):
    u = unique_names()
    conn = Conn(peer.bootstrap)
    p = Producer(conn, u("tx-e"))
    p.produce(u("txn-b"), [b"x"])            # 0
    p.end(True, u("txn-b"), markers_at=1)    # 1
    # A new epoch (InitProducerId again), then a marker of the older one,
    # and one with an older coordinator epoch than the last marker's.
    p.pid, p.epoch = init_producer(conn, u("tx-e"))
    p.seq = {}
    p.produce(u("txn-b"), [b"y"])            # 2
    assert write_txn_markers(conn, [(p.pid, p.epoch - 1, True, 0, {u("txn-b"): [0]})]) == \
        [(p.pid, {(u("txn-b"), 0): INVALID_PRODUCER_EPOCH})]
    assert write_txn_markers(conn, [(p.pid, p.epoch, True, 7, {u("txn-b"): [0]})]) == \
        [(p.pid, {(u("txn-b"), 0): 0})]        # 3
    assert write_txn_markers(conn, [(p.pid, p.epoch, False, 6, {u("txn-b"): [0, 9]})]) == \
        [(p.pid, {(u("txn-b"), 0): TRANSACTION_COORDINATOR_FENCED,
                  (u("txn-b"), 9): UNKNOWN_TOPIC_OR_PARTITION})]
    err, hw, lso, _, _ = fetch(conn, u("txn-b"), 0, 0)
    assert (err, hw, lso) == (0, 4, 4)
    conn.close()


def test_write_txn_markers_v0(broker):
    """v0 (not flexible), which the reference schema has and Kafka 4.4 no
    longer serves (it answers 27 at v1-v2)."""
    conn = Conn(broker.bootstrap)
    p = Producer(conn, "tx-0")
    p.produce("txn-0", [b"x"])            # 0
    assert write_txn_markers(conn, [(p.pid, p.epoch, False, 0, {"txn-0": [0], "nope": [1]})],
                             version=0) == \
        [(p.pid, {("txn-0", 0): 0, ("nope", 1): UNKNOWN_TOPIC_OR_PARTITION})]
    assert fetch(conn, "txn-0", 0, 0, isolation=1)[2:4] == (2, [(p.pid, 0)])
    conn.close()


def test_open_transaction_survives_restart(make_broker):
    b = make_broker()
    conn = Conn(b.bootstrap)
    x, y = Producer(conn, "tx-x"), Producer(conn, "tx-y")
    x.produce("txn-c", [b"x"])            # 0
    y.produce("txn-c", [b"y"])            # 1
    x.end(True, "txn-c", markers_at=2)    # 2
    conn.close()
    for kill in (False, True):
        if kill:
            b.kill9()
        else:
            b.stop()
        b.start()
        conn = Conn(b.bootstrap)
        err, hw, lso, _, _ = fetch(conn, "txn-c", 0, 0)
        # (a coordinator that restarts before it logged the commit complete
        # writes its markers again, as Kafka's does)
        assert (err, lso) == (0, 1) and hw >= 3, f"after {'kill -9' if kill else 'a clean stop'}"
        conn.close()
    conn = Conn(b.bootstrap)
    hw = fetch(conn, "txn-c", 0, 0)[1]
    assert end_txn(conn, "tx-y", y.pid, y.epoch, True) == 0
    wait_for_high_watermark(conn, "txn-c", 0, hw + 1)
    err, hw, lso, _, _ = fetch(conn, "txn-c", 0, 0)
    assert (err, lso) == (0, hw)
    conn.close()


def test_produce_needs_the_coordinator(peer):
    """KIP-890 part 1, and Kafka's refusal of transactional batches without
    a transactional id."""
    u = unique_names()
    conn = Conn(peer.bootstrap)
    p = Producer(conn, u("tx-v"))
    # Not added to the transaction: refused, nothing written.
    p.produce(u("txn-v"), [b"late"], add=False, expect=INVALID_TXN_STATE)
    err, _ = kafka_wire.produce_v3(conn, u("txn-v"), 0, txn_batch([b"anon"], p.pid, p.epoch, 0))
    assert err == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    assert fetch(conn, u("txn-v"), 0, 0)[1] == 0
    # Added: the first batch is verified, the next needs no new word.
    p.produce(u("txn-v"), [b"v0"])
    p.produce(u("txn-v"), [b"v1"], add=False)
    p.end(False, u("txn-v"), markers_at=2)
    # The transaction is over on the partition: a late batch of it is
    # refused, as the coordinator no longer has the partition.
    p.produce(u("txn-v"), [b"late"], add=False, expect=INVALID_TXN_STATE)
    err, hw, lso, aborted, records = fetch(conn, u("txn-v"), 0, 0, isolation=1)
    assert (err, hw, lso, aborted) == (0, 3, 3, [(p.pid, 0)])
    # Fenced by a new epoch: the old epoch's batch is INVALID_PRODUCER_EPOCH
    # (not the coordinator's PRODUCER_FENCED), on a partition that saw the
    # old epoch and on one that never saw the producer.
    old = p.epoch
    p.pid, p.epoch = init_producer(conn, u("tx-v"))
    for topic in (u("txn-v"), u("txn-v-fresh")):
        ensure_topic(conn, topic)
        err, _ = kafka_wire.produce_v3(conn, topic, 0, txn_batch([b"stale"], p.pid, old, 9),
                                       transactional_id=u("tx-v"))
        assert err == INVALID_PRODUCER_EPOCH, (topic, err)
    conn.close()


def values_of(records):
    """(offset, value) of every data record, control batches skipped."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        batch = records[pos:pos + 12 + length]
        if not struct.unpack(">h", batch[21:23])[0] & CONTROL_ATTR:
            out += [(base + i, v) for i, v in enumerate(kafka_wire.batch_values(batch))]
        pos += 12 + length
    return out


def test_read_committed(peer):
    u = unique_names()
    conn = Conn(peer.bootstrap)
    a, b = Producer(conn, u("tx-ra")), Producer(conn, u("tx-rb"))
    a.produce(u("txn-r"), [b"a0", b"a1"])                                        # 0..1
    err, _ = kafka_wire.produce_v3(conn, u("txn-r"), 0, kafka_wire.record_batch([b"p"]))  # 2
    assert err == 0
    b.produce(u("txn-r"), [b"b0"])                                               # 3
    err, hw, lso, aborted, records = fetch(conn, u("txn-r"), 0, 0)
    assert (err, hw, lso, aborted, len(values_of(records))) == (0, 4, 0, None, 4)
    err, hw, lso, aborted, records = fetch(conn, u("txn-r"), 0, 0, isolation=1)
    assert (err, hw, lso, aborted, records) == (0, 4, 0, [], b"")
    assert kafka_wire.list_offsets_v7(conn, u("txn-r"), 0, -1, isolation_level=1)[2] == 0
    assert kafka_wire.list_offsets_v7(conn, u("txn-r"), 0, -1)[2] == 4
    a.end(False, u("txn-r"), markers_at=4)                                       # 4: abort
    err, hw, lso, aborted, records = fetch(conn, u("txn-r"), 0, 0, isolation=1)
    assert (err, hw, lso, aborted) == (0, 5, 3, [(a.pid, 0)])
    assert values_of(records) == [(0, b"a0"), (1, b"a1"), (2, b"p")]
    b.end(True, u("txn-r"), markers_at=5)                                        # 5: commit
    err, hw, lso, aborted, records = fetch(conn, u("txn-r"), 0, 0, isolation=1)
    assert (err, hw, lso, aborted) == (0, 6, 6, [(a.pid, 0)])
    assert [o for o, _ in values_of(records)] == [0, 1, 2, 3]
    # Overlap only: the abort's marker (4) is at or after 3, not after 5.
    assert fetch(conn, u("txn-r"), 0, 3, isolation=1)[3] == [(a.pid, 0)]
    assert fetch(conn, u("txn-r"), 0, 5, isolation=1)[3] == []
    assert kafka_wire.list_offsets_v7(conn, u("txn-r"), 0, -1, isolation_level=1)[2] == 6
    conn.close()


def test_list_offsets_read_committed(peer):
    """ListOffsets isolation_level 1: LATEST is the LSO, and what is at or
    past it (the largest timestamp, a time that only the open transaction
    reaches) is not answered (-1), as Kafka 4.4 answers."""
    u = unique_names()
    conn = Conn(peer.bootstrap)
    topic = u("txn-lo")
    ensure_topic(conn, topic)
    now = int(time.time() * 1000)
    err, _ = kafka_wire.produce_v3(conn, topic, 0, kafka_wire.record_batch([b"p"], ts=now - 1000))
    assert err == 0                                       # 0
    p = Producer(conn, u("tx-lo"))
    p.produce(topic, [b"t"])                              # 1, an open transaction

    def offsets(isolation):
        return [kafka_wire.list_offsets_v7(conn, topic, 0, ts, isolation_level=isolation)[2]
                for ts in (-1, -3, now - 1000, now - 500)]

    assert offsets(0) == [2, 1, 0, 1]
    assert offsets(1) == [1, -1, 0, -1]
    p.end(True, topic, markers_at=2)
    # The COMMIT marker (2) holds the largest timestamp now, in Kafka too.
    assert offsets(1) == [3, 2, 0, 1]
    conn.close()


def test_read_committed_long_poll_wakes_when_the_lso_moves(peer):
    u = unique_names()
    conn = Conn(peer.bootstrap)
    p = Producer(conn, u("tx-w"))
    p.produce(u("txn-w"), [b"w"])   # 0
    other = Conn(peer.bootstrap)

    def commit_later():
        time.sleep(0.5)
        assert end_txn(other, u("tx-w"), p.pid, p.epoch, True) == 0

    t = threading.Thread(target=commit_later)
    started = time.monotonic()
    t.start()
    err, hw, lso, aborted, records = kafka_wire.fetch_v4_partition(
        conn, u("txn-w"), 0, 0, max_wait_ms=10000, min_bytes=1, isolation_level=1)
    waited = time.monotonic() - started
    t.join()
    assert (err, lso, aborted) == (0, 2, [])
    assert values_of(records) == [(0, b"w")]
    assert 0.4 < waited < 8, waited
    other.close()
    conn.close()


def test_offsets_follow_arrival_while_the_coordinator_is_asked(make_broker):
    """A transaction's first batch waits for the coordinator; a batch sent
    right behind it to the same partition waits behind it (whichever shard
    owns the partition and the transactional id's coordinator)."""
    b = make_broker({"num.partitions": "4"})
    conn = Conn(b.bootstrap)
    p = Producer(conn, "tx-order")
    ensure_topic(conn, "txn-o")
    assert add_partitions(conn, "tx-order", p.pid, p.epoch, "txn-o", [0, 1, 2, 3]) == \
        {0: 0, 1: 0, 2: 0, 3: 0}
    for part in range(4):
        kafka_wire.produce_v3_send(conn, "txn-o", part, txn_batch([b"t"], p.pid, p.epoch, 0),
                                   transactional_id="tx-order")
        kafka_wire.produce_v3_send(conn, "txn-o", part, kafka_wire.record_batch([b"plain"]))
        assert kafka_wire.produce_v3_answer(conn) == (0, 0), part
        assert kafka_wire.produce_v3_answer(conn) == (0, 1), part
        _, hw, lso, _, records = fetch(conn, "txn-o", part, 0)
        assert (hw, lso) == (2, 0)
        assert values_of(records) == [(0, b"t"), (1, b"plain")]
    conn.close()


def fetch_partitions(conn, topic, partitions, max_bytes):
    """A read_committed fetch of the partitions from offset 0: {partition:
    (error, aborted, records length)}."""
    got = kafka_wire.fetch_v4_partitions(conn, topic, [(p, 0) for p in partitions],
                                         max_bytes=max_bytes, isolation_level=1)
    return {p: (err, aborted, len(records)) for p, (err, _hw, _lso, aborted, records) in got.items()}


def test_partition_left_out_of_a_full_fetch_keeps_its_aborts(make_broker):
    """A read_committed fetch whose max_bytes the first partition fills: the
    next partition comes back without records but with the aborted
    transactions of the range it would have read, as Kafka 4.4 answers it
    (measured: {0: 4070 bytes and the abort, 1: no bytes and the abort})."""
    b = make_broker({"num.partitions": "2"})
    conn = Conn(b.bootstrap)
    p = Producer(conn, "tx-full")
    p.produce("txn-f", [b"x" * 4000], partition=0)
    p.produce("txn-f", [b"y"], partition=1)
    p.end(False, "txn-f", partition=0, markers_at=1)
    wait_for_high_watermark(conn, "txn-f", 1, 2)
    got = fetch_partitions(conn, "txn-f", [0, 1], max_bytes=1)
    assert got[0][:2] == (0, [(p.pid, 0)]) and got[0][2] > 4000
    assert got[1] == (0, [(p.pid, 0)], 0)
    # With room for both, each lists its abort.
    got = fetch_partitions(conn, "txn-f", [0, 1], max_bytes=1 << 20)
    assert got[1][:2] == (0, [(p.pid, 0)]) and got[1][2] > 0
    conn.close()
