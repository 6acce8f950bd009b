"""Transactions on the partition side, over the raw wire against sluice:
transactional batches (written here with a null transactional id, which
Kafka also appends unverified) open a producer's transaction, WriteTxnMarkers
(API 27) ends it with a COMMIT or ABORT control batch and answers Kafka's
errors (unknown partitions, older producer epochs, older coordinator
epochs), the last stable offset and read_committed fetches follow the
markers, and all of it survives a restart."""
import struct
import threading
import time

import kafka_wire
from kafka_wire import Conn, string, uvarint

INVALID_PRODUCER_EPOCH = 47
TRANSACTION_COORDINATOR_FENCED = 52
UNKNOWN_TOPIC_OR_PARTITION = 3
TXN_ATTR = 0x10
CONTROL_ATTR = 0x20


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


def produce_txn(conn, topic, values, pid, epoch, seq, partition=0):
    err, base = kafka_wire.produce_v3(conn, topic, partition, txn_batch(values, pid, epoch, seq))
    assert err == 0, err
    return base


def test_markers_end_transactions(broker):
    conn = Conn(broker.bootstrap)
    produce_txn(conn, "txn-a", [b"a0", b"a1"], 4000, 0, 0)   # 0..1
    produce_txn(conn, "txn-a", [b"b0"], 4001, 0, 0)          # 2
    err, hw, lso, aborted, _ = fetch(conn, "txn-a", 0, 0)
    assert (err, hw, lso, aborted) == (0, 3, 0, None)
    res = write_txn_markers(conn, [(4000, 0, True, 3, {"txn-a": [0]}),
                                   (4001, 0, False, 3, {"txn-a": [0], "nope": [0]})])
    assert res == [(4000, {("txn-a", 0): 0}),
                   (4001, {("txn-a", 0): 0, ("nope", 0): UNKNOWN_TOPIC_OR_PARTITION})]
    err, hw, lso, _, records = fetch(conn, "txn-a", 0, 0)
    assert (err, hw, lso) == (0, 5, 5)
    got = sorted(control_batches(records))
    assert [(pid, epoch, ctype, ce) for _, pid, epoch, ctype, ce in got] == \
        [(4000, 0, 1, 3), (4001, 0, 0, 3)]
    assert {off for off, *_ in got} == {3, 4}
    conn.close()


def test_marker_errors(broker):
    conn = Conn(broker.bootstrap)
    produce_txn(conn, "txn-b", [b"x"], 5000, 2, 0)
    # An older epoch, then an older coordinator epoch than the last marker's.
    assert write_txn_markers(conn, [(5000, 1, True, 0, {"txn-b": [0]})], version=0) == \
        [(5000, {("txn-b", 0): INVALID_PRODUCER_EPOCH})]
    assert write_txn_markers(conn, [(5000, 2, True, 7, {"txn-b": [0]})]) == \
        [(5000, {("txn-b", 0): 0})]
    assert write_txn_markers(conn, [(5000, 2, False, 6, {"txn-b": [0, 9]})]) == \
        [(5000, {("txn-b", 0): TRANSACTION_COORDINATOR_FENCED,
                 ("txn-b", 9): UNKNOWN_TOPIC_OR_PARTITION})]
    err, hw, lso, _, _ = fetch(conn, "txn-b", 0, 0)
    assert (err, hw, lso) == (0, 2, 2)
    conn.close()


def test_open_transaction_survives_restart(make_broker):
    b = make_broker()
    conn = Conn(b.bootstrap)
    produce_txn(conn, "txn-c", [b"x"], 6000, 0, 0)       # 0
    produce_txn(conn, "txn-c", [b"y"], 6001, 0, 0)       # 1
    write_txn_markers(conn, [(6000, 0, True, 0, {"txn-c": [0]})])  # 2
    conn.close()
    for kill in (False, True):
        if kill:
            b.kill9()
        else:
            b.stop()
        b.start()
        conn = Conn(b.bootstrap)
        err, hw, lso, _, _ = fetch(conn, "txn-c", 0, 0)
        assert (err, hw, lso) == (0, 3, 1), f"after {'kill -9' if kill else 'a clean stop'}"
        conn.close()
    conn = Conn(b.bootstrap)
    assert write_txn_markers(conn, [(6001, 0, True, 0, {"txn-c": [0]})]) == \
        [(6001, {("txn-c", 0): 0})]
    err, hw, lso, _, _ = fetch(conn, "txn-c", 0, 0)
    assert (err, hw, lso) == (0, 4, 4)
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


def test_read_committed(broker):
    conn = Conn(broker.bootstrap)
    produce_txn(conn, "txn-r", [b"a0", b"a1"], 7000, 0, 0)                    # 0..1
    err, _ = kafka_wire.produce_v3(conn, "txn-r", 0, kafka_wire.record_batch([b"p"]))  # 2
    assert err == 0
    produce_txn(conn, "txn-r", [b"b0"], 7001, 0, 0)                           # 3
    err, hw, lso, aborted, records = fetch(conn, "txn-r", 0, 0)
    assert (err, hw, lso, aborted, len(values_of(records))) == (0, 4, 0, None, 4)
    err, hw, lso, aborted, records = fetch(conn, "txn-r", 0, 0, isolation=1)
    assert (err, hw, lso, aborted, records) == (0, 4, 0, [], b"")
    assert kafka_wire.list_offsets_v7(conn, "txn-r", 0, -1, isolation_level=1)[2] == 0
    assert kafka_wire.list_offsets_v7(conn, "txn-r", 0, -1)[2] == 4
    write_txn_markers(conn, [(7000, 0, False, 0, {"txn-r": [0]})])          # 4: abort
    err, hw, lso, aborted, records = fetch(conn, "txn-r", 0, 0, isolation=1)
    assert (err, hw, lso, aborted) == (0, 5, 3, [(7000, 0)])
    assert values_of(records) == [(0, b"a0"), (1, b"a1"), (2, b"p")]
    write_txn_markers(conn, [(7001, 0, True, 0, {"txn-r": [0]})])           # 5: commit
    err, hw, lso, aborted, records = fetch(conn, "txn-r", 0, 0, isolation=1)
    assert (err, hw, lso, aborted) == (0, 6, 6, [(7000, 0)])
    assert [o for o, _ in values_of(records)] == [0, 1, 2, 3]
    # Overlap only: the abort's marker (4) is at or after 3, not after 5.
    assert fetch(conn, "txn-r", 0, 3, isolation=1)[3] == [(7000, 0)]
    assert fetch(conn, "txn-r", 0, 5, isolation=1)[3] == []
    assert kafka_wire.list_offsets_v7(conn, "txn-r", 0, -1, isolation_level=1)[2] == 6
    conn.close()


def test_read_committed_long_poll_wakes_when_the_lso_moves(broker):
    conn = Conn(broker.bootstrap)
    produce_txn(conn, "txn-w", [b"w"], 7100, 0, 0)   # 0
    other = Conn(broker.bootstrap)

    def commit_later():
        time.sleep(0.5)
        write_txn_markers(other, [(7100, 0, True, 0, {"txn-w": [0]})])

    t = threading.Thread(target=commit_later)
    started = time.monotonic()
    t.start()
    err, hw, lso, aborted, records = kafka_wire.fetch_v4_partition(
        conn, "txn-w", 0, 0, max_wait_ms=10000, min_bytes=1, isolation_level=1)
    waited = time.monotonic() - started
    t.join()
    assert (err, lso, aborted) == (0, 2, [])
    assert values_of(records) == [(0, b"w")]
    assert 0.4 < waited < 8, waited
    other.close()
    conn.close()
