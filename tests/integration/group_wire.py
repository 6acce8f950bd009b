"""Raw encoders/decoders for the group APIs at chosen versions, for tests that
check exact error codes: FindCoordinator v2/v4, JoinGroup v5, SyncGroup v3,
Heartbeat v3, LeaveGroup v3, OffsetCommit v7, OffsetFetch v5/v8, ListGroups v4,
DescribeGroups v4, DeleteGroups v1, OffsetDelete v0. Written from the
protocol page for the tests."""
import struct

from kafka_wire import string, uvarint


def nbytes(b):
    return struct.pack(">i", len(b)) + b


def cstring(s):
    """Compact (flexible) string; None is null."""
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def uvarint(self):
        shift = n = 0
        while True:
            b = self.d[self.p]
            self.p += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def cstring(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def bytes(self):
        n = self.take(">i")
        if n < 0:
            return None
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.p += self.uvarint()


def consumer_subscription(topics):
    """ConsumerProtocolSubscription v0: version, topics, user data."""
    return struct.pack(">hi", 0, len(topics)) + b"".join(string(t) for t in topics) + nbytes(b"")


def find_coordinator_v2(conn, group):
    conn.request(10, 2, string(group) + b"\x00")
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    err = r.take(">h")
    r.string()
    node = r.take(">i")
    host = r.string()
    port = r.take(">i")
    return err, node, host, port


def find_coordinator_v4(conn, keys, key_type=0):
    body = struct.pack(">b", key_type) + uvarint(len(keys) + 1) + b"".join(cstring(k) for k in keys)
    conn.request(10, 4, body + b"\x00", flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    out = []
    for _ in range(r.uvarint() - 1):
        key = r.cstring()
        node = r.take(">i")
        host = r.cstring()
        port = r.take(">i")
        err = r.take(">h")
        r.cstring()
        r.tags()
        out.append((key, err, node, host, port))
    return out


def join_group_v5(conn, group, member_id="", instance_id=None, session_ms=10000,
                  rebalance_ms=30000, protocol_type="consumer", protocols=None):
    """Sends JoinGroup v5; the response comes later (join_group_v5_response)."""
    protocols = protocols if protocols is not None else [("range", consumer_subscription(["t"]))]
    body = string(group) + struct.pack(">ii", session_ms, rebalance_ms) + string(member_id)
    body += string(instance_id) + string(protocol_type) + struct.pack(">i", len(protocols))
    for name, meta in protocols:
        body += string(name) + nbytes(meta)
    conn.request(11, 5, body)


def join_group_v5_response(conn):
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    err, gen = r.take(">hi")
    protocol, leader, member = r.string(), r.string(), r.string()
    members = []
    for _ in range(r.take(">i")):
        members.append((r.string(), r.string(), r.bytes()))
    return {"error": err, "generation": gen, "protocol": protocol, "leader": leader,
            "member_id": member, "members": members}


def join(conn, group, **kw):
    join_group_v5(conn, group, **kw)
    return join_group_v5_response(conn)


def sync_group_v3(conn, group, generation, member_id, assignments=(), instance_id=None):
    body = string(group) + struct.pack(">i", generation) + string(member_id) + string(instance_id)
    body += struct.pack(">i", len(assignments))
    for mid, data in assignments:
        body += string(mid) + nbytes(data)
    conn.request(14, 3, body)


def sync_group_v3_response(conn):
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    err = r.take(">h")
    return err, r.bytes()


def sync(conn, *a, **kw):
    sync_group_v3(conn, *a, **kw)
    return sync_group_v3_response(conn)


def heartbeat_v3(conn, group, generation, member_id, instance_id=None):
    conn.request(12, 3, string(group) + struct.pack(">i", generation) + string(member_id) +
                 string(instance_id))
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    return r.take(">h")


def leave_group_v3(conn, group, members):
    body = string(group) + struct.pack(">i", len(members))
    for mid, iid in members:
        body += string(mid) + string(iid)
    conn.request(13, 3, body)
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    err = r.take(">h")
    out = []
    for _ in range(r.take(">i")):
        out.append((r.string(), r.string(), r.take(">h")))
    return err, out


def offset_commit_v7(conn, group, generation, member_id, offsets, instance_id=None):
    """offsets: {(topic, partition): (offset, metadata)}; returns {(t, p): error}."""
    by_topic = {}
    for (t, p), v in offsets.items():
        by_topic.setdefault(t, []).append((p, v))
    body = string(group) + struct.pack(">i", generation) + string(member_id) + string(instance_id)
    body += struct.pack(">i", len(by_topic))
    for t, parts in by_topic.items():
        body += string(t) + struct.pack(">i", len(parts))
        for p, (off, meta) in parts:
            body += struct.pack(">iqi", p, off, -1) + string(meta)
    conn.request(8, 7, body)
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, err = r.take(">ih")
            out[(t, p)] = err
    return out


def offset_fetch_v5(conn, group, partitions=None):
    """partitions: [(topic, p)] or None for all; returns (error, {(t, p): (offset, meta, err)})."""
    body = string(group)
    if partitions is None:
        body += struct.pack(">i", -1)
    else:
        by_topic = {}
        for t, p in partitions:
            by_topic.setdefault(t, []).append(p)
        body += struct.pack(">i", len(by_topic))
        for t, ps in by_topic.items():
            body += string(t) + struct.pack(">i", len(ps)) + b"".join(struct.pack(">i", p) for p in ps)
    conn.request(9, 5, body)
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, off, _epoch = r.take(">iqi")
            meta = r.string()
            out[(t, p)] = (off, meta, r.take(">h"))
    return r.take(">h"), out


def offset_fetch_v8(conn, groups, require_stable=False, with_errors=False):
    """groups: {group: [(topic, p)] or None}; returns {group: (error, {(t, p): offset})},
    or {(t, p): (offset, error)} per group with `with_errors`."""
    body = uvarint(len(groups) + 1)
    for g, parts in groups.items():
        body += cstring(g)
        if parts is None:
            body += uvarint(0)
        else:
            by_topic = {}
            for t, p in parts:
                by_topic.setdefault(t, []).append(p)
            body += uvarint(len(by_topic) + 1)
            for t, ps in by_topic.items():
                body += cstring(t) + uvarint(len(ps) + 1) + b"".join(struct.pack(">i", p) for p in ps)
                body += b"\x00"
        body += b"\x00"
    body += struct.pack(">?", require_stable) + b"\x00"  # require_stable, tags
    conn.request(9, 8, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    out = {}
    for _ in range(r.uvarint() - 1):
        g = r.cstring()
        offs = {}
        for _ in range(r.uvarint() - 1):
            t = r.cstring()
            for _ in range(r.uvarint() - 1):
                p, off, _epoch = r.take(">iqi")
                r.cstring()
                err = r.take(">h")
                r.tags()
                offs[(t, p)] = (off, err) if with_errors else off
            r.tags()
        err = r.take(">h")
        r.tags()
        out[g] = (err, offs)
    return out


def list_groups_v4(conn, states=()):
    body = uvarint(len(states) + 1) + b"".join(cstring(s) for s in states) + b"\x00"
    conn.request(16, 4, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    err = r.take(">h")
    groups = {}
    for _ in range(r.uvarint() - 1):
        g, ptype, state = r.cstring(), r.cstring(), r.cstring()
        r.tags()
        groups[g] = (ptype, state)
    return err, groups


def describe_groups_v4(conn, groups):
    body = struct.pack(">i", len(groups)) + b"".join(string(g) for g in groups) + b"\x00"
    conn.request(15, 4, body)
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        err = r.take(">h")
        g, state, ptype, pdata = r.string(), r.string(), r.string(), r.string()
        members = []
        for _ in range(r.take(">i")):
            members.append({"member_id": r.string(), "instance_id": r.string(),
                            "client_id": r.string(), "client_host": r.string(),
                            "metadata": r.bytes(), "assignment": r.bytes()})
        r.take(">i")
        out[g] = {"error": err, "state": state, "protocol_type": ptype, "protocol": pdata,
                  "members": members}
    return out


def delete_groups_v1(conn, groups):
    conn.request(42, 1, struct.pack(">i", len(groups)) + b"".join(string(g) for g in groups))
    r = Reader(conn.response())
    r.take(">i")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        g = r.string()
        out[g] = r.take(">h")
    return out


def offset_delete_v0(conn, group, partitions):
    by_topic = {}
    for t, p in partitions:
        by_topic.setdefault(t, []).append(p)
    body = string(group) + struct.pack(">i", len(by_topic))
    for t, ps in by_topic.items():
        body += string(t) + struct.pack(">i", len(ps)) + b"".join(struct.pack(">i", p) for p in ps)
    conn.request(47, 0, body)
    r = Reader(conn.response())
    r.take(">i")
    err = r.take(">h")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, e = r.take(">ih")
            out[(t, p)] = e
    return err, out


def offset_commit_v2(conn, group, generation, member_id, retention_ms, offsets):
    """OffsetCommit v2 (with retention_time_ms); returns {(t, p): error}."""
    by_topic = {}
    for (t, p), off in offsets.items():
        by_topic.setdefault(t, []).append((p, off))
    body = string(group) + struct.pack(">i", generation) + string(member_id)
    body += struct.pack(">qi", retention_ms, len(by_topic))
    for t, parts in by_topic.items():
        body += string(t) + struct.pack(">i", len(parts))
        for p, off in parts:
            body += struct.pack(">iq", p, off) + string("")
    conn.request(8, 2, body)
    r = Reader(conn.response())
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, err = r.take(">ih")
            out[(t, p)] = err
    return out
