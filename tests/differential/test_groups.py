"""Differential scenarios for the classic group APIs: FindCoordinator, a
member's life (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) at every version,
their errors (unknown member, wrong generation, bad session timeouts, no
protocols), OffsetCommit/OffsetFetch, DescribeGroups, ListGroups,
DeleteGroups and OffsetDelete. One joined member per broker serves the
version loops of the APIs that need a stable group."""
import struct
import time

import pytest

import kafka_codec as codec
from differ import check
from peers import Client, schema_versions

COORDINATOR_WAIT_S = 60
SESSION_TIMEOUT_MS = 45000
REBALANCE_TIMEOUT_MS = 10000


def subscription(topic):
    """ConsumerProtocolSubscription v0: the topics, no user data."""
    t = topic.encode()
    return struct.pack(">hih", 0, 1, len(t)) + t + struct.pack(">i", -1)


def assignment(topic):
    """ConsumerProtocolAssignment v0: partition 0 of the topic, no user data."""
    t = topic.encode()
    return struct.pack(">hih", 0, 1, len(t)) + t + struct.pack(">ii", 1, 0) + struct.pack(">i", -1)


def wait_coordinator(c, group):
    """Kafka answers COORDINATOR_NOT_AVAILABLE until its offsets topic is up."""
    deadline = time.time() + COORDINATOR_WAIT_S
    while time.time() < deadline:
        r = c.call("FindCoordinator", 3, {"key": group, "key_type": 0}, record=False)
        if r["error_code"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{c.side}: no coordinator for {group} in {COORDINATOR_WAIT_S}s")


def join_body(group, member_id, topic, session_ms=SESSION_TIMEOUT_MS, protocols=None):
    return {"group_id": group, "session_timeout_ms": session_ms,
            "rebalance_timeout_ms": REBALANCE_TIMEOUT_MS, "member_id": member_id,
            "group_instance_id": None, "protocol_type": "consumer",
            "protocols": protocols if protocols is not None else
            [{"name": "range", "metadata": subscription(topic)}], "reason": None}


def join(c, v, group, topic, label="join", record=True):
    """Joins (retrying once with the id Kafka hands out from v4) -> response."""
    r = c.call("JoinGroup", v, join_body(group, "", topic), label=label, record=record)
    if r["error_code"] == 79:  # MEMBER_ID_REQUIRED
        r = c.call("JoinGroup", v, join_body(group, r["member_id"], topic),
                   label=label + " with id", record=record)
    return r


def sync_body(group, generation, member_id, assignments):
    return {"group_id": group, "generation_id": generation, "member_id": member_id,
            "group_instance_id": None, "protocol_type": "consumer", "protocol_name": "range",
            "assignments": assignments}


def heartbeat_body(group, generation, member_id):
    return {"group_id": group, "generation_id": generation, "member_id": member_id,
            "group_instance_id": None}


def leave_body(group, member_id):
    return {"group_id": group, "member_id": member_id,
            "members": [{"member_id": member_id, "group_instance_id": None, "reason": None}]}


def commit_body(group, generation, member_id, topic, offset, partition=0):
    return {"group_id": group, "generation_id_or_member_epoch": generation,
            "member_id": member_id, "group_instance_id": None, "retention_time_ms": -1,
            "topics": [{"name": topic, "partitions": [
                {"partition_index": partition, "committed_offset": offset,
                 "committed_leader_epoch": -1, "commit_timestamp": -1,
                 "committed_metadata": "m"}]}]}


def offset_fetch_body(group, topic, partitions=(0,)):
    topics = None if topic is None else [{"name": topic, "partition_indexes": list(partitions)}]
    return {"group_id": group, "topics": topics, "require_stable": False,
            "groups": [{"group_id": group, "member_id": None, "member_epoch": -1,
                        "topics": topics}]}


@pytest.fixture(scope="module")
def member(peers):
    """One stable member of one group per broker: {side: (group, topic,
    member id, generation)}."""
    group, topic = peers.name("gr-stable"), peers.name("gr-stable-t")
    out = {}

    def scenario(c):
        c.create_topic(topic)
        wait_coordinator(c, group)
        r = join(c, 9, group, topic, record=False)
        assert r["error_code"] == 0, f"{c.side}: join: {r}"
        s = c.call("SyncGroup", 5, sync_body(group, r["generation_id"], r["member_id"], [
            {"member_id": r["member_id"], "assignment": assignment(topic)}]), record=False)
        assert s["error_code"] == 0, f"{c.side}: sync: {s}"
        out[c.side] = (group, topic, r["member_id"], r["generation_id"])
    peers.run(scenario)
    return out


# ---- FindCoordinator ----

@pytest.mark.parametrize("v", schema_versions("FindCoordinator"))
def test_find_coordinator(peers, v):
    peers.require("FindCoordinator", v)
    group = peers.name(f"fc-{v}")

    def scenario(c):
        wait_coordinator(c, group)
        c.call("FindCoordinator", v, {"key": group, "key_type": 0,
                                      "coordinator_keys": [group, group + "-2"]})
    check(peers.run(scenario))


def test_find_coordinator_bad_key_type(peers):
    v = max(peers.versions("FindCoordinator"))
    check(peers.run(lambda c: c.call("FindCoordinator", v, {
        "key": "k", "key_type": 7, "coordinator_keys": ["k"]})))


# ---- a member's life, at every JoinGroup version ----

@pytest.mark.parametrize("v", schema_versions("JoinGroup"))
def test_group_member_life(peers, v):
    peers.require("JoinGroup", v)
    sync_v = min(v, max(peers.versions("SyncGroup")))
    heartbeat_v = min(v, max(peers.versions("Heartbeat")))
    leave_v = min(v, max(peers.versions("LeaveGroup")))
    group, topic = peers.name(f"gr-life-{v}"), peers.name(f"gr-life-t-{v}")

    def scenario(c):
        c.create_topic(topic)
        wait_coordinator(c, group)
        r = join(c, v, group, topic)
        gen, mid = r["generation_id"], r["member_id"]
        c.call("SyncGroup", sync_v, sync_body(group, gen, mid, [
            {"member_id": mid, "assignment": assignment(topic)}]))
        c.call("Heartbeat", heartbeat_v, heartbeat_body(group, gen, mid))
        c.call("LeaveGroup", leave_v, leave_body(group, mid))
        c.call("Heartbeat", heartbeat_v, heartbeat_body(group, gen, mid), label="after leaving")
    check(peers.run(scenario))


@pytest.mark.parametrize("case", ["unknown-member", "session-too-short", "session-too-long",
                                  "no-protocols", "empty-group-id"])
def test_join_group_errors(peers, case):
    v = max(peers.versions("JoinGroup"))
    group, topic = peers.name(f"gr-joinerr-{case}"), peers.name("gr-joinerr-t")
    body = {
        "unknown-member": join_body(group, "differential-no-such-member", topic),
        "session-too-short": join_body(group, "", topic, session_ms=1000),
        "session-too-long": join_body(group, "", topic, session_ms=3_600_000),
        "no-protocols": join_body(group, "", topic, protocols=[]),
        "empty-group-id": join_body("", "", topic),
    }[case]

    def scenario(c):
        wait_coordinator(c, group)
        c.call("JoinGroup", v, body)
    check(peers.run(scenario))


# ---- Heartbeat / SyncGroup against the stable member ----

@pytest.mark.parametrize("v", schema_versions("Heartbeat"))
def test_heartbeat(peers, member, v):
    peers.require("Heartbeat", v)

    def scenario(c):
        group, _topic, mid, gen = member[c.side]
        c.call("Heartbeat", v, heartbeat_body(group, gen, mid), label="ok")
        c.call("Heartbeat", v, heartbeat_body(group, gen + 5, mid), label="wrong generation")
        c.call("Heartbeat", v, heartbeat_body(group, gen, "differential-nobody"),
               label="unknown member")
        c.call("Heartbeat", v, heartbeat_body(group + "-none", 1, mid), label="unknown group")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("SyncGroup"))
def test_sync_group(peers, member, v):
    peers.require("SyncGroup", v)

    def scenario(c):
        group, topic, mid, gen = member[c.side]
        c.call("SyncGroup", v, sync_body(group, gen, mid, []), label="stable: the assignment")
        c.call("SyncGroup", v, sync_body(group, gen + 5, mid, []), label="wrong generation")
        c.call("SyncGroup", v, sync_body(group, gen, "differential-nobody", []),
               label="unknown member")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("LeaveGroup"))
def test_leave_group_unknown(peers, member, v):
    peers.require("LeaveGroup", v)

    def scenario(c):
        group = member[c.side][0]
        c.call("LeaveGroup", v, leave_body(group, "differential-nobody"), label="unknown member")
        c.call("LeaveGroup", v, leave_body(group + "-none", "differential-nobody"),
               label="unknown group")
    check(peers.run(scenario))


# ---- offsets ----

@pytest.mark.parametrize("v", schema_versions("OffsetCommit"))
def test_offset_commit(peers, member, v):
    peers.require("OffsetCommit", v)
    standalone = peers.name(f"oc-standalone-{v}")

    def scenario(c):
        group, topic, mid, gen = member[c.side]
        wait_coordinator(c, standalone)
        c.call("OffsetCommit", v, commit_body(group, gen, mid, topic, 5), label="member")
        c.call("OffsetCommit", v, commit_body(group, gen + 5, mid, topic, 6),
               label="wrong generation")
        c.call("OffsetCommit", v, commit_body(group, gen, "differential-nobody", topic, 6),
               label="unknown member")
        c.call("OffsetCommit", v, commit_body(standalone, -1, "", topic, 7), label="standalone")
        c.call("OffsetCommit", v, commit_body(standalone, -1, "", topic + "-none", 7),
               label="unknown topic")
        c.call("OffsetCommit", v, commit_body(standalone, -1, "", topic, 7, partition=9),
               label="unknown partition")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("OffsetFetch"))
def test_offset_fetch(peers, member, v):
    peers.require("OffsetFetch", v)
    group = peers.name(f"of-{v}")

    def scenario(c):
        topic = member[c.side][1]
        wait_coordinator(c, group)
        c.call("OffsetCommit", 8, commit_body(group, -1, "", topic, 11), record=False)
        c.call("OffsetFetch", v, offset_fetch_body(group, topic, (0, 3)), label="committed")
        if v >= 2:
            c.call("OffsetFetch", v, offset_fetch_body(group, None), label="all topics")
        c.call("OffsetFetch", v, offset_fetch_body(group + "-none", topic), label="unknown group")
    check(peers.run(scenario))


# ---- describe, list, delete ----

@pytest.mark.parametrize("v", schema_versions("DescribeGroups"))
def test_describe_groups(peers, member, v):
    peers.require("DescribeGroups", v)

    def scenario(c):
        group = member[c.side][0]
        c.call("DescribeGroups", v, {"groups": [group, group + "-none"],
                                     "include_authorized_operations": False})
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("ListGroups"))
def test_list_groups(peers, member, v):
    """Cut down to this session's stable group: each broker has others."""
    peers.require("ListGroups", v)

    def scenario(c):
        group = member[c.side][0]
        for label, states, types in (("all", [], []), ("stable", ["Stable"], []),
                                     ("empty", ["Empty"], []), ("classic", [], ["classic"])):
            if (states and v < 4) or (types and v < 5):
                continue
            r = c.call("ListGroups", v, {"states_filter": states, "types_filter": types},
                       record=False)
            r["groups"] = [g for g in r["groups"] if g["group_id"] == group]
            c.note(f"ListGroups v{v} {label}", r, "ListGroups")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("DeleteGroups"))
def test_delete_groups(peers, member, v):
    peers.require("DeleteGroups", v)
    empty_group = peers.name(f"dg-{v}")

    def scenario(c):
        group, topic = member[c.side][0], member[c.side][1]
        wait_coordinator(c, empty_group)
        c.call("OffsetCommit", 8, commit_body(empty_group, -1, "", topic, 1), record=False)
        c.call("DeleteGroups", v, {"groups_names": [empty_group, group, empty_group + "-none"]})
        c.call("OffsetFetch", 8, offset_fetch_body(empty_group, topic), label="offsets gone")
    check(peers.run(scenario))


def test_offset_delete(peers, member):
    v = max(peers.versions("OffsetDelete"))
    group = peers.name("od")

    def scenario(c):
        stable, topic = member[c.side][0], member[c.side][1]
        wait_coordinator(c, group)
        c.call("OffsetCommit", 8, commit_body(group, -1, "", topic, 3), record=False)
        body = {"group_id": group, "topics": [{"name": topic, "partitions": [
            {"partition_index": 0}, {"partition_index": 4}]}]}
        c.call("OffsetDelete", v, body, label="empty group")
        c.call("OffsetFetch", 8, offset_fetch_body(group, topic), label="deleted")
        c.call("OffsetDelete", v, dict(body, group_id=group + "-none"), label="unknown group")
        c.call("OffsetDelete", v, dict(body, group_id=stable), label="subscribed")
    check(peers.run(scenario))


def test_rebalance_in_progress(peers):
    """A second member joins a stable group: the first one's Heartbeat,
    OffsetCommit and SyncGroup meet REBALANCE_IN_PROGRESS until it joins
    again; then both get the new generation."""
    group, topic = peers.name("gr-rebalance"), peers.name("gr-rebalance-t")
    v = max(peers.versions("JoinGroup"))
    hb_v, sync_v = max(peers.versions("Heartbeat")), max(peers.versions("SyncGroup"))
    commit_v = max(peers.versions("OffsetCommit"))

    def scenario(c):
        c.create_topic(topic)
        wait_coordinator(c, group)
        a = join(c, v, group, topic, label="first joins")
        gen, mid = a["generation_id"], a["member_id"]
        c.call("SyncGroup", sync_v, sync_body(group, gen, mid, [
            {"member_id": mid, "assignment": assignment(topic)}]), label="first syncs")
        other = Client(c.side, c.bootstrap)
        try:
            b = other.call("JoinGroup", v, join_body(group, "", topic), record=False)
            c.note("second gets its id", b, "JoinGroup")
            other.corr += 1
            other.send_frame(codec.encode_request(11, v, other.corr,
                                                  join_body(group, b["member_id"], topic)))
            deadline = time.time() + COORDINATOR_WAIT_S
            while time.time() < deadline:
                h = c.call("Heartbeat", hb_v, heartbeat_body(group, gen, mid), record=False)
                if h["error_code"] != 0:
                    break
                time.sleep(0.05)
            c.note("first's heartbeat", h, "Heartbeat")
            c.call("OffsetCommit", commit_v, commit_body(group, gen, mid, topic, 1),
                   label="first commits")
            c.call("SyncGroup", sync_v, sync_body(group, gen, mid, []), label="first syncs old")
            c.call("JoinGroup", v, join_body(group, mid, topic), label="first rejoins")
            frame = other.recv_frame()
            c.note("second joined", codec.decode_response(11, v, frame)[1], "JoinGroup")
        finally:
            other.close()
    check(peers.run(scenario))
