"""The transaction coordinator over the raw wire: FindCoordinator for a
transactional id, InitProducerId (new ids, epoch bumps, fencing of an open
transaction, KIP-360, the timeout bound), AddPartitionsToTxn (unknown
partitions, old epochs), EndTxn (its states and errors), a transaction
aborted by its timeout, and the state surviving a restart."""
import struct
import time

from group_wire import Reader, cstring as compact_string
from kafka_wire import Conn, batches_end, metadata_v4, string, uvarint

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTION_ABORTABLE = 120

WAIT_S = 20


def find_coordinator_v1(conn, key, key_type=1):
    conn.request(10, 1, string(key) + struct.pack(">b", key_type))
    r = conn.response()
    err = struct.unpack(">h", r[8:10])[0]
    return err


def init_producer_id(conn, txn_id, timeout_ms=60000, producer=(-1, -1), version=1):
    if version < 2:
        conn.request(22, version, string(txn_id) + struct.pack(">i", timeout_ms))
        r = conn.response()
        _, _, err, pid, epoch = struct.unpack(">iihqh", r[:20])
        return err, pid, epoch
    body = compact_string(txn_id) + struct.pack(">i", timeout_ms)
    if version >= 3:
        body += struct.pack(">qh", *producer)
    conn.request(22, version, body + b"\x00", flexible=True)
    r = conn.response()
    _, _, err, pid, epoch = struct.unpack(">iihqh", r[:4] + r[5:21])
    return err, pid, epoch


def add_partitions_v(conn, version, txn_id, pid, epoch, topics):
    body = string(txn_id) + struct.pack(">qhi", pid, epoch, len(topics))
    for name, parts in topics.items():
        body += string(name) + struct.pack(">i", len(parts)) + b"".join(
            struct.pack(">i", p) for p in parts)
    conn.request(24, version, body)
    r = conn.response()
    pos = 8
    n = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4
    out = {}
    for _ in range(n):
        ln = struct.unpack(">h", r[pos:pos + 2])[0]
        name = r[pos + 2:pos + 2 + ln].decode()
        pos += 2 + ln
        m = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        for _ in range(m):
            p, e = struct.unpack(">ih", r[pos:pos + 6])
            pos += 6
            out[(name, p)] = e
    return out


def end_txn(conn, txn_id, pid, epoch, commit, version=1):
    conn.request(26, version, string(txn_id) + struct.pack(">qhb", pid, epoch, 1 if commit else 0))
    r = conn.response()
    return struct.unpack(">h", r[8:10])[0]


def until(fn, want, what):
    deadline = time.time() + WAIT_S
    while True:
        got = fn()
        if got[0] == want or time.time() > deadline:
            assert got[0] == want, f"{what}: {got}"
            return got
        time.sleep(0.1)


def test_find_and_init(broker):
    c = Conn(broker.bootstrap)
    assert find_coordinator_v1(c, "t-find") == NONE
    err, pid, epoch = init_producer_id(c, "t-find")
    assert (err, epoch) == (NONE, 0) and pid >= 0
    err, pid2, epoch2 = init_producer_id(c, "t-find")
    assert (err, pid2, epoch2) == (NONE, pid, 1)
    assert init_producer_id(c, "t-find", timeout_ms=900001)[0] == INVALID_TRANSACTION_TIMEOUT
    assert init_producer_id(c, "t-find", timeout_ms=0)[0] == INVALID_TRANSACTION_TIMEOUT
    # KIP-360: the current id and epoch bump; a stale pair is fenced.
    err, pid3, epoch3 = init_producer_id(c, "t-find", producer=(pid, 1), version=3)
    assert (err, pid3, epoch3) == (NONE, pid, 2)
    assert init_producer_id(c, "t-find", producer=(pid, 0), version=3)[0] == INVALID_PRODUCER_EPOCH
    assert init_producer_id(c, "t-find", producer=(pid, 0), version=4)[0] == PRODUCER_FENCED
    # The retry of that bump (its answer lost) gets the same pair again.
    assert init_producer_id(c, "t-find", producer=(pid, 1), version=3) == (NONE, pid, 2)
    # A new producer (no id given) bumps; the pair before is no retry then.
    assert init_producer_id(c, "t-find") == (NONE, pid, 3)
    assert init_producer_id(c, "t-find", producer=(pid, 2), version=4)[0] == PRODUCER_FENCED
    # Another id gets another producer id.
    assert init_producer_id(c, "t-other")[1] not in (-1, pid)


def test_add_partitions_and_end(make_broker):
    c = Conn(make_broker({"num.partitions": "2"}).bootstrap)
    assert metadata_v4(c, "txn-data") == 0
    _, pid, epoch = init_producer_id(c, "t-end")
    got = add_partitions_v(c, 1, "t-end", pid, epoch, {"txn-data": [0], "no-such-topic": [0]})
    assert got == {("txn-data", 0): OPERATION_NOT_ATTEMPTED,
                   ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION}
    got = add_partitions_v(c, 1, "t-end", pid, epoch, {"txn-data": [0, 99]})
    assert got == {("txn-data", 0): OPERATION_NOT_ATTEMPTED, ("txn-data", 99): UNKNOWN_TOPIC_OR_PARTITION}
    assert end_txn(c, "t-end", pid, epoch, True) == INVALID_TXN_STATE  # Empty
    assert end_txn(c, "no-such-id", pid, epoch, True) == INVALID_PRODUCER_ID_MAPPING
    assert end_txn(c, "t-end", pid + 1000, epoch, True) == INVALID_PRODUCER_ID_MAPPING
    # An older epoch: INVALID_PRODUCER_EPOCH before v2, PRODUCER_FENCED from v2.
    _, pid, epoch = init_producer_id(c, "t-end")
    assert add_partitions_v(c, 1, "t-end", pid, epoch - 1, {"txn-data": [0]}) == \
        {("txn-data", 0): INVALID_PRODUCER_EPOCH}
    assert add_partitions_v(c, 2, "t-end", pid, epoch - 1, {"txn-data": [0]}) == \
        {("txn-data", 0): PRODUCER_FENCED}
    assert add_partitions_v(c, 2, "t-end", pid, epoch, {"txn-data": [0, 1]}) == \
        {("txn-data", 0): NONE, ("txn-data", 1): NONE}
    assert end_txn(c, "t-end", pid, epoch, False) == NONE
    # The retried end: answered once the markers are written.
    until(lambda: (end_txn(c, "t-end", pid, epoch, False),), NONE, "retried abort")
    assert end_txn(c, "t-end", pid, epoch, True) == INVALID_TXN_STATE
    assert end_txn(c, "t-end", pid, epoch - 1, False, version=2) == PRODUCER_FENCED


def test_newer_producer_aborts_open_transaction(broker):
    c = Conn(broker.bootstrap)
    assert metadata_v4(c, "txn-fence") == 0
    _, pid, epoch = init_producer_id(c, "t-fence")
    assert add_partitions_v(c, 2, "t-fence", pid, epoch, {"txn-fence": [0]}) == {("txn-fence", 0): NONE}
    err, _, _ = init_producer_id(c, "t-fence")
    assert err == CONCURRENT_TRANSACTIONS
    err, pid2, epoch2 = until(lambda: init_producer_id(c, "t-fence"), NONE, "fencing init")
    assert pid2 == pid and epoch2 == epoch + 2
    assert end_txn(c, "t-fence", pid, epoch, True, version=2) == PRODUCER_FENCED


def test_timed_out_transaction_is_aborted(make_broker):
    b = make_broker({"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"})
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-slow") == 0
    _, pid, epoch = init_producer_id(c, "t-slow", timeout_ms=500)
    assert add_partitions_v(c, 2, "t-slow", pid, epoch, {"txn-slow": [0]}) == {("txn-slow", 0): NONE}
    time.sleep(1.5)
    until(lambda: (end_txn(c, "t-slow", pid, epoch, True, version=2),), PRODUCER_FENCED,
          "commit after the timeout")
    err, pid2, epoch2 = until(lambda: init_producer_id(c, "t-slow"), NONE, "init after abort")
    assert pid2 == pid and epoch2 == epoch + 2
    m = b.metrics()
    assert m["sluice_transactions_aborted_by_timeout_total"] == 1
    assert m["sluice_transactions_aborted_total"] == 1
    assert m["sluice_transactions_ongoing"] == 0
    assert m["sluice_transaction_producers_fenced_total"] == 2


def test_state_survives_restart(make_broker):
    b = make_broker()
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-keep") == 0
    _, pid, epoch = init_producer_id(c, "t-keep")
    assert add_partitions_v(c, 2, "t-keep", pid, epoch, {"txn-keep": [0]}) == {("txn-keep", 0): NONE}
    c.close()
    b.kill9()
    b.start()
    c = Conn(b.bootstrap)
    # The open transaction is still there: a newer producer must wait for
    # its abort, and then gets the epoch after the fencing one.
    assert init_producer_id(c, "t-keep")[0] == CONCURRENT_TRANSACTIONS
    err, pid2, epoch2 = until(lambda: init_producer_id(c, "t-keep"), NONE, "init after restart")
    assert pid2 == pid and epoch2 == epoch + 2
    c.close()
    assert b.stop() == 0
    b.start()
    c = Conn(b.bootstrap)
    assert init_producer_id(c, "t-keep")[1:] == (pid, epoch + 3)


def array(r, fn):
    """A compact array read with fn per element."""
    return [fn() for _ in range(r.uvarint() - 1)]


def describe_transactions(conn, ids):
    body = uvarint(len(ids) + 1) + b"".join(compact_string(i) for i in ids) + b"\x00"
    conn.request(65, 0, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")

    def state():
        err, tid, name = r.take(">h"), r.cstring(), r.cstring()
        timeout, start, pid, epoch = r.take(">iqqh")

        def topic():
            t = r.cstring()
            parts = array(r, lambda: r.take(">i"))
            r.tags()
            return t, parts
        topics = array(r, topic)
        r.tags()
        return {"error": err, "id": tid, "state": name, "timeout": timeout, "start": start,
                "pid": pid, "epoch": epoch, "topics": dict(topics)}
    return array(r, state)


def list_transactions(conn, states=(), pids=(), duration_ms=None):
    body = uvarint(len(states) + 1) + b"".join(compact_string(s) for s in states)
    body += uvarint(len(pids) + 1) + b"".join(struct.pack(">q", p) for p in pids)
    version = 0
    if duration_ms is not None:
        body += struct.pack(">q", duration_ms)
        version = 1
    conn.request(66, version, body + b"\x00", flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    err = r.take(">h")
    unknown = array(r, r.cstring)

    def state():
        tid, pid, name = r.cstring(), r.take(">q"), r.cstring()
        r.tags()
        return tid, pid, name
    return err, unknown, sorted(array(r, state))


def test_describe_and_list(make_broker):
    b = make_broker({"num.partitions": "3"})
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-view") == 0
    _, pid_a, epoch_a = init_producer_id(c, "t-view-a", timeout_ms=45000)
    _, pid_b, _ = init_producer_id(c, "t-view-b")
    assert add_partitions_v(c, 2, "t-view-a", pid_a, epoch_a, {"txn-view": [2, 0]}) == \
        {("txn-view", 2): NONE, ("txn-view", 0): NONE}
    assert b.metrics()["sluice_transactions_ongoing"] == 1
    a, e, missing = describe_transactions(c, ["t-view-a", "t-view-b", "t-view-none"])
    assert a["error"] == NONE and a["state"] == "Ongoing" and a["timeout"] == 45000
    assert a["pid"] == pid_a and a["epoch"] == epoch_a and a["start"] > 0
    assert a["topics"] == {"txn-view": [2, 0]}
    assert e["state"] == "Empty" and e["start"] == -1 and e["topics"] == {}
    assert missing["error"] == 105 and missing["id"] == "t-view-none"
    assert list_transactions(c) == (NONE, [], sorted([("t-view-a", pid_a, "Ongoing"),
                                                      ("t-view-b", pid_b, "Empty")]))
    assert list_transactions(c, states=["Ongoing", "Bogus"]) == \
        (NONE, ["Bogus"], [("t-view-a", pid_a, "Ongoing")])
    assert list_transactions(c, states=["Bogus"]) == (NONE, ["Bogus"], [])
    assert list_transactions(c, pids=[pid_b]) == (NONE, [], [("t-view-b", pid_b, "Empty")])
    # v1: only transactions running longer than the duration.
    assert list_transactions(c, states=["Ongoing"], duration_ms=3600000) == (NONE, [], [])
    time.sleep(0.05)
    assert list_transactions(c, states=["Ongoing"], duration_ms=0)[2] == [("t-view-a", pid_a, "Ongoing")]
    assert end_txn(c, "t-view-a", pid_a, epoch_a, True) == NONE
    until(lambda: (describe_transactions(c, ["t-view-a"])[0]["state"],), "CompleteCommit",
          "state after commit")
    assert describe_transactions(c, ["t-view-a"])[0]["topics"] == {}
    m = b.metrics()
    assert m["sluice_transactions_ongoing"] == 0 and m["sluice_transactions_committed_total"] == 1


def test_idle_transactional_id_expires(make_broker):
    b = make_broker({"transactional.id.expiration.ms": "1000",
                     "transaction.remove.expired.transaction.cleanup.interval.ms": "200"})
    c = Conn(b.bootstrap)
    _, pid, _ = init_producer_id(c, "t-exp")
    _, pid_kept, _ = init_producer_id(c, "t-busy")
    deadline = time.time() + WAIT_S
    while describe_transactions(c, ["t-exp"])[0]["error"] == NONE and time.time() < deadline:
        init_producer_id(c, "t-busy")  # stays in use
        time.sleep(0.2)
    assert describe_transactions(c, ["t-exp"])[0]["error"] == 105
    assert describe_transactions(c, ["t-busy"])[0]["pid"] == pid_kept
    assert b.metrics()["sluice_transactional_ids_expired_total"] == 1
    c.close()
    assert b.stop() == 0
    b.start()
    c = Conn(b.bootstrap)
    # Its tombstone replayed: the id starts over with a new producer id.
    assert describe_transactions(c, ["t-exp"])[0]["error"] == 105
    err, pid2, epoch2 = init_producer_id(c, "t-exp")
    assert err == NONE and pid2 not in (pid, pid_kept) and epoch2 == 0


def java_hash_partition(s, partitions):
    h = 0
    for ch in s.encode("utf-16-be").decode("utf-16-be"):
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def keyed_batch(base_offset, key, value):
    """One record batch v2 holding one keyed record, as the coordinator writes."""
    from kafka_wire import crc32c, varint
    ts = int(time.time() * 1000)
    body = b"\x00" + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + value + varint(0)
    recs = varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, 0, ts, ts, -1, -1, -1, 1) + recs
    after_len = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", base_offset, len(after_len)) + after_len


def append_state(data_dir, txn_id, offset, pid, epoch, status, topic):
    """Appends a TransactionLogValue v0 for txn_id (one partition, topic-0)
    at `offset` of its __transaction_state partition."""
    import os
    part = java_hash_partition(txn_id, 50)
    key = struct.pack(">h", 0) + string(txn_id)
    now = int(time.time() * 1000)
    value = struct.pack(">hqhib", 0, pid, epoch, 60000, status) + struct.pack(">i", 1) + string(topic)
    value += struct.pack(">ii", 1, 0) + struct.pack(">qq", now, now - 10)
    log = os.path.join(data_dir, f"__transaction_state-{part}", "00000000000000000000.log")
    with open(log, "r+b") as f:
        # After the batches, not at the file's end: a killed broker's active
        # segment is sparse up to segment.bytes (mapped appends).
        f.seek(batches_end(f.read()))
        f.write(keyed_batch(offset, key, value))


def test_prepared_transaction_resumes_after_restart(make_broker, data_dir):
    """A crash between PrepareCommit and its markers: the next start writes
    the markers and completes. The PrepareCommit record is appended by hand
    to the id's partition while the broker is down (only the broker may
    produce to __transaction_state)."""
    from kafka_wire import list_offsets_v7
    b = make_broker()
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-res") == 0
    _, pid, epoch = init_producer_id(c, "t-res")
    assert add_partitions_v(c, 2, "t-res", pid, epoch, {"txn-res": [0]}) == {("txn-res", 0): NONE}
    end_before = list_offsets_v7(c, "txn-res", 0, -1)[2]
    c.close()
    b.kill9()
    append_state(data_dir, "t-res", 2, pid, epoch, 2, "txn-res")  # after Empty and Ongoing
    b.start()
    c = Conn(b.bootstrap)
    until(lambda: (describe_transactions(c, ["t-res"])[0]["state"],), "CompleteCommit",
          "the resumed commit")
    # The coordinator loads its partitions after the listener opens: the line
    # is certain only once the commit it announces has completed.
    assert "resuming its COMMIT markers" in b.log_text()
    assert list_offsets_v7(c, "txn-res", 0, -1)[2] == end_before + 1  # the COMMIT marker


def add_partitions_v4(conn, txns, version=4):
    """txns: [(id, pid, epoch, verify_only, {topic: [partitions]})] ->
    {id: {(topic, partition): error}}."""
    body = uvarint(len(txns) + 1)
    for tid, pid, epoch, verify, topics in txns:
        body += compact_string(tid) + struct.pack(">qhb", pid, epoch, 1 if verify else 0)
        body += uvarint(len(topics) + 1)
        for name, parts in topics.items():
            body += compact_string(name) + uvarint(len(parts) + 1)
            body += b"".join(struct.pack(">i", p) for p in parts) + b"\x00"
        body += b"\x00"
    conn.request(24, version, body + b"\x00", flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    assert r.take(">h") == NONE

    def txn():
        tid = r.cstring()
        out = {}

        def topic():
            name = r.cstring()

            def part():
                p, e = r.take(">ih")
                r.tags()
                out[(name, p)] = e
            array(r, part)
            r.tags()
        array(r, topic)
        r.tags()
        return tid, out
    return dict(array(r, txn))


def test_add_partitions_batched_and_verify_only(make_broker):
    """v4+ (broker to broker): several transactional ids on their own
    coordinators in one request, and KIP-890's verify-only form."""
    b = make_broker({"num.partitions": "2", "transaction.state.log.num.partitions": "8"})
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-batch") == 0
    ids = [f"t-batch-{i}" for i in range(6)]
    pairs = {i: init_producer_id(c, i)[1:] for i in ids}
    got = add_partitions_v4(c, [(i, *pairs[i], False, {"txn-batch": [0]}) for i in ids[:3]] +
                            [(ids[3], *pairs[ids[3]], False, {"txn-batch": [0], "nope": [0]})])
    assert got == {**{i: {("txn-batch", 0): NONE} for i in ids[:3]},
                   ids[3]: {("txn-batch", 0): OPERATION_NOT_ATTEMPTED, ("nope", 0): UNKNOWN_TOPIC_OR_PARTITION}}
    got = add_partitions_v4(c, [(ids[0], *pairs[ids[0]], True, {"txn-batch": [0, 1]}),
                                (ids[4], *pairs[ids[4]], True, {"txn-batch": [0]}),
                                (ids[5], pairs[ids[5]][0], pairs[ids[5]][1] - 1, True,
                                 {"txn-batch": [0]}),
                                ("t-batch-none", 1, 0, True, {"txn-batch": [0]})], version=5)
    assert got == {ids[0]: {("txn-batch", 0): NONE, ("txn-batch", 1): TRANSACTION_ABORTABLE},
                   ids[4]: {("txn-batch", 0): TRANSACTION_ABORTABLE},
                   ids[5]: {("txn-batch", 0): PRODUCER_FENCED},
                   "t-batch-none": {("txn-batch", 0): INVALID_PRODUCER_ID_MAPPING}}
    # Verify-only added nothing.
    assert describe_transactions(c, [ids[0]])[0]["topics"] == {"txn-batch": [0]}


def end_txn_v5(conn, txn_id, pid, epoch, commit):
    body = compact_string(txn_id) + struct.pack(">qhb", pid, epoch, 1 if commit else 0) + b"\x00"
    conn.request(26, 5, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    return r.take(">hqh")


def test_end_txn_v5_bumps_the_epoch(broker):
    """KIP-890 part 2, as Kafka 4.4 answers it: every end bumps the epoch
    and answers it; a retry with the epoch before gets the same answer; a
    commit with nothing open is INVALID_TXN_STATE, an abort is served."""
    c = Conn(broker.bootstrap)
    assert metadata_v4(c, "txn-tv2") == 0
    _, pid, epoch = init_producer_id(c, "t-tv2")
    assert add_partitions_v(c, 2, "t-tv2", pid, epoch, {"txn-tv2": [0]}) == {("txn-tv2", 0): NONE}
    assert end_txn_v5(c, "t-tv2", pid, epoch, True) == (NONE, pid, epoch + 1)
    until(lambda: end_txn_v5(c, "t-tv2", pid, epoch, True), NONE, "the retried commit")
    assert end_txn_v5(c, "t-tv2", pid, epoch, True) == (NONE, pid, epoch + 1)
    assert end_txn_v5(c, "t-tv2", pid, epoch + 1, True) == (INVALID_TXN_STATE, -1, -1)
    assert add_partitions_v(c, 2, "t-tv2", pid, epoch + 1, {"txn-tv2": [0]}) == {("txn-tv2", 0): NONE}
    assert end_txn_v5(c, "t-tv2", pid, epoch + 1, False) == (NONE, pid, epoch + 2)
    until(lambda: (describe_transactions(c, ["t-tv2"])[0]["state"],), "CompleteAbort", "the abort")
    assert end_txn_v5(c, "t-tv2", pid, epoch + 2, False) == (NONE, pid, epoch + 3)
    until(lambda: (describe_transactions(c, ["t-tv2"])[0]["epoch"],), epoch + 3, "the empty abort")
    assert end_txn_v5(c, "t-tv2", pid, epoch + 1, False)[0] == PRODUCER_FENCED


def add_offsets_v(conn, version, txn_id, pid, epoch, group):
    conn.request(25, version, string(txn_id) + struct.pack(">qh", pid, epoch) + string(group))
    return struct.unpack(">h", conn.response()[8:10])[0]


def test_add_offsets_to_txn(broker):
    """The group's __consumer_offsets partition joins the transaction."""
    c = Conn(broker.bootstrap)
    _, pid, epoch = init_producer_id(c, "t-offsets")
    assert add_offsets_v(c, 1, "t-offsets", pid, epoch, "g-offsets") == NONE
    part = java_hash_partition("g-offsets", 50)
    d = describe_transactions(c, ["t-offsets"])[0]
    assert d["state"] == "Ongoing" and d["topics"] == {"__consumer_offsets": [part]}
    assert add_offsets_v(c, 1, "t-none", pid, epoch, "g-offsets") == INVALID_PRODUCER_ID_MAPPING
    assert add_offsets_v(c, 1, "t-offsets", pid, epoch - 1, "g-offsets") == INVALID_PRODUCER_EPOCH
    assert add_offsets_v(c, 2, "t-offsets", pid, epoch - 1, "g-offsets") == PRODUCER_FENCED
    assert end_txn(c, "t-offsets", pid, epoch, True) == NONE
    until(lambda: (describe_transactions(c, ["t-offsets"])[0]["state"],), "CompleteCommit", "commit")


def test_states_kafka_never_writes(make_broker, data_dir):
    """A log holding Dead (Kafka writes a tombstone instead) forgets the id;
    one holding PrepareEpochFence (Kafka's in-memory state) aborts."""
    b = make_broker()
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-odd") == 0
    _, pid_dead, epoch_dead = init_producer_id(c, "t-dead")
    _, pid_fence, epoch_fence = init_producer_id(c, "t-fence-log")
    c.close()
    b.kill9()
    append_state(data_dir, "t-dead", 1, pid_dead, epoch_dead, 6, "txn-odd")
    append_state(data_dir, "t-fence-log", 1, pid_fence, epoch_fence, 7, "txn-odd")
    b.start()
    c = Conn(b.bootstrap)
    assert describe_transactions(c, ["t-dead"])[0]["error"] == 105
    err, pid, epoch = init_producer_id(c, "t-dead")
    assert err == NONE and pid != pid_dead and epoch == 0
    until(lambda: (describe_transactions(c, ["t-fence-log"])[0]["state"],), "CompleteAbort",
          "the fenced transaction's abort")


def test_exhausted_epoch_rotates_the_producer_id(make_broker, data_dir):
    """At epoch 32766 the next bump takes a new producer id at epoch 0; the
    old producer retrying that bump (KIP-360) is told the new pair."""
    b = make_broker()
    c = Conn(b.bootstrap)
    _, pid, _ = init_producer_id(c, "t-exhaust")
    c.close()
    b.kill9()
    append_state(data_dir, "t-exhaust", 1, pid, 32766, 0, "txn-exhaust")
    b.start()
    c = Conn(b.bootstrap)
    assert describe_transactions(c, ["t-exhaust"])[0]["epoch"] == 32766
    err, pid2, epoch2 = init_producer_id(c, "t-exhaust", producer=(pid, 32766), version=4)
    assert err == NONE and pid2 != pid and epoch2 == 0
    assert init_producer_id(c, "t-exhaust", producer=(pid, 32766), version=4) == (NONE, pid2, 0)
    assert init_producer_id(c, "t-exhaust", producer=(pid, 5), version=4)[0] == PRODUCER_FENCED


def test_partitions_per_transaction_bounded(broker):
    """More than TXN_PARTITIONS_MAX (10000) partitions in one
    AddPartitionsToTxn is INVALID_REQUEST: membership is a scan, and the
    bound keeps one request's cost bounded."""
    c = Conn(broker.bootstrap)
    assert metadata_v4(c, "txn-many") == 0
    _, pid, epoch = init_producer_id(c, "t-many")
    body = string("t-many") + struct.pack(">qhi", pid, epoch, 1) + string("txn-many")
    body += struct.pack(">i", 10001) + struct.pack(">i", 0) * 10001
    c.request(24, 2, body)
    r = c.response()
    assert struct.unpack(">h", r[8 + 4 + 2 + len("txn-many") + 4 + 4:][:2])[0] == 42
    assert add_partitions_v(c, 2, "t-many", pid, epoch, {"txn-many": [0] * 10000}) == {("txn-many", 0): NONE}


def read_values(bootstrap, topic, isolation, expected):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{isolation}",
                  "isolation.level": isolation, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + WAIT_S
    quiet_until = None
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m.value().decode())
        if len(got) >= expected and quiet_until is None:
            quiet_until = time.time() + 1  # then a little longer, for extra records
        if quiet_until and time.time() > quiet_until:
            break
    c.close()
    return got


def test_confluent_kafka_commit_abort_and_fencing(broker):
    """Debian's confluent-kafka (librdkafka 2.0.2): transactions committed
    and aborted alternately, read back read_committed and read_uncommitted;
    a second producer with the same transactional id fences the first."""
    from confluent_kafka import KafkaException, Producer
    topic = "txn-client"
    conf = {"bootstrap.servers": broker.bootstrap, "transactional.id": "t-client",
            "transaction.timeout.ms": 60000}
    p = Producer(conf)
    p.init_transactions(WAIT_S)
    for rnd in range(4):
        p.begin_transaction()
        for i in range(5):
            p.produce(topic, value=f"{rnd}-{i}".encode())
        p.flush(WAIT_S)
        if rnd % 2 == 0:
            p.commit_transaction(WAIT_S)
        else:
            p.abort_transaction(WAIT_S)
    committed = read_values(broker.bootstrap, topic, "read_committed", 10)
    assert sorted(committed) == sorted(f"{r}-{i}" for r in (0, 2) for i in range(5))
    assert len(read_values(broker.bootstrap, topic, "read_uncommitted", 20)) == 20
    p.begin_transaction()
    p.produce(topic, value=b"zombie")
    p.flush(WAIT_S)
    newer = Producer(conf)
    newer.init_transactions(WAIT_S)  # aborts the open transaction, fences p
    try:
        p.commit_transaction(WAIT_S)
        raise AssertionError("the fenced producer committed")
    except KafkaException as e:
        assert e.args[0].fatal() or "fenced" in str(e).lower(), str(e)
    newer.begin_transaction()
    newer.produce(topic, value=b"newer")
    newer.commit_transaction(WAIT_S)
    committed = read_values(broker.bootstrap, topic, "read_committed", 11)
    assert "zombie" not in committed and "newer" in committed


def test_transactional_ids_with_nul_are_kept_whole(make_broker):
    """A transactional id is a Kafka string: ids that differ after a NUL are
    two ids (Kafka takes them), named whole in DescribeTransactions and
    ListTransactions, and replayed whole from __transaction_state."""
    b = make_broker()
    c = Conn(b.bootstrap)
    assert metadata_v4(c, "txn-nul") == 0
    a, z = "t\x00a", "t\x00z"
    _, pid_a, epoch_a = init_producer_id(c, a)
    _, pid_z, _ = init_producer_id(c, z)
    assert pid_a != pid_z
    assert init_producer_id(c, a)[1:] == (pid_a, epoch_a + 1)
    assert add_partitions_v(c, 2, a, pid_a, epoch_a + 1, {"txn-nul": [0]}) == {("txn-nul", 0): NONE}
    da, dz, none = describe_transactions(c, [a, z, "t"])
    assert (da["id"], da["state"], da["pid"]) == (a, "Ongoing", pid_a)
    assert (dz["id"], dz["state"], dz["pid"]) == (z, "Empty", pid_z)
    assert none["error"] == 105
    assert list_transactions(c)[2] == sorted([(a, pid_a, "Ongoing"), (z, pid_z, "Empty")])
    assert end_txn(c, a, pid_a, epoch_a + 1, True) == NONE
    until(lambda: (describe_transactions(c, [a])[0]["state"],), "CompleteCommit", "commit")
    c.close()
    assert b.stop() == 0
    b.start()
    c = Conn(b.bootstrap)
    until(lambda: (describe_transactions(c, [a])[0]["state"],), "CompleteCommit", "replayed")
    assert describe_transactions(c, [z])[0]["pid"] == pid_z
    assert init_producer_id(c, a)[1:] == (pid_a, epoch_a + 2)
