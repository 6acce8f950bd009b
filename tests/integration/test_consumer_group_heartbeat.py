"""ConsumerGroupHeartbeat (KIP-848) over the wire, as a member drives it: two
members join a group on a 6-partition topic, the first revokes before the
second gets its share (no partition is ever assigned to both), a heartbeat
with a stale epoch is fenced, a leave hands everything back, a member that
stops heartbeating loses its partitions when its session ends, and the
classic protocol's JoinGroup for the same group id is refused. Offsets
commit with the member's epoch (STALE_MEMBER_EPOCH otherwise). The API is
served but not yet listed in ApiVersions (issue 17), so no client picks it
up until the group protocol is whole."""
import os
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "differential"))
import kafka_codec as codec  # noqa: E402
from kafka_wire import Conn, batch_records, partition_batches  # noqa: E402

HB = 68
HB_VERSION = 1
NONE, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, GROUP_ID_NOT_FOUND = 0, 25, 22, 69
INVALID_REQUEST, FENCED_MEMBER_EPOCH, UNSUPPORTED_ASSIGNOR, STALE_MEMBER_EPOCH = 42, 110, 112, 113
SESSION_MS = 1500
WAIT_S = 20
PARTITIONS = 6


def call(conn, key, version, values):
    a = codec.api(key)
    flex = version >= a.flex
    conn.request(key, version, codec.encode_body(key, version, "request", values), flexible=flex)
    return codec.decode_response(key, version, conn.response())[1]


def topic_id(conn, topic):
    r = call(conn, 3, 12, {"topics": [{"topic_id": bytes(16), "name": topic}],
                           "allow_auto_topic_creation": True})
    t = r["topics"][0]
    assert t["error_code"] == 0, t
    assert len(t["partitions"]) == PARTITIONS
    return t["topic_id"]


def heartbeat(conn, group, member, epoch, **fields):
    values = {"group_id": group, "member_id": member, "member_epoch": epoch}
    values.update(fields)
    return call(conn, HB, HB_VERSION, values)


def join(conn, group, member, topic):
    return heartbeat(conn, group, member, 0, rebalance_timeout_ms=30000,
                     subscribed_topic_names=[topic], topic_partitions=[])


def assigned(resp):
    if resp["assignment"] is None:
        return None
    return {(tp["topic_id"], p) for tp in resp["assignment"]["topic_partitions"]
            for p in tp["partitions"]}


def owned(parts):
    by_topic = {}
    for t, p in sorted(parts):
        by_topic.setdefault(t, []).append(p)
    return [{"topic_id": t, "partitions": ps} for t, ps in by_topic.items()]


def unique(what):
    return f"cg-{what}-{uuid.uuid4().hex[:8]}"


def test_not_listed_but_served(make_broker):
    b = make_broker({"num.partitions": str(PARTITIONS)})
    c = Conn(b.bootstrap)
    versions = call(c, 18, 3, {"client_software_name": "it", "client_software_version": "1"})
    assert HB not in {k["api_key"] for k in versions["api_keys"]}
    r = heartbeat(c, unique("g"), "m1", 5)
    assert r["error_code"] == GROUP_ID_NOT_FOUND
    r = heartbeat(c, unique("g"), "", 1)
    assert (r["error_code"], r["error_message"]) == (INVALID_REQUEST, "MemberId can't be empty.")
    r = heartbeat(c, unique("g"), "m1", 0, rebalance_timeout_ms=1000, subscribed_topic_names=[],
                  topic_partitions=[], server_assignor="sticky")
    assert r["error_code"] == UNSUPPORTED_ASSIGNOR
    assert r["error_message"] == "ServerAssignor sticky is not supported. Supported assignors: uniform, range."


def test_two_members_revoke_then_assign(make_broker):
    b = make_broker({"num.partitions": str(PARTITIONS)})
    c = Conn(b.bootstrap)
    topic, group = unique("t"), unique("g")
    tid = topic_id(c, topic)
    r = join(c, group, "A", topic)
    assert r["error_code"] == NONE, r
    assert r["member_id"] == "A" and r["member_epoch"] == 1
    assert r["heartbeat_interval_ms"] == 5000
    a_parts = assigned(r)
    assert a_parts == {(tid, p) for p in range(PARTITIONS)}

    r = join(c, group, "B", topic)
    assert r["error_code"] == NONE and r["member_epoch"] == 2
    assert assigned(r) == set()  # all six are still A's
    b_parts = set()

    # A learns it must give three up, keeps its epoch until it has.
    r = heartbeat(c, group, "A", 1, topic_partitions=owned(a_parts))
    assert r["error_code"] == NONE and r["member_epoch"] == 1
    a_parts = assigned(r)
    assert len(a_parts) == 3
    r = heartbeat(c, group, "B", 2)
    assert r["error_code"] == NONE and not assigned(r)

    r = heartbeat(c, group, "A", 1, topic_partitions=owned(a_parts))
    assert r["error_code"] == NONE and r["member_epoch"] == 2
    r = heartbeat(c, group, "B", 2)
    b_parts = assigned(r)
    assert r["error_code"] == NONE and len(b_parts) == 3
    assert not (a_parts & b_parts)

    # A newer epoch than the coordinator's is fenced; so is an unknown member.
    r = heartbeat(c, group, "A", 9)
    assert r["error_code"] == FENCED_MEMBER_EPOCH
    r = heartbeat(c, group, "Z", 2)
    assert (r["error_code"], r["error_message"]) == (UNKNOWN_MEMBER_ID,
                                                     f"Member Z is not a member of group {group}.")

    # The classic protocol cannot join a consumer-protocol group.
    body = codec.encode_body(11, 5, "request", {
        "group_id": group, "session_timeout_ms": 10000, "rebalance_timeout_ms": 10000,
        "member_id": "", "protocol_type": "consumer",
        "protocols": [{"name": "range", "metadata": b""}]})
    c.request(11, 5, body)
    assert codec.decode_response(11, 5, c.response())[1]["error_code"] == GROUP_ID_NOT_FOUND

    # Commits carry the member's epoch.
    def commit(member, epoch):
        r = call(c, 8, 9, {"group_id": group, "generation_id_or_member_epoch": epoch,
                           "member_id": member,
                           "topics": [{"name": topic, "partitions": [
                               {"partition_index": 0, "committed_offset": 0}]}]})
        return r["topics"][0]["partitions"][0]["error_code"]
    assert commit("A", 2) == NONE
    assert commit("A", 1) == STALE_MEMBER_EPOCH
    assert commit("Q", 2) == UNKNOWN_MEMBER_ID

    # B leaves: A gets everything back at the next epoch.
    r = heartbeat(c, group, "B", -1)
    assert (r["error_code"], r["member_epoch"]) == (NONE, -1)
    r = heartbeat(c, group, "A", 2)
    assert r["error_code"] == NONE and r["member_epoch"] == 3
    assert assigned(r) == {(tid, p) for p in range(PARTITIONS)}


def test_session_timeout_frees_partitions(make_broker):
    b = make_broker({"num.partitions": str(PARTITIONS),
                     "group.consumer.session.timeout.ms": str(SESSION_MS)})
    c = Conn(b.bootstrap)
    topic, group = unique("t"), unique("g")
    tid = topic_id(c, topic)
    assert join(c, group, "A", topic)["error_code"] == NONE
    r = join(c, group, "B", topic)
    assert r["error_code"] == NONE
    epoch = r["member_epoch"]
    # A goes silent; B keeps heartbeating and ends up with all six.
    deadline = time.time() + WAIT_S
    parts = set()
    while len(parts) < PARTITIONS:
        assert time.time() < deadline, f"B got {parts} only"
        time.sleep(0.3)
        r = heartbeat(c, group, "B", epoch, topic_partitions=owned(parts))
        assert r["error_code"] == NONE, r
        epoch = r["member_epoch"]
        if assigned(r) is not None:
            parts = assigned(r)
    assert parts == {(tid, p) for p in range(PARTITIONS)}
    assert "member A removed: its session timed out" in b.log_text()
    r = heartbeat(c, group, "A", 1)
    assert r["error_code"] == UNKNOWN_MEMBER_ID


def test_records_written_before_answers(make_broker):
    """Each change is in __consumer_offsets (Kafka 4.4's record types 3, 5-8)
    by the time its answer arrives."""
    b = make_broker({"num.partitions": str(PARTITIONS)})
    c = Conn(b.bootstrap)
    topic, group = unique("t"), unique("g")
    topic_id(c, topic)
    assert join(c, group, "A", topic)["error_code"] == NONE
    types = set()
    for p in range(50):
        for batch in partition_batches(b.bootstrap, "__consumer_offsets", p):
            for key, _ in batch_records(batch):
                if key and len(key) >= 2:
                    types.add(struct.unpack(">h", key[:2])[0])
    assert {3, 5, 6, 7, 8} <= types, types
