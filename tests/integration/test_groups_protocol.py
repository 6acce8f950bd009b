"""The group coordinator over the raw wire: every error the classic protocol
defines for the case at hand, static membership, session expiry, deletion,
multi-group OffsetFetch, persistence across restarts, and bad input."""
import struct
import time

import pytest

import kafka_wire as kw
from conftest import KAFKA_PYTHON_PROBE
from group_wire import (consumer_subscription, delete_groups_v1, describe_groups_v4,
                        find_coordinator_v2, find_coordinator_v4, heartbeat_v3, join,
                        join_group_v5, join_group_v5_response, leave_group_v3, list_groups_v4,
                        offset_commit_v7, offset_delete_v0, offset_fetch_v5, offset_fetch_v8, sync)

NONE, UNKNOWN_TOPIC, INVALID_TOPIC = 0, 3, 17
ILLEGAL_GENERATION, INCONSISTENT_PROTOCOL, INVALID_GROUP_ID = 22, 23, 24
UNKNOWN_MEMBER_ID, INVALID_SESSION_TIMEOUT, REBALANCE_IN_PROGRESS = 25, 26, 27
NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, MEMBER_ID_REQUIRED = 68, 69, 79
FENCED_INSTANCE_ID, GROUP_SUBSCRIBED_TO_TOPIC = 82, 86

FAST = {"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "500",
        "offsets.topic.num.partitions": "4"}


def create_topic(bootstrap, name, partitions):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()


def stable_member(conn, group, topics=("t",), **kw):
    """Joins (answering MEMBER_ID_REQUIRED) and syncs a one-member group."""
    first = join(conn, group, protocols=[("range", consumer_subscription(list(topics)))], **kw)
    assert first["error"] == MEMBER_ID_REQUIRED and first["member_id"]
    j = join(conn, group, member_id=first["member_id"],
             protocols=[("range", consumer_subscription(list(topics)))], **kw)
    assert j["error"] == NONE and j["leader"] == j["member_id"] == first["member_id"]
    err, assignment = sync(conn, group, j["generation"], j["member_id"],
                           [(j["member_id"], b"assigned")])
    assert (err, assignment) == (NONE, b"assigned")
    return j


def test_one_member_lifecycle(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    err, node, host, port = find_coordinator_v2(c, "g1")
    assert (err, host, port) == (NONE, "127.0.0.1", b.port)
    j = stable_member(c, "g1")
    me, gen = j["member_id"], j["generation"]
    assert gen == 1 and j["protocol"] == "range" and [m[0] for m in j["members"]] == [me]
    assert me.startswith("it-")
    assert heartbeat_v3(c, "g1", gen, me) == NONE
    assert heartbeat_v3(c, "g1", gen + 1, me) == ILLEGAL_GENERATION
    assert heartbeat_v3(c, "g1", gen, "nobody") == UNKNOWN_MEMBER_ID
    assert heartbeat_v3(c, "nogroup", gen, me) == UNKNOWN_MEMBER_ID

    d = describe_groups_v4(c, ["g1", "ghost"])
    assert d["g1"]["state"] == "Stable" and d["g1"]["protocol"] == "range"
    assert d["g1"]["members"][0]["assignment"] == b"assigned"
    assert d["g1"]["members"][0]["client_host"] == "/127.0.0.1"
    assert (d["ghost"]["error"], d["ghost"]["state"]) == (NONE, "Dead")
    assert list_groups_v4(c, ["Stable"])[1] == {"g1": ("consumer", "Stable")}
    assert list_groups_v4(c, ["empty"])[1] == {}

    res = offset_commit_v7(c, "g1", gen, me, {("t", 0): (42, "meta"), ("t", 1): (7, None),
                                              ("nope", 0): (1, "")})
    assert res == {("t", 0): NONE, ("t", 1): NONE, ("nope", 0): UNKNOWN_TOPIC}
    assert offset_commit_v7(c, "g1", gen + 5, me, {("t", 0): (1, "")}) == {("t", 0): ILLEGAL_GENERATION}
    assert offset_commit_v7(c, "g1", gen, "x", {("t", 0): (1, "")}) == {("t", 0): UNKNOWN_MEMBER_ID}
    err, offs = offset_fetch_v5(c, "g1", [("t", 0), ("t", 1), ("t", 5)])
    assert err == NONE
    assert offs == {("t", 0): (42, "meta", NONE), ("t", 1): (7, "", NONE), ("t", 5): (-1, "", NONE)}
    assert offset_fetch_v5(c, "g1")[1] == {("t", 0): (42, "meta", NONE), ("t", 1): (7, "", NONE)}

    assert delete_groups_v1(c, ["g1"]) == {"g1": NON_EMPTY_GROUP}
    err, parts = offset_delete_v0(c, "g1", [("t", 0)])
    assert (err, parts) == (NONE, {("t", 0): GROUP_SUBSCRIBED_TO_TOPIC})

    err, members = leave_group_v3(c, "g1", [(me, None), ("stranger", None)])
    assert err == NONE and members == [(me, None, NONE), ("stranger", None, UNKNOWN_MEMBER_ID)]
    assert describe_groups_v4(c, ["g1"])["g1"]["state"] == "Empty"
    assert offset_delete_v0(c, "g1", [("t", 1)]) == (NONE, {("t", 1): NONE})
    assert offset_fetch_v5(c, "g1")[1] == {("t", 0): (42, "meta", NONE)}
    assert delete_groups_v1(c, ["g1", "g1-never", ""]) == {"g1": NONE, "g1-never": GROUP_ID_NOT_FOUND,
                                                          "": INVALID_GROUP_ID}
    assert offset_fetch_v5(c, "g1", [("t", 0)])[1] == {("t", 0): (-1, "", NONE)}
    assert "g1" not in list_groups_v4(c)[1]


def test_join_errors(make_broker):
    b = make_broker(FAST)
    c = kw.Conn(b.bootstrap)
    assert join(c, "g", session_ms=100)["error"] == INVALID_SESSION_TIMEOUT
    assert join(c, "")["error"] == INVALID_GROUP_ID
    assert join(c, "g", member_id="made-up")["error"] == UNKNOWN_MEMBER_ID
    assert join(c, "g", protocols=[])["error"] == INCONSISTENT_PROTOCOL
    stable_member(c, "g")
    other = kw.Conn(b.bootstrap)
    first = join(other, "g", protocol_type="connect")
    assert first["error"] == INCONSISTENT_PROTOCOL
    assert join(other, "g", protocols=[("roundrobin", b"")])["error"] == INCONSISTENT_PROTOCOL
    assert join(other, "g", protocols=[("roundrobin", b""), ("range", b"")])["error"] == MEMBER_ID_REQUIRED


def test_two_members_rebalance_and_session_expiry(make_broker):
    b = make_broker(FAST)
    a, bconn = kw.Conn(b.bootstrap), kw.Conn(b.bootstrap)
    ja = stable_member(a, "g", session_ms=1500)
    first = join(bconn, "g", session_ms=1500)
    join_group_v5(bconn, "g", member_id=first["member_id"], session_ms=1500)
    # b's join travels on its own connection (maybe through another shard):
    # a learns of the rebalance from a heartbeat once the coordinator has it.
    deadline = time.time() + 5
    while (err := heartbeat_v3(a, "g", ja["generation"], ja["member_id"])) != REBALANCE_IN_PROGRESS:
        assert err == NONE and time.time() < deadline
        time.sleep(0.01)
    ja2 = join(a, "g", member_id=ja["member_id"], session_ms=1500)
    jb = join_group_v5_response(bconn)
    assert ja2["error"] == jb["error"] == NONE
    assert ja2["generation"] == jb["generation"] == ja["generation"] + 1
    assert ja2["leader"] == ja["member_id"] and len(ja2["members"]) == 2 and jb["members"] == []
    gen = ja2["generation"]
    # The follower's SyncGroup waits for the leader's.
    from group_wire import sync_group_v3, sync_group_v3_response
    sync_group_v3(bconn, "g", gen, jb["member_id"])
    assert sync(a, "g", gen, ja["member_id"], [(ja["member_id"], b"A"), (jb["member_id"], b"B")]) \
        == (NONE, b"A")
    assert sync_group_v3_response(bconn) == (NONE, b"B")
    # b stops heartbeating: after its session timeout, a learns of the rebalance.
    deadline = time.time() + 10
    while True:
        err = heartbeat_v3(a, "g", gen, ja["member_id"])
        if err == REBALANCE_IN_PROGRESS:
            break
        assert err == NONE and time.time() < deadline
        time.sleep(0.3)
    ja3 = join(a, "g", member_id=ja["member_id"], session_ms=1500)
    assert ja3["error"] == NONE and [m[0] for m in ja3["members"]] == [ja["member_id"]]
    assert "did not" in b.log_text() or "session timeout expired" in b.log_text()


def test_static_membership_fences_the_old_incarnation(make_broker):
    b = make_broker(FAST)
    c = kw.Conn(b.bootstrap)
    j = join(c, "gs", instance_id="inst-1")
    assert j["error"] == NONE and j["member_id"].startswith("inst-1-")
    assert j["members"][0][1] == "inst-1"
    assert sync(c, "gs", j["generation"], j["member_id"], [(j["member_id"], b"x")],
                instance_id="inst-1") == (NONE, b"x")
    # The same instance restarts: a new member id, no rebalance, the old id fenced.
    j2 = join(c, "gs", instance_id="inst-1")
    assert j2["error"] == NONE and j2["member_id"] != j["member_id"]
    assert j2["generation"] == j["generation"]
    assert heartbeat_v3(c, "gs", j["generation"], j["member_id"], "inst-1") == FENCED_INSTANCE_ID
    assert heartbeat_v3(c, "gs", j2["generation"], j2["member_id"], "inst-1") == NONE
    assert sync(c, "gs", j2["generation"], j2["member_id"], instance_id="inst-1") == (NONE, b"x")
    assert leave_group_v3(c, "gs", [(j["member_id"], "inst-1")])[1][0][2] == FENCED_INSTANCE_ID
    assert leave_group_v3(c, "gs", [("", "inst-1")])[1][0][2] == NONE
    assert describe_groups_v4(c, ["gs"])["gs"]["state"] == "Empty"


def test_offset_fetch_many_groups_and_standalone_commits(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 3)
    c = kw.Conn(b.bootstrap)
    assert offset_commit_v7(c, "solo-a", -1, "", {("t", 0): (5, "")}) == {("t", 0): NONE}
    assert offset_commit_v7(c, "solo-b", -1, "", {("t", 2): (9, "")}) == {("t", 2): NONE}
    assert offset_commit_v7(c, "solo-c", 3, "", {("t", 2): (9, "")}) == {("t", 2): ILLEGAL_GENERATION}
    out = offset_fetch_v8(c, {"solo-a": [("t", 0), ("t", 1)], "solo-b": None, "none": [("t", 0)]})
    assert out == {"solo-a": (NONE, {("t", 0): 5, ("t", 1): -1}), "solo-b": (NONE, {("t", 2): 9}),
                   "none": (NONE, {("t", 0): -1})}
    assert find_coordinator_v4(c, ["solo-a", "solo-b"]) == [
        ("solo-a", NONE, 0, "127.0.0.1", b.port), ("solo-b", NONE, 0, "127.0.0.1", b.port)]
    # A transactional id's coordinator: this broker too (core/txn).
    assert find_coordinator_v4(c, ["txn"], key_type=1) == [("txn", NONE, 0, "127.0.0.1", b.port)]


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_groups_and_offsets_survive_restart(make_broker, how):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    j = stable_member(c, "gp", session_ms=30000)
    assert offset_commit_v7(c, "gp", j["generation"], j["member_id"],
                            {("t", 0): (11, "m0"), ("t", 1): (22, "m1")}) == {("t", 0): NONE, ("t", 1): NONE}
    assert offset_commit_v7(c, "gp", j["generation"], j["member_id"], {("t", 0): (12, "m0b")}) == {("t", 0): NONE}
    assert offset_commit_v7(c, "gone", -1, "", {("t", 0): (1, "")}) == {("t", 0): NONE}
    assert delete_groups_v1(c, ["gone"]) == {"gone": NONE}
    c.close()
    if how == "sigterm":
        b.stop()
    else:
        b.kill9()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v5(c, "gp")[1] == {("t", 0): (12, "m0b", NONE), ("t", 1): (22, "m1", NONE)}
    assert offset_fetch_v5(c, "gone")[1] == {}
    d = describe_groups_v4(c, ["gp"])["gp"]
    assert d["state"] == "Stable" and d["members"][0]["member_id"] == j["member_id"]
    assert d["members"][0]["assignment"] == b"assigned"
    # The member carries on with its generation after the restart.
    assert heartbeat_v3(c, "gp", j["generation"], j["member_id"]) == NONE
    assert "loaded 1 group(s)" in b.log_text()


def test_internal_topic_refuses_produce_and_bad_group_requests_close(make_broker):
    b = make_broker(FAST)
    c = kw.Conn(b.bootstrap)
    find_coordinator_v2(c, "any")
    err, _ = kw.produce_v3(c, "__consumer_offsets", 0, kw.record_batch([b"x"]))
    assert err == INVALID_TOPIC
    bad = kw.Conn(b.bootstrap)
    bad.request(11, 5, kw.string("g") + struct.pack(">i", 10000))  # truncated JoinGroup
    assert bad.closed_by_peer()
    assert "malformed JoinGroup v5 request" in b.log_text()
    assert heartbeat_v3(c, "g", 0, "x") == UNKNOWN_MEMBER_ID
