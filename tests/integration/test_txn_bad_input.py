"""Transactions misused on the raw wire: stale producer epochs after a newer
producer took the transactional id over, sequence gaps inside a transaction,
EndTxn for an unknown transactional id or with nothing ongoing,
AddPartitionsToTxn for unknown topics and partitions, transaction requests
cut short. Each gets the error code Kafka 4.4 answers (taken from Kafka: the
tests run against any broker at SLUICE_TXN_TEST_BOOTSTRAP instead of a sluice
of their own), and the broker keeps serving: the transaction goes on where
Kafka's does, a connection opened before the bad input still answers, and a
new client produces and fetches."""
import os
import struct
import time
import uuid

import pytest

import kafka_wire
import txn_wire as w

TXN_TIMEOUT_MS = 60000
LEADER_WAIT_S = 30


@pytest.fixture
def bootstrap(request):
    if os.environ.get("SLUICE_TXN_TEST_BOOTSTRAP"):
        return os.environ["SLUICE_TXN_TEST_BOOTSTRAP"]
    return request.getfixturevalue("make_broker")().bootstrap


@pytest.fixture
def conn(bootstrap):
    """The misbehaving client's connection, and a bystander's opened before
    it: checked after the test, with a client that connects after."""
    bystander = w.Conn(bootstrap)
    c = w.Conn(bootstrap)
    yield c
    c.close()
    assert bystander.call("ApiVersions", 0)["error_code"] == 0
    bystander.close()
    still_serving(bootstrap)


def unique(what):
    return f"bad-{what}-{uuid.uuid4().hex[:8]}"


def create_topic(c, name, partitions=1):
    r = c.call("CreateTopics", 5, {"topics": [{"name": name, "num_partitions": partitions,
                                               "replication_factor": 1, "configs": []}],
                                   "timeout_ms": 30000})
    assert r["topics"][0]["error_code"] == 0, r
    deadline = time.time() + LEADER_WAIT_S
    while time.time() < deadline:
        if all(w.list_offset(c.call, name, p, w.READ_UNCOMMITTED)[0] == 0 for p in range(partitions)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} not served after {LEADER_WAIT_S}s")


def still_serving(bootstrap):
    c = w.Conn(bootstrap)
    try:
        topic = unique("after")
        create_topic(c, topic)
        batch = kafka_wire.record_batch([b"still", b"served"])
        assert w.produce(c.call, topic, 0, batch, None) == (0, 0)
        values, lso = w.read_committed_values(c.call, topic, 0)
        assert (values, lso) == (["still", "served"], 2)
    finally:
        c.close()


def begin(c, tid, topic, partitions=(0,)):
    pid, epoch = w.init_txn(c.call, tid, TXN_TIMEOUT_MS)
    assert set(w.add_partitions(c.call, tid, pid, epoch, {topic: list(partitions)}).values()) == {w.NONE}
    return pid, epoch


def test_stale_epoch_after_takeover(conn):
    """A second InitProducerId for the id bumps the epoch and aborts the open
    transaction: every request of the old epoch is refused (the coordinator's
    with PRODUCER_FENCED, the partition's and the group's with
    INVALID_PRODUCER_EPOCH), and the new epoch's transaction commits."""
    tid, topic, group = unique("tid"), unique("epoch"), unique("group")
    create_topic(conn, topic)
    assert w.find_coordinator(conn.call, group) == w.NONE
    pid, old = begin(conn, tid, topic)
    assert w.produce(conn.call, topic, 0, w.txn_batch(["old"], pid, old, 0), tid) == (0, 0)
    new_pid, new = w.init_txn(conn.call, tid, TXN_TIMEOUT_MS)
    # Kafka's epoch goes up twice: once to fence (its ABORT markers carry
    # that epoch), once for the new producer.
    assert (new_pid, new) == (pid, old + 2)
    assert w.add_partitions(conn.call, tid, pid, old, {topic: [0]}) == {(topic, 0): w.PRODUCER_FENCED}
    assert w.add_offsets(conn.call, tid, pid, old, group) == w.PRODUCER_FENCED
    assert w.end_txn(conn.call, tid, pid, old, True)["error_code"] == w.PRODUCER_FENCED
    assert w.produce(conn.call, topic, 0, w.txn_batch(["late"], pid, old, 1), tid)[0] == \
        w.INVALID_PRODUCER_EPOCH
    assert set(w.add_partitions(conn.call, tid, pid, new, {topic: [0]}).values()) == {w.NONE}
    assert w.add_offsets(conn.call, tid, pid, new, group) == w.NONE
    assert w.txn_offset_commit(conn.call, tid, group, pid, old, topic, {0: 1}) == \
        {0: w.INVALID_PRODUCER_EPOCH}
    assert w.produce(conn.call, topic, 0, w.txn_batch(["new"], pid, new, 0), tid)[0] == w.NONE
    assert w.end_txn(conn.call, tid, pid, new, True)["error_code"] == w.NONE
    assert read_committed_settled(conn, topic) == ["new"]


def test_sequence_gap_in_transaction(conn):
    """A gap is OUT_OF_ORDER_SEQUENCE_NUMBER and writes nothing; a retry of a
    written batch gets its first offset again; the next in-order batch and
    the commit go through, each record once."""
    tid, topic = unique("tid"), unique("seq")
    create_topic(conn, topic)
    pid, epoch = begin(conn, tid, topic)
    assert w.produce(conn.call, topic, 0, w.txn_batch(["a", "b"], pid, epoch, 0), tid) == (0, 0)
    assert w.produce(conn.call, topic, 0, w.txn_batch(["x"], pid, epoch, 5), tid)[0] == \
        w.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert w.produce(conn.call, topic, 0, w.txn_batch(["a", "b"], pid, epoch, 0), tid) == (0, 0)
    assert w.produce(conn.call, topic, 0, w.txn_batch(["c"], pid, epoch, 2), tid) == (0, 2)
    assert w.end_txn(conn.call, tid, pid, epoch, True)["error_code"] == w.NONE
    assert read_committed_settled(conn, topic) == ["a", "b", "c"]


def test_end_txn_unknown_or_idle(conn):
    """EndTxn for a transactional id never initialised, or with a producer id
    that is not the id's: INVALID_PRODUCER_ID_MAPPING; with nothing ongoing:
    INVALID_TXN_STATE. The id's own transaction still works after."""
    tid, topic = unique("tid"), unique("end")
    create_topic(conn, topic)
    pid, epoch = w.init_txn(conn.call, tid, TXN_TIMEOUT_MS)
    assert w.end_txn(conn.call, unique("never"), pid, epoch, True)["error_code"] == \
        w.INVALID_PRODUCER_ID_MAPPING
    assert w.end_txn(conn.call, tid, pid + 1000, epoch, True)["error_code"] == \
        w.INVALID_PRODUCER_ID_MAPPING
    assert w.end_txn(conn.call, tid, pid, epoch, True)["error_code"] == w.INVALID_TXN_STATE
    assert set(w.add_partitions(conn.call, tid, pid, epoch, {topic: [0]}).values()) == {w.NONE}
    assert w.produce(conn.call, topic, 0, w.txn_batch(["kept"], pid, epoch, 0), tid) == (0, 0)
    assert w.end_txn(conn.call, tid, pid, epoch, True)["error_code"] == w.NONE
    assert read_committed_settled(conn, topic) == ["kept"]


def test_add_partitions_unknown_topics(conn):
    """An unknown topic or partition fails the whole AddPartitionsToTxn:
    UNKNOWN_TOPIC_OR_PARTITION for those, OPERATION_NOT_ATTEMPTED for the
    rest, and nothing is added (a batch to the good partition is then
    INVALID_TXN_STATE); the same request without them goes through."""
    tid, topic, missing = unique("tid"), unique("known"), unique("missing")
    create_topic(conn, topic, partitions=2)
    pid, epoch = w.init_txn(conn.call, tid, TXN_TIMEOUT_MS)
    errs = w.add_partitions(conn.call, tid, pid, epoch, {topic: [0, 9], missing: [0]})
    assert errs == {(topic, 0): w.OPERATION_NOT_ATTEMPTED, (topic, 9): w.UNKNOWN_TOPIC_OR_PARTITION,
                    (missing, 0): w.UNKNOWN_TOPIC_OR_PARTITION}
    assert w.produce(conn.call, topic, 0, w.txn_batch(["early"], pid, epoch, 0), tid)[0] == \
        w.INVALID_TXN_STATE
    assert w.add_partitions(conn.call, tid, pid, epoch, {topic: [0, 1]}) == \
        {(topic, 0): w.NONE, (topic, 1): w.NONE}
    assert w.produce(conn.call, topic, 1, w.txn_batch(["in"], pid, epoch, 0), tid) == (0, 0)
    assert w.end_txn(conn.call, tid, pid, epoch, True)["error_code"] == w.NONE
    assert read_committed_settled(conn, topic, partition=1) == ["in"]


def test_timeout_over_the_maximum(conn):
    """transaction.timeout.ms over transaction.max.timeout.ms (15 minutes by
    default): INVALID_TRANSACTION_TIMEOUT, and no producer id."""
    err, pid, epoch = w.init_producer(conn.call, unique("tid"), timeout_ms=900_001)
    assert (err, pid, epoch) == (w.INVALID_TRANSACTION_TIMEOUT, -1, -1)


@pytest.mark.parametrize("api", ["AddPartitionsToTxn", "EndTxn", "InitProducerId"])
def test_request_cut_short(bootstrap, conn, api):
    """A transaction request whose body ends early: the broker closes that
    connection (Kafka cannot parse it) and no one else notices."""
    key = w.kafka_codec.api(api).key
    good = w.kafka_codec.encode_request(key, 3, 1, {
        "AddPartitionsToTxn": w.add_partitions_body(3, "t", 1, 0, {"x": [0]}),
        "EndTxn": {"transactional_id": "t", "producer_id": 1, "producer_epoch": 0, "committed": True},
        "InitProducerId": {"transactional_id": "t", "transaction_timeout_ms": 1000,
                           "producer_id": -1, "producer_epoch": -1}}[api], "txn-test")
    frame = good[4:-6]
    victim = kafka_wire.Conn(bootstrap)
    try:
        victim.send_raw(struct.pack(">i", len(frame)) + frame)
        assert victim.closed_by_peer(), f"{api} cut short: the connection stayed open"
    finally:
        victim.close()
    assert conn.call("ApiVersions", 0)["error_code"] == 0


def read_committed_settled(c, topic, partition=0):
    """The read_committed values once the partition's markers are written
    (Kafka writes them after answering EndTxn): bounded."""
    deadline = time.time() + LEADER_WAIT_S
    while True:
        values, lso = w.read_committed_values(c.call, topic, partition)
        hw = w.list_offset(c.call, topic, partition, w.READ_UNCOMMITTED)[1]
        if lso == hw or time.time() > deadline:
            assert lso == hw, f"{topic}/{partition}: last stable offset {lso}, high watermark {hw}"
            return values
        time.sleep(0.05)
