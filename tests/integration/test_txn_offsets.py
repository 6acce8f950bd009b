"""Offsets committed inside transactions (TxnOffsetCommit, API 28): the
errors Kafka 4.4 answers for each check (recorded against
scripts/kafka-peer.sh, with a transaction that had added the group's
partition), offsets that stay pending, invisible to OffsetFetch and
UNSTABLE_OFFSET_COMMIT under require_stable, across a restart too, until
EndTxn's marker commits or drops them, and DeleteGroups / OffsetDelete of
partitions that only an open transaction holds."""
import time

import kafka_wire as kw
from group_wire import (delete_groups_v1, find_coordinator_v4, offset_commit_v2,
                        offset_commit_v7, offset_delete_v0, offset_fetch_v5, offset_fetch_v8)
from test_groups_protocol import FAST, create_topic, stable_member
from test_txn_coordinator import end_txn
from txn_offsets_wire import (add_offsets_to_txn_v3, errors_of, init_producer_id_v4,
                              offset_fetch_v7, txn_offset_commit)

NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
UNKNOWN_TOPIC_OR_PARTITION = 3
ILLEGAL_GENERATION = 22
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
UNSTABLE_OFFSET_COMMIT = 88
WAIT_S = 20


def open_txn(conn, txn_id, groups):
    """A transactional producer whose transaction holds the groups' offsets
    partitions: returns (producer id, epoch)."""
    deadline = time.time() + WAIT_S
    while find_coordinator_v4(conn, [txn_id], key_type=1)[0][1] != NONE:
        assert time.time() < deadline
        time.sleep(0.1)
    err, pid, epoch = init_producer_id_v4(conn, txn_id)
    assert err == NONE
    for g in groups:
        assert add_offsets_to_txn_v3(conn, txn_id, (pid, epoch), g) == NONE
    return pid, epoch


def until_stable(conn, group, partitions):
    """OffsetFetch with require_stable, retried while a marker is on its way."""
    deadline = time.time() + WAIT_S
    while True:
        err, offsets = offset_fetch_v7(conn, group, partitions)
        if all(e != UNSTABLE_OFFSET_COMMIT for _, e in offsets.values()) or time.time() > deadline:
            return err, offsets
        time.sleep(0.1)


def test_checks_before_the_group_as_kafka_does(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    P = open_txn(c, "tx", ["g", "big", ""])
    for version in range(5):
        answer = txn_offset_commit(c, version, "tx", "g", P,
                                   {("t", 0): 5, ("nope", 0): 1, ("t", 9): 2})
        assert answer == [("t", [(9, UNKNOWN_TOPIC_OR_PARTITION), (0, NONE)]),
                          ("nope", [(0, UNKNOWN_TOPIC_OR_PARTITION)])], version
    assert txn_offset_commit(c, 3, "tx", "", P, {("t", 0): 5, ("nope", 0): 1}) == [
        ("nope", [(0, UNKNOWN_TOPIC_OR_PARTITION)]), ("t", [(0, INVALID_GROUP_ID)])]
    meta = {("t", 0): (5, "x" * 5000), ("t", 1): 3}
    assert errors_of(txn_offset_commit(c, 2, "tx", "big", P, meta)) == {
        ("t", 0): OFFSET_METADATA_TOO_LARGE, ("t", 1): NONE}
    # The transaction coordinator's verdict (KIP-890): the group's partition
    # ("y" is in __consumer_offsets-1, the others in 0 and 3) is not in the
    # transaction, or the epoch is not the producer's.
    pid, epoch = P
    one = {("t", 0): 5, ("nope", 0): 1}
    assert errors_of(txn_offset_commit(c, 3, "tx", "y", P, one)) == {
        ("t", 0): INVALID_TXN_STATE, ("nope", 0): UNKNOWN_TOPIC_OR_PARTITION}
    for stale in (epoch - 1, epoch + 1):
        assert errors_of(txn_offset_commit(c, 3, "tx", "g", (pid, stale), one))[("t", 0)] == \
            INVALID_PRODUCER_EPOCH


def test_member_checks_as_kafka_does(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 1)
    c = kw.Conn(b.bootstrap)
    one = {("t", 0): 5}
    P = open_txn(c, "tx", ["unknown", "simple", "live"])

    def commit(group, **kw_):
        return errors_of(txn_offset_commit(c, 3, "tx", group, P, one, **kw_))[("t", 0)]

    assert commit("unknown", generation=5) == ILLEGAL_GENERATION
    assert offset_commit_v7(c, "simple", -1, "", {("t", 0): (1, "")}) == {("t", 0): NONE}
    # An empty group takes any commit without a generation, named member or not.
    assert commit("simple", generation=-1, member_id="x") == NONE
    assert commit("simple", generation=-1, instance_id="i") == NONE
    assert commit("simple", generation=3, member_id="x") == UNKNOWN_MEMBER_ID
    m = kw.Conn(b.bootstrap)
    j = stable_member(m, "live")
    gen, member = j["generation"], j["member_id"]
    # Unlike OffsetCommit, a transactional commit naming no member is taken
    # (clients before v3 name none).
    assert commit("live") == NONE
    assert commit("live", generation=gen, member_id=member) == NONE
    assert commit("live", generation=gen + 1, member_id=member) == ILLEGAL_GENERATION
    assert commit("live", generation=gen, member_id="zz") == UNKNOWN_MEMBER_ID
    assert commit("live", generation=-1, member_id=member) == ILLEGAL_GENERATION
    assert commit("live", generation=gen, member_id=member, instance_id="i") == UNKNOWN_MEMBER_ID


def test_pending_until_the_marker(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    both = [("t", 0), ("t", 1)]
    assert offset_commit_v7(c, "g", -1, "", {("t", 1): (3, "plain")}) == {("t", 1): NONE}
    pid, epoch = open_txn(c, "tx", ["g"])
    assert errors_of(txn_offset_commit(c, 2, "tx", "g", (pid, epoch),
                                       {("t", 0): 5, ("t", 1): 9})) == {("t", 0): NONE,
                                                                        ("t", 1): NONE}

    def check_pending():
        assert offset_fetch_v5(c, "g", both) == (NONE, {("t", 0): (-1, "", NONE),
                                                       ("t", 1): (3, "plain", NONE)})
        assert offset_fetch_v7(c, "g", both, require_stable=False) == (
            NONE, {("t", 0): (-1, NONE), ("t", 1): (3, NONE)})
        assert offset_fetch_v7(c, "g", both) == (
            NONE, {("t", 0): (-1, UNSTABLE_OFFSET_COMMIT), ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)})
        # All partitions: only committed ones are listed, each unstable.
        assert offset_fetch_v7(c, "g", None) == (NONE, {("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)})
        # Several groups (v8): per partition too, the other group untouched.
        assert offset_fetch_v8(c, {"g": both, "w": both}, require_stable=True, with_errors=True) == {
            "g": (NONE, {("t", 0): (-1, UNSTABLE_OFFSET_COMMIT),
                         ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)}),
            "w": (NONE, {("t", 0): (-1, NONE), ("t", 1): (-1, NONE)})}

    check_pending()
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    check_pending()
    assert "; skipped" not in b.log_text()
    # The transaction survived the restart too; its commit marker makes the
    # offsets the group's.
    assert end_txn(c, "tx", pid, epoch, True) == NONE
    assert until_stable(c, "g", both) == (NONE, {("t", 0): (5, NONE), ("t", 1): (9, NONE)})
    # An aborted transaction leaves the committed offsets as they were.
    pid, epoch = open_txn(c, "tx", ["g"])
    assert errors_of(txn_offset_commit(c, 3, "tx", "g", (pid, epoch), {("t", 0): 50})) == {
        ("t", 0): NONE}
    assert end_txn(c, "tx", pid, epoch, False) == NONE
    assert until_stable(c, "g", both) == (NONE, {("t", 0): (5, NONE), ("t", 1): (9, NONE)})
    # Replayed at start: the markers in the log decide again.
    c.close()
    b.kill9()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v7(c, "g", both) == (NONE, {("t", 0): (5, NONE), ("t", 1): (9, NONE)})
    assert "; skipped" not in b.log_text()


def test_deleting_pending_offsets(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    both = [("t", 0), ("t", 1)]
    P = open_txn(c, "tx", ["d", "e"])
    assert errors_of(txn_offset_commit(c, 0, "tx", "d", P, {("t", 0): 5, ("t", 1): 6})) == {
        ("t", 0): NONE, ("t", 1): NONE}
    # OffsetDelete writes a tombstone for a partition only a transaction holds.
    assert offset_delete_v0(c, "d", [("t", 0)]) == (NONE, {("t", 0): NONE})
    assert offset_fetch_v7(c, "d", both)[1] == {("t", 0): (-1, NONE),
                                                ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)}
    assert errors_of(txn_offset_commit(c, 0, "tx", "e", P, {("t", 0): 7})) == {("t", 0): NONE}
    assert delete_groups_v1(c, ["e"]) == {"e": NONE}
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v7(c, "d", both)[1] == {("t", 0): (-1, NONE),
                                                ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)}
    assert offset_fetch_v7(c, "e", both)[1] == {("t", 0): (-1, NONE), ("t", 1): (-1, NONE)}
    # The commit brings back neither the deleted offset nor the deleted group's.
    assert end_txn(c, "tx", *P, True) == NONE
    assert until_stable(c, "d", both) == (NONE, {("t", 0): (-1, NONE), ("t", 1): (6, NONE)})
    assert offset_fetch_v7(c, "e", both)[1] == {("t", 0): (-1, NONE), ("t", 1): (-1, NONE)}


RETENTION_MS = 3000


def test_no_expiry_while_a_transaction_holds_the_partition(make_broker):
    b = make_broker(dict(FAST, **{"offsets.retention.check.interval.ms": "200"}))
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    both = [("t", 0), ("t", 1)]
    # The transaction must hold t-0 before its 3 s retention runs out: a
    # shorter one was missed on a loaded machine.
    committed = time.monotonic()
    assert offset_commit_v2(c, "x", -1, "", RETENTION_MS, {("t", 0): 5, ("t", 1): 6}) == {
        ("t", 0): NONE, ("t", 1): NONE}
    P = open_txn(c, "tx", ["x"])
    assert errors_of(txn_offset_commit(c, 3, "tx", "x", P, {("t", 0): 50})) == {("t", 0): NONE}
    assert time.monotonic() - committed < RETENTION_MS / 1000
    time.sleep(committed + RETENTION_MS / 1000 + 1.0 - time.monotonic())
    # t-1 expired; t-0 waits for the transaction (Kafka's cleanupExpiredOffsets).
    assert offset_fetch_v7(c, "x", both, require_stable=False)[1] == {("t", 0): (5, NONE),
                                                                      ("t", 1): (-1, NONE)}
    assert end_txn(c, "tx", *P, False) == NONE
    deadline = time.time() + WAIT_S
    while offset_fetch_v7(c, "x", both)[1][("t", 0)] != (-1, NONE):
        assert time.time() < deadline
        time.sleep(0.2)


def test_send_offsets_to_transaction(make_broker):
    """Debian's confluent-kafka (librdkafka 2.0.2), consume-transform-produce:
    the offsets a transaction sends become the group's at commit, and not
    after an abort; a read_committed reader sees only the committed output."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    b = make_broker(FAST)
    create_topic(b.bootstrap, "in", 1)
    create_topic(b.bootstrap, "out", 1)
    plain = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(10):
        plain.produce("in", value=b"%d" % i)
    assert plain.flush(WAIT_S) == 0
    consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "cg",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed"})
    consumer.subscribe(["in"])
    producer = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "ctp"})
    producer.init_transactions(WAIT_S)
    c = kw.Conn(b.bootstrap)

    def transform(n, commit):
        got = []
        deadline = time.time() + WAIT_S
        while len(got) < n and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got.append(m)
        assert len(got) == n
        producer.begin_transaction()
        for m in got:
            producer.produce("out", value=m.value())
        producer.send_offsets_to_transaction(
            [TopicPartition("in", 0, got[-1].offset() + 1)], consumer.consumer_group_metadata(),
            WAIT_S)
        if commit:
            producer.commit_transaction(WAIT_S)
        else:
            producer.abort_transaction(WAIT_S)

    transform(4, True)
    assert until_stable(c, "cg", [("in", 0)]) == (NONE, {("in", 0): (4, NONE)})
    transform(3, False)
    assert until_stable(c, "cg", [("in", 0)]) == (NONE, {("in", 0): (4, NONE)})
    assert consumer.committed([TopicPartition("in", 0)], WAIT_S)[0].offset == 4
    consumer.close()
    reader = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "reader",
                       "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    reader.assign([TopicPartition("out", 0)])
    seen = []
    deadline = time.time() + WAIT_S
    while len(seen) < 4 and time.time() < deadline:
        m = reader.poll(0.5)
        if m is not None and not m.error():
            seen.append(m.value())
    # Nothing of the aborted transaction after the committed one.
    m = reader.poll(1.0)
    assert seen == [b"0", b"1", b"2", b"3"] and (m is None or m.error())
    reader.close()
