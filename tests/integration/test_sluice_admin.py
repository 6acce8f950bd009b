"""sluice-admin against a running sluice: every sub-command whose Kafka API
sluice serves, in human and --json output; usage errors exit 2 naming the
flag; an unreachable broker exits 1 within --timeout-ms saying so; a group's
lag after it committed half a topic; reset-offsets changes nothing without
--execute and commits with it. (configs, add-partitions and logdirs, on the
APIs being added, are in test_sluice_admin_configs.py.)"""
import time

import pytest

pytest.register_assert_rewrite("sluice_admin_run")

from conftest import free_port
from sluice_admin_run import Member, admin, commit, produce, watermarks

FAMILIES = {
    "topics": ["list", "describe", "create", "delete", "add-partitions"],
    "configs": ["describe", "set", "unset"],
    "groups": ["list", "describe", "delete", "reset-offsets"],
    "records": ["delete"],
    "cluster": ["describe"],
}
UNREACHABLE_TIMEOUT_MS = 2000
# The tool's deadline plus its process start and exit, on a loaded machine.
UNREACHABLE_SLACK_S = 8


def test_help_for_every_command_and_sub_command():
    top = admin(None, "--help")
    for family, actions in FAMILIES.items():
        listing = admin(None, family, "--help")
        for action in actions:
            assert f"{family} {action}" in top.out and f"{family} {action}" in listing.out
            sub = admin(None, family, action, "--help")
            assert sub.out.startswith(f"usage: sluice-admin {family} {action}")
            assert "--bootstrap-server" in sub.out and "--timeout-ms" in sub.out
    assert "--before" in admin(None, "records", "delete", "--help").out
    assert "--to-datetime" in admin(None, "groups", "reset-offsets", "--help").out
    assert "--broker" in admin(None, "logdirs", "--help").out


@pytest.mark.parametrize("args, flag", [
    (["topics", "create"], "--topic"),
    (["topics", "create", "--topic", "t", "--partitions", "three"], "--partitions"),
    (["topics", "create", "--topic", "t", "--partitions", "0"], "--partitions"),
    (["topics", "create", "--topic", "t", "--config", "novalue"], "--config"),
    (["topics", "create", "--topic", "t", "--bogus"], "--bogus"),
    (["topics", "create", "--topic"], "--topic"),
    (["topics", "list", "--json=yes"], "--json"),
    (["topics", "list", "--timeout-ms", "soon"], "--timeout-ms"),
    (["topics", "list", "--timeout-ms", "0"], "--timeout-ms"),
    (["topics", "add-partitions", "--topic", "t"], "--partitions"),
    (["topics", "delete"], "--topic"),
    (["configs", "describe", "--entity-type", "users", "--entity-name", "x"], "--entity-type"),
    (["configs", "set", "--entity-type", "topics", "--entity-name", "t"], "--add-config"),
    (["configs", "set", "--entity-type", "topics", "--entity-name", "t", "--add-config", "k"],
     "--add-config"),
    (["configs", "unset", "--entity-type", "topics", "--entity-name", "t",
      "--delete-config", "k=v"], "--delete-config"),
    (["groups", "describe"], "--group"),
    (["groups", "reset-offsets", "--group", "g", "--topic", "t"], "--to-earliest"),
    (["groups", "reset-offsets", "--group", "g", "--to-earliest"], "--topic"),
    (["groups", "reset-offsets", "--group", "g", "--topic", "t", "--to-earliest",
      "--to-latest"], "--to-latest"),
    (["groups", "reset-offsets", "--group", "g", "--topic", "t", "--to-offset", "-3"],
     "--to-offset"),
    (["groups", "reset-offsets", "--group", "g", "--topic", "t", "--to-datetime", "yesterday"],
     "--to-datetime"),
    (["groups", "reset-offsets", "--group", "g", "--topic", "t", "--to-latest", "--dry-run",
      "--execute"], "--execute"),
    (["records", "delete", "--topic", "t"], "--before"),
    (["records", "delete", "--topic", "t", "--before", "5", "--partition", "x"], "--partition"),
    (["logdirs", "--broker", "first"], "--broker"),
])
def test_bad_arguments_exit_2_naming_the_flag(args, flag):
    # Nothing listens there: usage is checked before any connection.
    r = admin(None, *args, "--bootstrap-server", f"127.0.0.1:{free_port()}", expect=2)
    assert flag in r.err and r.out == ""


def test_empty_bootstrap_server_exits_2():
    r = admin(None, "topics", "list", "--bootstrap-server", "", expect=2)
    assert "--bootstrap-server" in r.err


@pytest.mark.parametrize("args", [["topics"], ["topics", "rename"], ["nonsense"], []])
def test_missing_or_unknown_command_exits_2(args):
    r = admin(None, *args, expect=2)
    assert "sluice-admin" in r.err


@pytest.mark.parametrize("args", [
    ["topics", "list"],
    ["topics", "create", "--topic", "t"],
    ["groups", "list"],
    ["groups", "describe", "--group", "g"],
    ["records", "delete", "--topic", "t", "--before", "1"],
    ["cluster", "describe"],
])
def test_unreachable_broker_exits_1_within_the_timeout(args):
    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    r = admin(address, *args, expect=1, timeout_ms=UNREACHABLE_TIMEOUT_MS)
    elapsed = time.monotonic() - start
    assert elapsed < UNREACHABLE_TIMEOUT_MS / 1000 + UNREACHABLE_SLACK_S
    assert f"cannot reach --bootstrap-server {address} within {UNREACHABLE_TIMEOUT_MS} ms" in r.err
    assert "Connection refused" in r.err


def test_topics_create_list_describe_delete(broker):
    bs = broker.bootstrap
    assert admin(bs, "topics", "create", "--topic", "orders", "--partitions", "3",
                 "--config", "retention.ms=86400000").out == "created topic orders\n"
    made = admin(bs, "topics", "create", "--topic", "audit", "--partitions", "1", "--json").json()
    assert made == {"topics": [{"name": "audit", "error": None}]}
    again = admin(bs, "topics", "create", "--topic", "orders", expect=1)
    assert "orders" in again.err and "TOPIC_ALREADY_EXISTS" in again.err

    assert {"orders", "audit"} <= set(admin(bs, "topics", "list").out.split())
    listed = admin(bs, "topics", "list", "--json", "--exclude-internal").json()["topics"]
    assert listed == sorted(listed) and {"orders", "audit"} <= set(listed)
    assert not [t for t in listed if t.startswith("__")]

    table = admin(bs, "topics", "describe", "--topic", "orders").out.splitlines()
    assert table[0].split() == ["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"]
    assert [line.split()[:2] for line in table[1:]] == [["orders", str(p)] for p in range(3)]
    described = admin(bs, "topics", "describe", "--topic", "orders", "--json").json()
    (orders,) = described["topics"]
    assert orders["name"] == "orders" and orders["partition_count"] == 3
    assert [p["partition"] for p in orders["partitions"]] == [0, 1, 2]
    assert all(p["leader"] >= 0 and p["replicas"] == [p["leader"]] for p in orders["partitions"])
    missing = admin(bs, "topics", "describe", "--topic", "absent", expect=1)
    assert "absent" in missing.err and "UNKNOWN_TOPIC_OR_PART" in missing.err

    deleted = admin(bs, "topics", "delete", "--topic", "orders", "--topic", "audit", "--json")
    assert sorted(t["name"] for t in deleted.json()["topics"]) == ["audit", "orders"]
    assert not {"orders", "audit"} & set(admin(bs, "topics", "list").out.split())
    gone = admin(bs, "topics", "delete", "--topic", "orders", expect=1)
    assert "orders" in gone.err and "UNKNOWN_TOPIC_OR_PART" in gone.err


def half_committed(bs, topic="events", group="half"):
    """Two partitions of 50 records; the group committed 25 of each."""
    admin(bs, "topics", "create", "--topic", topic, "--partitions", "2")
    produce(bs, topic, 2, 50)
    commit(bs, group, topic, {0: 25, 1: 25})
    return topic, group


def committed_by_partition(bs, group):
    parts = admin(bs, "groups", "describe", "--group", group, "--json").json()["partitions"]
    return {p["partition"]: p["committed_offset"] for p in parts}


def test_groups_describe_shows_the_lag_of_half_a_topic(broker):
    bs = broker.bootstrap
    topic, group = half_committed(bs)
    d = admin(bs, "groups", "describe", "--group", group, "--json").json()
    assert d["group"] == group and d["state"] == "Empty" and d["members"] == []
    assert d["total_lag"] == 50
    assert [(p["topic"], p["partition"], p["committed_offset"], p["end_offset"], p["lag"])
            for p in d["partitions"]] == [(topic, 0, 25, 50, 25), (topic, 1, 25, 50, 25)]
    human = admin(bs, "groups", "describe", "--group", group).out
    assert "TOTAL LAG: 50" in human and f"Group {group} is Empty" in human
    rows = [line.split() for line in human.splitlines() if line.startswith(group + " ")]
    assert [r[1:6] for r in rows] == [[topic, "0", "25", "50", "25"], [topic, "1", "25", "50", "25"]]
    absent = admin(bs, "groups", "describe", "--group", "never-was", expect=1)
    assert "never-was" in absent.err and "GROUP_ID_NOT_FOUND" in absent.err


def test_groups_describe_shows_members_and_assignments(broker):
    bs = broker.bootstrap
    topic, group = half_committed(bs, group="live")
    member = Member(bs, group, topic)
    try:
        assert member.line.startswith("assigned 2"), member.line
        d = admin(bs, "groups", "describe", "--group", group, "--json").json()
        assert d["state"] == "Stable" and len(d["members"]) == 1
        (m,) = d["members"]
        assert sorted((a["topic"], a["partition"]) for a in m["assignment"]) == [(topic, 0),
                                                                                  (topic, 1)]
        assert all(p["member_id"] == m["member_id"] for p in d["partitions"])
        assert d["total_lag"] == 50
        refused = admin(bs, "groups", "reset-offsets", "--group", group, "--topic", topic,
                        "--to-earliest", "--execute", expect=1)
        assert group in refused.err and "Stable" in refused.err
    finally:
        member.leave()
    assert committed_by_partition(bs, group) == {0: 25, 1: 25}


def test_reset_offsets_dry_run_changes_nothing_and_execute_commits(broker):
    bs = broker.bootstrap
    topic, group = half_committed(bs)
    dry = admin(bs, "groups", "reset-offsets", "--group", group, "--topic", topic,
                "--to-earliest")
    assert "dry run" in dry.out
    rows = [line.split() for line in dry.out.splitlines() if line.startswith(group + " ")]
    assert [r[1:] for r in rows] == [[topic, "0", "25", "0"], [topic, "1", "25", "0"]]
    assert committed_by_partition(bs, group) == {0: 25, 1: 25}

    done = admin(bs, "groups", "reset-offsets", "--group", group, "--topic", topic,
                 "--to-earliest", "--execute", "--json").json()
    assert done["executed"] is True
    assert [(p["partition"], p["current_offset"], p["new_offset"]) for p in done["partitions"]] \
        == [(0, 25, 0), (1, 25, 0)]
    assert committed_by_partition(bs, group) == {0: 0, 1: 0}
    assert admin(bs, "groups", "describe", "--group", group, "--json").json()["total_lag"] == 100


@pytest.mark.parametrize("target, expected", [
    (["--to-latest"], 50),
    (["--to-offset", "10"], 10),
    (["--to-offset", "1000"], 50),  # kept within the log, as Kafka does
    (["--to-datetime", "2001-01-01T00:00:00Z"], 0),
    (["--to-datetime", "2999-01-01T00:00:00.000+02:00"], 50),
    (["--to-datetime", "0"], 0),
])
def test_reset_offsets_targets(broker, target, expected):
    bs = broker.bootstrap
    topic, group = half_committed(bs)
    plan = admin(bs, "groups", "reset-offsets", "--group", group, "--all-topics", *target,
                 "--json").json()
    assert plan["executed"] is False
    assert [p["new_offset"] for p in plan["partitions"]] == [expected, expected]
    assert committed_by_partition(bs, group) == {0: 25, 1: 25}
    admin(bs, "groups", "reset-offsets", "--group", group, "--all-topics", *target, "--execute")
    assert committed_by_partition(bs, group) == {0: expected, 1: expected}


def test_groups_list_and_delete_with_names_that_need_escaping(broker):
    bs = broker.bootstrap
    odd = 'odd "group"\\\twith\nbytes'
    topic, group = half_committed(bs)
    commit(bs, odd, topic, {0: 1})
    listed = admin(bs, "groups", "list", "--json").json()["groups"]
    assert {"group": group, "state": "Empty"} in listed
    assert {"group": odd, "state": "Empty"} in listed
    assert group in admin(bs, "groups", "list").out.split()
    assert admin(bs, "groups", "describe", "--group", odd, "--json").json()["group"] == odd

    deleted = admin(bs, "groups", "delete", "--group", group, "--group", odd, "--json").json()
    assert sorted(g["group"] for g in deleted["groups"]) == sorted([group, odd])
    assert all(g["error"] is None for g in deleted["groups"])
    assert admin(bs, "groups", "list", "--json").json()["groups"] == []
    again = admin(bs, "groups", "delete", "--group", group, expect=1)
    assert group in again.err and "GROUP_ID_NOT_FOUND" in again.err


def test_records_delete_before_an_offset(broker):
    bs = broker.bootstrap
    admin(bs, "topics", "create", "--topic", "trim", "--partitions", "2")
    produce(bs, "trim", 2, 20)
    human = admin(bs, "records", "delete", "--topic", "trim", "--before", "5").out.splitlines()
    assert human[0].split() == ["TOPIC", "PARTITION", "LOW-WATERMARK", "ERROR"]
    assert [line.split() for line in human[1:]] == [["trim", "0", "5", "-"],
                                                    ["trim", "1", "5", "-"]]
    one = admin(bs, "records", "delete", "--topic", "trim", "--partition", "1", "--before", "-1",
                "--json").json()
    assert one == {"partitions": [{"topic": "trim", "partition": 1, "low_watermark": 20,
                                   "error": None}]}
    assert watermarks(bs, "trim", 0) == (5, 20)
    assert watermarks(bs, "trim", 1) == (20, 20)
    past = admin(bs, "records", "delete", "--topic", "trim", "--partition", "0", "--before",
                 "99", expect=1)
    assert "trim-0" in past.err and "OFFSET_OUT_OF_RANGE" in past.err


def test_cluster_describe(broker):
    bs = broker.bootstrap
    c = admin(bs, "cluster", "describe", "--json").json()
    assert c["cluster_id"] and c["controller_id"] >= 0
    assert [(b["host"], b["port"]) for b in c["brokers"]] == [("127.0.0.1", broker.port)]
    human = admin(bs, "cluster", "describe").out
    assert f"Cluster id: {c['cluster_id']}" in human and f"127.0.0.1  {broker.port}" in human
