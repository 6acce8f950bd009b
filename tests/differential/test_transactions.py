"""Differential scenarios for transactions, request by request: FindCoordinator
for a transactional id (key type 1), InitProducerId with one, AddPartitionsToTxn
(the clients' v0-3 and the brokers' batched v4-5 with verify-only),
AddOffsetsToTxn, TxnOffsetCommit (offsets visible at commit only), EndTxn
(commit, abort, unknown id, wrong epoch, v5's epoch bump), WriteTxnMarkers,
DescribeTransactions, ListTransactions and its filters, Fetch read_committed
(last stable offset, aborted_transactions), ListOffsets isolation_level=1, and
Produce in a transaction with a wrong epoch, a sequence gap or a partition not
added.

Each broker hands out its own producer ids and clocks its own transactions, so
the recorded answers go through scrub(): producer ids become "<pid>", start
times only set or not, and a Fetch's records are listed batch by batch
(offsets, flags, epoch, sequence, values) without the producer id. After an
EndTxn, Kafka writes the markers in the background: steps that depend on them
wait (unrecorded, bounded) until the transaction has settled."""
import time

import pytest

from differ import check
from peers import integration_module, schema_versions

w = integration_module("txn_wire")

BASE_TS = (int(time.time()) - 60) * 1000
SETTLE_WAIT_S = 30
TXN_TIMEOUT_MS = 60000
# More than transaction.max.timeout.ms (Kafka's default, 15 minutes).
TOO_LONG_TIMEOUT_MS = 900_001
LONG_DURATION_MS = 3_600_000
OPEN_FOR_S = 0.02


def served_by_kafka(peers, api, version):
    """Skips a version Kafka does not serve. Not peers.require: a version
    sluice does not serve (yet) must fail here, not skip, so that the
    transaction APIs cannot go unadvertised unnoticed."""
    lo, hi = peers.ranges["kafka"].get(w.kafka_codec.api(api).key, (0, -1))
    if not lo <= version <= hi:
        pytest.skip(f"Kafka does not serve {api} v{version}")


# Kafka answers these from hash maps: their order is no part of the answer
# (the differ's own SORT rules do not reach the transaction APIs' names).
UNORDERED_BY = ("transactional_id", "name", "topic", "partition_index")


def scrub(value, key=None):
    """A recorded answer without what each broker picks for itself, its
    unordered lists sorted."""
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [scrub(v, key) for v in value]
        for order in UNORDERED_BY:
            if items and all(isinstance(i, dict) and order in i for i in items):
                items.sort(key=lambda i: i[order])
        return items
    if key == "producer_id" and isinstance(value, int) and value >= 0:
        return "<pid>"
    if key == "transaction_start_time_ms" and isinstance(value, int) and value > 0:
        return "<time>"
    if key == "records" and isinstance(value, bytes):
        return w.batches(value)
    return value


def error_codes(value):
    if isinstance(value, dict):
        return [c for k, v in value.items() for c in
                ([v] if "error_code" in k and isinstance(v, int) else error_codes(v))]
    if isinstance(value, list):
        return [c for v in value for c in error_codes(v)]
    return []


def rec(c, label, api, version, body):
    """One recorded call, asked again (unrecorded) while every error in the
    answer says to retry (a coordinator loading, a previous end being
    written): the settled answer is what both brokers are compared on."""
    deadline = time.time() + SETTLE_WAIT_S
    while True:
        r = c.call(api, version, body, record=False)
        codes = set(error_codes(r))
        if not (codes and codes <= w.RETRIABLE) or time.time() > deadline:
            break
        time.sleep(w.RETRY_PAUSE_S)
    c.note(label, scrub(r), api)
    return r


def call_of(c):
    return lambda api, version, body: c.call(api, version, body, record=False)


def settle(c, transactional_id, topic=None, partition=0, want_hw=None):
    """Waits (bounded) until the transaction is complete at the coordinator and,
    with topic, until the partition's last stable offset reached its high
    watermark of at least want_hw (its markers written)."""
    deadline = time.time() + SETTLE_WAIT_S
    call = call_of(c)
    while time.time() < deadline:
        s = call("DescribeTransactions", 0, {"transactional_ids": [transactional_id]})["transaction_states"][0]
        done = s["transaction_state"] in ("Empty", "CompleteCommit", "CompleteAbort")
        if done and topic is not None:
            p = w.fetch(call, topic, partition, 0, w.READ_UNCOMMITTED)
            done = p["last_stable_offset"] == p["high_watermark"] and \
                (want_hw is None or p["high_watermark"] >= want_hw)
        if done:
            return
        time.sleep(w.RETRY_PAUSE_S)
    raise AssertionError(f"{c.side}: {transactional_id} did not settle in {SETTLE_WAIT_S}s")


def begin(c, tid, topic, partitions=(0,)):
    """A producer of tid with an ongoing transaction on topic's partitions
    (unrecorded): (producer id, epoch)."""
    call = call_of(c)
    pid, epoch = w.init_txn(call, tid, TXN_TIMEOUT_MS)
    errs = w.add_partitions(call, tid, pid, epoch, {topic: list(partitions)})
    assert set(errs.values()) == {w.NONE}, f"{c.side}: AddPartitionsToTxn {errs}"
    return pid, epoch


def produce(c, label, topic, batch, tid, partition=0, version=9):
    return rec(c, label, "Produce", version, w.produce_body(topic, partition, batch, tid))


def end(c, label, tid, pid, epoch, commit, version=3):
    return rec(c, label, "EndTxn", version, {"transactional_id": tid, "producer_id": pid,
                                             "producer_epoch": epoch, "committed": commit})


def fetch_body(topic, offset, isolation, partition=0):
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
            "isolation_level": isolation, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": topic, "partitions": [
                {"partition": partition, "fetch_offset": offset, "log_start_offset": -1,
                 "partition_max_bytes": 1 << 20}]}],
            "forgotten_topics_data": [], "rack_id": ""}


def list_offsets_body(topic, isolation, timestamp=-1):
    return {"replica_id": -1, "isolation_level": isolation, "topics": [
        {"name": topic, "partitions": [{"partition_index": 0, "timestamp": timestamp}]}]}


def txn_batch(values, pid, epoch, seq):
    return w.txn_batch(values, pid, epoch, seq, ts=BASE_TS)


@pytest.mark.parametrize("v", [v for v in schema_versions("FindCoordinator") if v >= 1])
def test_find_coordinator_transaction(peers, v):
    served_by_kafka(peers, "FindCoordinator", v)
    tid = peers.name(f"fc-{v}")

    def scenario(c):
        keys = [tid, ""]
        if v >= 4:
            rec(c, "two transactional ids", "FindCoordinator", v,
                {"key_type": 1, "coordinator_keys": keys})
        else:
            for k in keys:
                rec(c, f"transactional id {k!r}", "FindCoordinator", v, {"key": k, "key_type": 1})
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("InitProducerId"))
def test_init_producer_id_transactional(peers, v):
    """The first InitProducerId of a transactional id; again (the same id, the
    epoch bumped); a timeout over transaction.max.timeout.ms and of 0; from
    v3 the producer's own id and epoch (KIP-360), and a stale epoch."""
    served_by_kafka(peers, "InitProducerId", v)
    tid = peers.name(f"ipi-{v}")

    def scenario(c):
        def init(label, timeout_ms=TXN_TIMEOUT_MS, producer=(-1, -1), transactional_id=tid):
            body = {"transactional_id": transactional_id, "transaction_timeout_ms": timeout_ms,
                    "producer_id": producer[0], "producer_epoch": producer[1]}
            return rec(c, label, "InitProducerId", v, body)
        first = init("first")
        again = init("again")
        c.note("the same producer id", first["producer_id"] == again["producer_id"])
        init("too long a timeout", TOO_LONG_TIMEOUT_MS, transactional_id=tid + "-long")
        init("a zero timeout", 0, transactional_id=tid + "-zero")
        if v >= 3:
            init("with its id and epoch", producer=(again["producer_id"], again["producer_epoch"]))
            init("with a stale epoch", producer=(again["producer_id"], first["producer_epoch"]))
    check(peers.run(scenario))


@pytest.mark.parametrize("v", [0, 1, 2, 3])
def test_add_partitions_to_txn_client_versions(peers, v):
    """Unknown topics and partitions fail the whole request (the rest
    OPERATION_NOT_ATTEMPTED); a good add, the same again; a stale epoch, an
    unknown transactional id, a producer id that is not the id's."""
    served_by_kafka(peers, "AddPartitionsToTxn", v)
    tid, topic = peers.name(f"apt-{v}"), peers.name(f"apt-{v}-t")

    def scenario(c):
        c.create_topic(topic, partitions=2)
        pid, epoch = w.init_txn(call_of(c), tid, TXN_TIMEOUT_MS)

        def add(label, topics, transactional_id=tid, producer=(pid, epoch)):
            rec(c, label, "AddPartitionsToTxn", v,
                w.add_partitions_body(v, transactional_id, producer[0], producer[1], topics))
        add("unknown topic and partition", {topic: [0, 7], peers.name(f"apt-{v}-none"): [0]})
        add("two partitions", {topic: [0, 1]})
        add("the same again", {topic: [1]})
        add("stale epoch", {topic: [0]}, producer=(pid, epoch - 1))
        add("unknown transactional id", {topic: [0]}, transactional_id=tid + "-none")
        add("another producer id", {topic: [0]}, producer=(pid + 1, epoch))
    check(peers.run(scenario))


@pytest.mark.parametrize("v", [4, 5])
def test_add_partitions_to_txn_batched(peers, v):
    """The brokers' form: several transactions in one request; verify-only
    (KIP-890 part 1) for partitions in and not in the transaction."""
    served_by_kafka(peers, "AddPartitionsToTxn", v)
    tid, topic = peers.name(f"aptb-{v}"), peers.name(f"aptb-{v}-t")

    def scenario(c):
        c.create_topic(topic, partitions=2)
        call = call_of(c)
        pid, epoch = w.init_txn(call, tid, TXN_TIMEOUT_MS)
        other_pid, other_epoch = w.init_txn(call, tid + "-2", TXN_TIMEOUT_MS)

        def txn(transactional_id, producer, topics, verify_only):
            return {"transactional_id": transactional_id, "producer_id": producer[0],
                    "producer_epoch": producer[1], "verify_only": verify_only,
                    "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()]}
        rec(c, "two transactions", "AddPartitionsToTxn", v, {"transactions": [
            txn(tid, (pid, epoch), {topic: [0]}, False),
            txn(tid + "-2", (other_pid, other_epoch), {peers.name(f"aptb-{v}-none"): [0]}, False)]})
        rec(c, "verify only", "AddPartitionsToTxn", v, {"transactions": [
            txn(tid, (pid, epoch), {topic: [0, 1]}, True)]})
        rec(c, "verify only, stale epoch", "AddPartitionsToTxn", v, {"transactions": [
            txn(tid, (pid, epoch - 1), {topic: [0]}, True)]})
        rec(c, "verify only, unknown id", "AddPartitionsToTxn", v, {"transactions": [
            txn(tid + "-none", (pid, epoch), {topic: [0]}, True)]})
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("AddOffsetsToTxn"))
def test_add_offsets_to_txn(peers, v):
    """A group's offsets partition joins the transaction (DescribeTransactions
    lists which __consumer_offsets partition); stale epoch; unknown id."""
    served_by_kafka(peers, "AddOffsetsToTxn", v)
    tid, group = peers.name(f"aot-{v}"), peers.name(f"aot-{v}-g")

    def scenario(c):
        assert w.find_coordinator(call_of(c), group) == w.NONE
        pid, epoch = w.init_txn(call_of(c), tid, TXN_TIMEOUT_MS)

        def add(label, transactional_id=tid, producer=(pid, epoch)):
            rec(c, label, "AddOffsetsToTxn", v, {"transactional_id": transactional_id,
                                                 "producer_id": producer[0],
                                                 "producer_epoch": producer[1], "group_id": group})
        add("add a group")
        rec(c, "described", "DescribeTransactions", 0, {"transactional_ids": [tid]})
        add("stale epoch", producer=(pid, epoch - 1))
        add("unknown transactional id", transactional_id=tid + "-none")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("EndTxn"))
def test_end_txn(peers, v):
    """Commit a transaction with records, end it again, abort the next one;
    EndTxn with nothing ongoing, a stale epoch, an unknown id. v5 answers
    the producer's id and epoch, bumped at each end (KIP-890 part 2)."""
    served_by_kafka(peers, "EndTxn", v)
    tid, topic = peers.name(f"end-{v}"), peers.name(f"end-{v}-t")

    def scenario(c):
        c.create_topic(topic)
        pid, epoch = begin(c, tid, topic)
        produce(c, "records", topic, txn_batch(["a", "b"], pid, epoch, 0), tid)
        r = end(c, "commit", tid, pid, epoch, True, v)
        settle(c, tid, topic, want_hw=3)
        seq = 2
        if v >= 5 and r["producer_epoch"] != epoch:
            epoch, seq = r["producer_epoch"], 0  # a new epoch starts its sequences again
        end(c, "commit again", tid, pid, epoch, True, v)
        settle(c, tid)
        call = call_of(c)
        errs = w.add_partitions(call, tid, pid, epoch, {topic: [0]})
        assert set(errs.values()) == {w.NONE}, f"{c.side}: {errs}"
        produce(c, "next records", topic, txn_batch(["c"], pid, epoch, seq), tid)
        r = end(c, "abort", tid, pid, epoch, False, v)
        settle(c, tid, topic, want_hw=5)
        if v >= 5:
            epoch = r["producer_epoch"]
        end(c, "abort with nothing ongoing", tid, pid, epoch, False, v)
        settle(c, tid)
        end(c, "stale epoch", tid, pid, epoch - 1, True, v)
        end(c, "unknown transactional id", tid + "-none", pid, epoch, True, v)
        rec(c, "the log", "Fetch", 11, fetch_body(topic, 0, w.READ_UNCOMMITTED))
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("TxnOffsetCommit"))
def test_txn_offset_commit(peers, v):
    """Offsets committed in a transaction: pending until the end (OffsetFetch
    with require_stable says UNSTABLE_OFFSET_COMMIT, without it the old
    offset), visible after a commit, dropped by an abort."""
    served_by_kafka(peers, "TxnOffsetCommit", v)
    tid, group, topic = peers.name(f"toc-{v}"), peers.name(f"toc-{v}-g"), peers.name(f"toc-{v}-t")

    def scenario(c):
        c.create_topic(topic)
        call = call_of(c)
        assert w.find_coordinator(call, group) == w.NONE
        pid, epoch = w.init_txn(call, tid, TXN_TIMEOUT_MS)

        def commit_offset(label, offset, producer=(pid, epoch), transactional_id=tid):
            body = {"transactional_id": transactional_id, "group_id": group,
                    "producer_id": producer[0], "producer_epoch": producer[1], "generation_id": -1,
                    "member_id": "", "group_instance_id": None,
                    "topics": [{"name": topic, "partitions": [
                        {"partition_index": 0, "committed_offset": offset, "committed_metadata": "m"}]}]}
            rec(c, label, "TxnOffsetCommit", v, body)

        def offsets(label, stable):
            rec(c, label, "OffsetFetch", 8, {"groups": [{"group_id": group, "topics": [
                {"name": topic, "partition_indexes": [0]}]}], "require_stable": stable})
        assert w.add_offsets(call, tid, pid, epoch, group) == w.NONE
        commit_offset("offset 5", 5)
        offsets("pending, require_stable", True)
        offsets("pending", False)
        commit_offset("stale epoch", 6, producer=(pid, epoch - 1))
        commit_offset("an unknown transactional id", 6, transactional_id=tid + "-unknown")
        commit_offset("another producer id", 6, producer=(pid + 4321, 0))
        end(c, "commit", tid, pid, epoch, True)
        settle(c, tid)
        offsets("after the commit", True)
        assert w.add_offsets(call, tid, pid, epoch, group) == w.NONE
        commit_offset("offset 9", 9)
        end(c, "abort", tid, pid, epoch, False)
        settle(c, tid)
        offsets("after the abort", True)
    check(peers.run(scenario))


@pytest.mark.parametrize("v", [v for v in schema_versions("WriteTxnMarkers") if v >= 1])
def test_write_txn_markers(peers, v):
    """A COMMIT marker written by request for an ongoing transaction's
    partition: its records become stable; an unknown topic and partition."""
    served_by_kafka(peers, "WriteTxnMarkers", v)
    tid, topic = peers.name(f"wtm-{v}"), peers.name(f"wtm-{v}-t")

    def scenario(c):
        c.create_topic(topic)
        pid, epoch = begin(c, tid, topic)
        produce(c, "records", topic, txn_batch(["a", "b"], pid, epoch, 0), tid)
        rec(c, "stable before", "ListOffsets", 7, list_offsets_body(topic, w.READ_COMMITTED))

        def marker(label, topics):
            rec(c, label, "WriteTxnMarkers", v, {"markers": [
                {"producer_id": pid, "producer_epoch": epoch, "transaction_result": True,
                 "topics": [{"name": t, "partition_indexes": ps} for t, ps in topics.items()],
                 "coordinator_epoch": 0}]})
        marker("commit marker", {topic: [0]})
        rec(c, "stable after", "ListOffsets", 7, list_offsets_body(topic, w.READ_COMMITTED))
        rec(c, "read committed", "Fetch", 11, fetch_body(topic, 0, w.READ_COMMITTED))
        marker("unknown topic and partition", {peers.name(f"wtm-{v}-none"): [0], topic: [5]})
    check(peers.run(scenario))


def test_describe_transactions(peers):
    """A transactional id through its states: Empty after InitProducerId,
    Ongoing with its partitions, CompleteCommit; and an unknown id."""
    tid, topic = peers.name("dt"), peers.name("dt-t")

    def scenario(c):
        c.create_topic(topic, partitions=2)
        call = call_of(c)

        def describe(label, ids=(tid,)):
            rec(c, label, "DescribeTransactions", 0, {"transactional_ids": list(ids)})
        pid, epoch = w.init_txn(call, tid, TXN_TIMEOUT_MS)
        describe("empty")
        assert set(w.add_partitions(call, tid, pid, epoch, {topic: [1, 0]}).values()) == {w.NONE}
        describe("ongoing")
        w.end_txn(call, tid, pid, epoch, True)
        settle(c, tid)
        describe("committed, and an unknown id", (tid, tid + "-none"))
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("ListTransactions"))
def test_list_transactions(peers, v):
    """Filtered by this scenario's producer ids (the peer may hold other
    transactions), by state, an unknown state name, and from v1 by how long
    a transaction has been open."""
    served_by_kafka(peers, "ListTransactions", v)
    tid, topic = peers.name(f"lt-{v}"), peers.name(f"lt-{v}-t")

    def scenario(c):
        c.create_topic(topic)
        call = call_of(c)
        idle_pid, _ = w.init_txn(call, tid + "-idle", TXN_TIMEOUT_MS)
        pid, _ = begin(c, tid, topic)

        def listed(label, states=(), duration=-1, pids=(idle_pid, pid)):
            body = {"state_filters": list(states), "producer_id_filters": list(pids)}
            if v >= 1:
                body["duration_filter"] = duration
            rec(c, label, "ListTransactions", v, body)
        listed("both producers")
        listed("ongoing", ["Ongoing"])
        listed("empty and an unknown state", ["Empty", "Bogus"])
        listed("no such producer", pids=(-5,))
        if v >= 1:
            listed("open over an hour", duration=LONG_DURATION_MS)
            # Open for some milliseconds at least, so that "longer than 0 ms"
            # does not depend on how fast the broker answered until now.
            time.sleep(OPEN_FOR_S)
            listed("open at all", ["Ongoing"], duration=0)
    check(peers.run(scenario))


def test_read_committed(peers):
    """A plain batch, then transaction A (open: the last stable offset stays
    before it; read_committed Fetch and ListOffsets stop there), A aborted,
    transaction B committed: read_committed returns aborted_transactions for
    A, read_uncommitted none; ListOffsets by isolation level at each step."""
    tid, topic = peers.name("rc"), peers.name("rc-t")

    def scenario(c):
        c.create_topic(topic)
        c.produce(topic, [w.kafka_wire.record_batch([b"plain"], ts=BASE_TS)])
        pid, epoch = begin(c, tid, topic)
        produce(c, "A's records", topic, txn_batch(["a1", "a2"], pid, epoch, 0), tid)

        def offsets(label):
            for iso, name in ((w.READ_COMMITTED, "read_committed"), (w.READ_UNCOMMITTED, "read_uncommitted")):
                rec(c, f"{label}: latest, {name}", "ListOffsets", 7, list_offsets_body(topic, iso))
        offsets("A open")
        rec(c, "A open: read_committed", "Fetch", 11, fetch_body(topic, 0, w.READ_COMMITTED))
        rec(c, "A open: read_committed from A", "Fetch", 11, fetch_body(topic, 1, w.READ_COMMITTED))
        w.end_txn(call_of(c), tid, pid, epoch, False)
        settle(c, tid, topic, want_hw=4)
        pid, epoch = begin(c, tid, topic)
        produce(c, "B's records", topic, txn_batch(["b1"], pid, epoch, 0), tid)
        w.end_txn(call_of(c), tid, pid, epoch, True)
        settle(c, tid, topic, want_hw=6)
        offsets("both ended")
        rec(c, "earliest, read_committed", "ListOffsets", 7,
            list_offsets_body(topic, w.READ_COMMITTED, timestamp=-2))
        rec(c, "read_committed", "Fetch", 11, fetch_body(topic, 0, w.READ_COMMITTED))
        rec(c, "read_committed from B", "Fetch", 11, fetch_body(topic, 4, w.READ_COMMITTED))
        rec(c, "read_uncommitted", "Fetch", 11, fetch_body(topic, 0, w.READ_UNCOMMITTED))
    check(peers.run(scenario))


def test_produce_in_transaction(peers):
    """Transactional batches: in order, a retry (the original offset), a
    sequence gap, an old epoch, a partition not added to the transaction
    (KIP-890 part 1), a transactional batch without the request's
    transactional id, an unknown transactional id, another producer's id,
    and after a newer producer took the id over."""
    tid, topic = peers.name("ptx"), peers.name("ptx-t")

    def scenario(c):
        c.create_topic(topic, partitions=2)
        pid, epoch = begin(c, tid, topic)
        produce(c, "seq 0-1", topic, txn_batch(["a", "b"], pid, epoch, 0), tid)
        produce(c, "seq 0-1 again", topic, txn_batch(["a", "b"], pid, epoch, 0), tid)
        produce(c, "a gap", topic, txn_batch(["x"], pid, epoch, 7), tid)
        produce(c, "old epoch", topic, txn_batch(["x"], pid, epoch - 1, 2), tid)
        produce(c, "partition not added", topic, txn_batch(["x"], pid, epoch, 0), tid, partition=1)
        produce(c, "no transactional id in the request", topic, txn_batch(["c"], pid, epoch, 2), None)
        produce(c, "an unknown transactional id", topic, txn_batch(["u"], pid, epoch, 2),
                tid + "-unknown")
        produce(c, "another producer id", topic, txn_batch(["u"], pid + 4321, 0, 0), tid)
        produce(c, "seq 2", topic, txn_batch(["c"], pid, epoch, 2), tid)
        new_pid, new_epoch = w.init_txn(call_of(c), tid, TXN_TIMEOUT_MS)
        c.note("taken over: the same id, a newer epoch", (new_pid == pid, new_epoch > epoch))
        settle(c, tid, topic)
        produce(c, "the fenced producer", topic, txn_batch(["y"], pid, epoch, 3), tid)
        rec(c, "the log", "Fetch", 11, fetch_body(topic, 0, w.READ_UNCOMMITTED))
    check(peers.run(scenario))
