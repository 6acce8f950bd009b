"""Raw encoders/decoders for offsets committed inside transactions:
TxnOffsetCommit v0-v4 and OffsetFetch v7 (require_stable). Written from the
protocol page for the tests."""
import struct

from group_wire import Reader, cstring
from kafka_wire import string, uvarint

TXN_OFFSET_COMMIT = 28
OFFSET_FETCH = 9


def _by_topic(offsets):
    by_topic = {}
    for (t, p), v in offsets.items():
        by_topic.setdefault(t, []).append((p, v))
    return by_topic


def txn_offset_commit(conn, version, txn_id, group, producer, offsets, generation=-1,
                      member_id="", instance_id=None):
    """producer: (id, epoch); offsets: {(topic, p): offset or (offset, metadata)}.
    Returns [(topic, [(partition, error)])] in the response's order."""
    flexible = version >= 3
    s = cstring if flexible else string
    arr = (lambda n: uvarint(n + 1)) if flexible else (lambda n: struct.pack(">i", n))
    tags = b"\x00" if flexible else b""
    body = s(txn_id) + s(group) + struct.pack(">qh", *producer)
    if version >= 3:
        body += struct.pack(">i", generation) + s(member_id) + s(instance_id)
    by_topic = _by_topic(offsets)
    body += arr(len(by_topic))
    for t, parts in by_topic.items():
        body += s(t) + arr(len(parts))
        for p, v in parts:
            off, meta = v if isinstance(v, tuple) else (v, "")
            body += struct.pack(">iq", p, off)
            if version >= 2:
                body += struct.pack(">i", -1)
            body += s(meta) + tags
        body += tags
    body += tags
    conn.request(TXN_OFFSET_COMMIT, version, body, flexible=flexible)
    r = Reader(conn.response())
    r.take(">i")
    if flexible:
        r.tags()
    r.take(">i")
    n = (r.uvarint() - 1) if flexible else r.take(">i")
    out = []
    for _ in range(n):
        t = r.cstring() if flexible else r.string()
        parts = []
        for _ in range((r.uvarint() - 1) if flexible else r.take(">i")):
            parts.append(r.take(">ih"))
            if flexible:
                r.tags()
        if flexible:
            r.tags()
        out.append((t, parts))
    return out


def errors_of(answer):
    """{(topic, p): error} of a txn_offset_commit answer."""
    return {(t, p): e for t, parts in answer for p, e in parts}


def offset_fetch_v7(conn, group, partitions=None, require_stable=True):
    """partitions: [(topic, p)] or None for all; returns
    (error, {(t, p): (offset, error)})."""
    body = cstring(group)
    if partitions is None:
        body += uvarint(0)
    else:
        by_topic = {}
        for t, p in partitions:
            by_topic.setdefault(t, []).append(p)
        body += uvarint(len(by_topic) + 1)
        for t, ps in by_topic.items():
            body += cstring(t) + uvarint(len(ps) + 1) + b"".join(struct.pack(">i", p) for p in ps)
            body += b"\x00"
    body += struct.pack(">?", require_stable) + b"\x00"
    conn.request(OFFSET_FETCH, 7, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    out = {}
    for _ in range(r.uvarint() - 1):
        t = r.cstring()
        for _ in range(r.uvarint() - 1):
            p, off, _epoch = r.take(">iqi")
            r.cstring()
            out[(t, p)] = (off, r.take(">h"))
            r.tags()
        r.tags()
    err = r.take(">h")
    return err, out


def init_producer_id_v4(conn, txn_id, timeout_ms=60000):
    """Returns (error, producer id, epoch)."""
    body = cstring(txn_id) + struct.pack(">iqh", timeout_ms, -1, -1) + b"\x00"
    conn.request(22, 4, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    return r.take(">hqh")


def add_offsets_to_txn_v3(conn, txn_id, producer, group):
    body = cstring(txn_id) + struct.pack(">qh", *producer) + cstring(group) + b"\x00"
    conn.request(25, 3, body, flexible=True)
    r = Reader(conn.response())
    r.take(">i")
    r.tags()
    r.take(">i")
    return r.take(">h")
