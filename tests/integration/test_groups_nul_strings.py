"""Kafka strings are length-delimited: a NUL byte inside a group id, member
id, instance id, client id or committed-offset metadata is part of the
string, kept whole by the group coordinator, live and after a restart
(replayed from __consumer_offsets), as Kafka keeps it."""
import kafka_wire as kw
from group_wire import (consumer_subscription, describe_groups_v4, heartbeat_v3, join,
                        list_groups_v4, offset_commit_v7, offset_fetch_v5, offset_fetch_v8, sync)
from test_groups_protocol import FAST, MEMBER_ID_REQUIRED, NONE, UNKNOWN_MEMBER_ID, create_topic

META = "seven\x00bytes"  # 12 bytes; a C string would end after 5


class ClientConn(kw.Conn):
    """A connection whose requests carry the given client id."""

    def __init__(self, bootstrap, client_id):
        super().__init__(bootstrap)
        self.client_id = client_id

    def request(self, key, version, body, flexible=False, client_id=None):
        return super().request(key, version, body, flexible, self.client_id)


def stable_member(conn, group, **kw_args):
    first = join(conn, group, protocols=[("range", consumer_subscription(["t"]))], **kw_args)
    assert first["error"] == MEMBER_ID_REQUIRED
    j = join(conn, group, member_id=first["member_id"],
             protocols=[("range", consumer_subscription(["t"]))], **kw_args)
    assert j["error"] == NONE and j["member_id"] == first["member_id"]
    assert sync(conn, group, j["generation"], j["member_id"], [(j["member_id"], b"a")]) == (NONE, b"a")
    return j


def test_offset_metadata_with_nul_round_trips_live_and_after_restart(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    assert offset_commit_v7(c, "gm", -1, "", {("t", 0): (5, META), ("t", 1): (6, "\x00")}) == {
        ("t", 0): NONE, ("t", 1): NONE}
    want = {("t", 0): (5, META, NONE), ("t", 1): (6, "\x00", NONE)}
    assert offset_fetch_v5(c, "gm")[1] == want
    assert offset_fetch_v5(c, "gm", [("t", 0), ("t", 1)])[1] == want
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v5(c, "gm")[1] == want
    b.kill9()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v5(c, "gm", [("t", 0)])[1] == {("t", 0): (5, META, NONE)}


def test_group_ids_differing_after_a_nul_are_two_groups(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 1)
    c = kw.Conn(b.bootstrap)
    a, z = "g\x00a", "g\x00z"
    assert offset_commit_v7(c, a, -1, "", {("t", 0): (1, "")}) == {("t", 0): NONE}
    assert offset_commit_v7(c, z, -1, "", {("t", 0): (2, "")}) == {("t", 0): NONE}
    assert offset_fetch_v8(c, {a: None, z: None, "g": None}) == {
        a: (NONE, {("t", 0): 1}), z: (NONE, {("t", 0): 2}), "g": (NONE, {})}
    j = stable_member(c, a)
    groups = list_groups_v4(c)[1]
    assert groups[a] == ("consumer", "Stable") and groups[z] == ("", "Empty")
    assert "g" not in groups
    d = describe_groups_v4(c, [a, z, "g"])
    assert d[a]["state"] == "Stable" and [m["member_id"] for m in d[a]["members"]] == [j["member_id"]]
    assert d[z]["state"] == "Empty" and d["g"]["state"] == "Dead"
    # The log line names the group whole, its NUL escaped.
    assert "joins group g\\x00a" in b.log_text()
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v8(c, {a: None, z: None}) == {a: (NONE, {("t", 0): 1}), z: (NONE, {("t", 0): 2})}
    assert describe_groups_v4(c, [a])[a]["members"][0]["member_id"] == j["member_id"]


def test_member_instance_and_client_ids_keep_their_nul(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 1)
    c = ClientConn(b.bootstrap, "cli\x00ent")
    # A dynamic member's id is the client id, NUL and all, + '-' + a UUID.
    j = stable_member(c, "gc")
    assert j["member_id"].startswith("cli\x00ent-")
    d = describe_groups_v4(c, ["gc"])["gc"]["members"][0]
    assert (d["member_id"], d["client_id"]) == (j["member_id"], "cli\x00ent")
    # The member is known by its whole id only.
    assert heartbeat_v3(c, "gc", j["generation"], j["member_id"]) == NONE
    assert heartbeat_v3(c, "gc", j["generation"], "cli") == UNKNOWN_MEMBER_ID
    # A static member: its id comes from the instance id.
    s = join(c, "gs", instance_id="in\x00st", protocols=[("range", consumer_subscription(["t"]))])
    assert s["error"] == NONE and s["member_id"].startswith("in\x00st-")
    assert sync(c, "gs", s["generation"], s["member_id"], [(s["member_id"], b"x")],
                instance_id="in\x00st") == (NONE, b"x")
    assert describe_groups_v4(c, ["gs"])["gs"]["members"][0]["instance_id"] == "in\x00st"
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    m = describe_groups_v4(c, ["gc", "gs"])
    assert (m["gc"]["members"][0]["member_id"], m["gc"]["members"][0]["client_id"]) == (
        j["member_id"], "cli\x00ent")
    assert m["gs"]["members"][0]["instance_id"] == "in\x00st"
    assert heartbeat_v3(c, "gs", s["generation"], s["member_id"], instance_id="in\x00st") == NONE
