"""Offsets committed inside transactions (TxnOffsetCommit, API 28): the
errors Kafka 4.4 answers for each check on the group side (recorded against
scripts/kafka-peer.sh with a transaction that had added the group), offsets
that stay pending, invisible to OffsetFetch and UNSTABLE_OFFSET_COMMIT under
require_stable, across a restart too, and DeleteGroups / OffsetDelete of
partitions that only an open transaction holds."""
import kafka_wire as kw
from group_wire import delete_groups_v1, offset_commit_v7, offset_delete_v0, offset_fetch_v5
from test_groups_protocol import FAST, create_topic, stable_member
from txn_offsets_wire import errors_of, offset_fetch_v7, txn_offset_commit

NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
UNKNOWN_TOPIC_OR_PARTITION = 3
ILLEGAL_GENERATION = 22
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
UNSTABLE_OFFSET_COMMIT = 88

PRODUCER = (4000, 0)


def test_unknown_partitions_are_answered_first_as_kafka_does(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    for version in range(5):
        answer = txn_offset_commit(c, version, "tx", "g", PRODUCER,
                                   {("t", 0): 5, ("nope", 0): 1, ("t", 9): 2})
        assert answer == [("t", [(9, UNKNOWN_TOPIC_OR_PARTITION), (0, NONE)]),
                          ("nope", [(0, UNKNOWN_TOPIC_OR_PARTITION)])], version
    assert txn_offset_commit(c, 3, "tx", "", PRODUCER, {("t", 0): 5, ("nope", 0): 1}) == [
        ("nope", [(0, UNKNOWN_TOPIC_OR_PARTITION)]), ("t", [(0, INVALID_GROUP_ID)])]
    meta = {("t", 0): (5, "x" * 5000), ("t", 1): 3}
    assert errors_of(txn_offset_commit(c, 2, "tx", "big", PRODUCER, meta)) == {
        ("t", 0): OFFSET_METADATA_TOO_LARGE, ("t", 1): NONE}


def test_member_checks_as_kafka_does(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 1)
    c = kw.Conn(b.bootstrap)
    one = {("t", 0): 5}

    def commit(group, **kw_):
        return errors_of(txn_offset_commit(c, 3, "tx", group, PRODUCER, one, **kw_))[("t", 0)]

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


def test_pending_offsets_are_invisible_and_unstable(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    assert offset_commit_v7(c, "g", -1, "", {("t", 1): (3, "plain")}) == {("t", 1): NONE}
    assert errors_of(txn_offset_commit(c, 2, "tx", "g", PRODUCER, {("t", 0): 5, ("t", 1): 9})) == {
        ("t", 0): NONE, ("t", 1): NONE}
    both = [("t", 0), ("t", 1)]

    def check():
        assert offset_fetch_v5(c, "g", both) == (NONE, {("t", 0): (-1, "", NONE),
                                                       ("t", 1): (3, "plain", NONE)})
        assert offset_fetch_v7(c, "g", both, require_stable=False) == (
            NONE, {("t", 0): (-1, NONE), ("t", 1): (3, NONE)})
        assert offset_fetch_v7(c, "g", both) == (
            NONE, {("t", 0): (-1, UNSTABLE_OFFSET_COMMIT), ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)})
        # All partitions: only committed ones are listed, each unstable.
        assert offset_fetch_v7(c, "g", None) == (NONE, {("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)})

    check()
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    check()
    assert "; skipped" not in b.log_text()


def test_deleting_pending_offsets(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    both = [("t", 0), ("t", 1)]
    assert errors_of(txn_offset_commit(c, 0, "tx", "d", PRODUCER, {("t", 0): 5, ("t", 1): 6})) == {
        ("t", 0): NONE, ("t", 1): NONE}
    # OffsetDelete writes a tombstone for a partition only a transaction holds.
    assert offset_delete_v0(c, "d", [("t", 0)]) == (NONE, {("t", 0): NONE})
    assert offset_fetch_v7(c, "d", both)[1] == {("t", 0): (-1, NONE),
                                                ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)}
    assert txn_offset_commit(c, 0, "tx", "e", PRODUCER, {("t", 0): 7})
    assert delete_groups_v1(c, ["e"]) == {"e": NONE}
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v7(c, "d", both)[1] == {("t", 0): (-1, NONE),
                                                ("t", 1): (-1, UNSTABLE_OFFSET_COMMIT)}
    assert offset_fetch_v7(c, "e", both)[1] == {("t", 0): (-1, NONE), ("t", 1): (-1, NONE)}
