"""Offset expiry: an explicit retention_time_ms (OffsetCommit v2-v4) expires
an offset at its own time; offsets.retention.minutes expires the offsets of a
group that has been empty that long (KIP-211) and removes the group; expired
offsets stay gone after a restart (their tombstones are in the log)."""
import time

import kafka_wire as kw
from group_wire import (describe_groups_v4, leave_group_v3, list_groups_v4, offset_commit_v2,
                        offset_commit_v7, offset_fetch_v5)
from test_groups_protocol import FAST, create_topic, stable_member

NONE = 0


def wait_until(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_explicit_retention_expires_offsets(make_broker):
    b = make_broker(dict(FAST, **{"offsets.retention.check.interval.ms": "200"}))
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    assert offset_commit_v2(c, "short", -1, "", 800, {("t", 0): 5}) == {("t", 0): NONE}
    assert offset_commit_v2(c, "short", -1, "", -1, {("t", 1): 6}) == {("t", 1): NONE}
    assert offset_fetch_v5(c, "short")[1] == {("t", 0): (5, "", NONE), ("t", 1): (6, "", NONE)}
    assert wait_until(lambda: offset_fetch_v5(c, "short")[1] == {("t", 1): (6, "", NONE)}, 10)
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v5(c, "short")[1] == {("t", 1): (6, "", NONE)}


def test_empty_group_offsets_expire_after_retention_minutes(make_broker):
    b = make_broker(dict(FAST, **{"offsets.retention.minutes": "1",
                                  "offsets.retention.check.interval.ms": "500"}))
    create_topic(b.bootstrap, "t", 1)
    c = kw.Conn(b.bootstrap)
    j = stable_member(c, "idle", session_ms=30000)
    assert offset_commit_v7(c, "idle", j["generation"], j["member_id"], {("t", 0): (3, "")}) == {("t", 0): NONE}
    # A live group keeps its offsets however old the commit is.
    time.sleep(1.5)
    assert offset_fetch_v5(c, "idle")[1] == {("t", 0): (3, "", NONE)}
    leave_group_v3(c, "idle", [(j["member_id"], None)])
    emptied = time.time()
    assert describe_groups_v4(c, ["idle"])["idle"]["state"] == "Empty"
    assert wait_until(lambda: offset_fetch_v5(c, "idle")[1] == {}, 90)
    assert time.time() - emptied >= 59
    assert wait_until(lambda: "idle" not in list_groups_v4(c)[1], 10)
    assert "removed 1 expired offset(s) of group idle" in b.log_text()
