"""Internal topics belong to their coordinators: no client may delete
__consumer_offsets (TOPIC_AUTHORIZATION_FAILED, as Kafka answers a principal
denied DELETE) or create an internal topic (INVALID_REQUEST, as Kafka refuses
__cluster_metadata), so committed offsets survive a deletion attempt made
while the group has members, and a restart. An OffsetCommit v2 retention of
INT64_MAX is stored as "never expires" (saturated), not as a wrapped time."""
import struct

import pytest

import kafka_wire as kw
from group_wire import Reader, heartbeat_v3, offset_commit_v2, offset_commit_v7, offset_fetch_v5
from test_groups_protocol import FAST, create_topic, stable_member

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NONE, TOPIC_AUTHORIZATION_FAILED, INVALID_REQUEST = 0, 29, 42
INT64_MAX = 2**63 - 1
ONE_PARTITION = dict(FAST, **{"offsets.topic.num.partitions": "1"})


def admin_error(future):
    try:
        future.result(30)
    except confluent_kafka.KafkaException as e:
        return e.args[0].code(), e.args[0].str()
    return NONE, ""


def test_clients_cannot_delete_or_create_internal_topics(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 2)
    c = kw.Conn(b.bootstrap)
    j = stable_member(c, "members")
    assert offset_commit_v7(c, "members", j["generation"], j["member_id"],
                            {("t", 0): (11, "m")}) == {("t", 0): NONE}
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    assert "__consumer_offsets" in admin.list_topics(timeout=10).topics

    code, msg = admin_error(admin.delete_topics(["__consumer_offsets"])["__consumer_offsets"])
    assert code == TOPIC_AUTHORIZATION_FAILED, msg
    # Not even a topic that does not exist yet.
    code, _ = admin_error(admin.delete_topics(["__transaction_state"])["__transaction_state"])
    assert code == TOPIC_AUTHORIZATION_FAILED
    for name in ("__consumer_offsets", "__transaction_state"):
        for validate_only in (False, True):
            fs = admin.create_topics([NewTopic(name, 1, 1)], validate_only=validate_only)
            code, msg = admin_error(fs[name])
            assert code == INVALID_REQUEST, msg
            assert msg == f"Creation of internal topic {name} is prohibited."
    assert "__transaction_state" not in admin.list_topics(timeout=10).topics

    # The group and its coordinator carry on, and its offsets stay.
    assert heartbeat_v3(c, "members", j["generation"], j["member_id"]) == NONE
    assert offset_commit_v7(c, "members", j["generation"], j["member_id"],
                            {("t", 1): (12, "")}) == {("t", 1): NONE}
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    assert offset_fetch_v5(c, "members")[1] == {("t", 0): (11, "m", NONE), ("t", 1): (12, "", NONE)}
    c.close()


def consumer_offsets_records(bootstrap):
    """Every (key, value) in __consumer_offsets-0, read with raw fetches."""
    c = kw.Conn(bootstrap)
    out, offset = [], 0
    while True:
        err, hw, records = kw.fetch_v4(c, "__consumer_offsets", 0, offset)
        assert err == NONE
        if not records:
            break
        pos = 0
        while pos + 61 <= len(records):
            base, length = struct.unpack_from(">qi", records, pos)
            attrs = struct.unpack_from(">h", records, pos + 21)[0]
            assert attrs & 0x7 == 0, "the coordinator writes uncompressed batches"
            last_delta = struct.unpack_from(">i", records, pos + 23)[0]
            count = struct.unpack_from(">i", records, pos + 57)[0]
            r = Reader(records[pos + 61:pos + 12 + length])
            for _ in range(count):
                r.uvarint()                       # record length
                r.take(">b")                      # attributes
                r.uvarint(), r.uvarint()          # timestamp delta, offset delta
                key_len = zigzag(r.uvarint())
                key = r.d[r.p:r.p + key_len]
                r.p += key_len
                value_len = zigzag(r.uvarint())
                value = r.d[r.p:r.p + value_len] if value_len >= 0 else None
                r.p += max(value_len, 0)
                assert r.uvarint() == 0           # headers
                out.append((key, value))
            pos += 12 + length
            offset = base + last_delta + 1
        if offset >= hw:
            break
    c.close()
    return out


def zigzag(n):
    return (n >> 1) ^ -(n & 1)


def offset_value(records, group, topic, partition):
    """(version, expire timestamp or None) of the last commit of the key."""
    want = struct.pack(">h", 1) + kw.string(group) + kw.string(topic) + struct.pack(">i", partition)
    found = None
    for key, value in records:
        if key == want and value is not None:
            r = Reader(value)
            version = r.take(">h")
            r.take(">q")
            if version >= 3:
                r.take(">i")
            r.string()
            r.take(">q")
            found = (version, r.take(">q") if version == 1 else None)
    return found


def test_retention_int64_max_never_expires(make_broker):
    b = make_broker(ONE_PARTITION)
    create_topic(b.bootstrap, "t", 3)
    c = kw.Conn(b.bootstrap)
    assert offset_commit_v2(c, "forever", -1, "", INT64_MAX, {("t", 0): 5}) == {("t", 0): NONE}
    assert offset_commit_v2(c, "forever", -1, "", -1, {("t", 1): 6}) == {("t", 1): NONE}
    assert offset_commit_v2(c, "forever", -1, "", 3_600_000, {("t", 2): 7}) == {("t", 2): NONE}
    assert offset_fetch_v5(c, "forever")[1] == {("t", 0): (5, "", NONE), ("t", 1): (6, "", NONE),
                                                ("t", 2): (7, "", NONE)}
    c.close()
    records = consumer_offsets_records(b.bootstrap)
    # v1 is the value version that carries an expire timestamp.
    assert offset_value(records, "forever", "t", 0) == (1, INT64_MAX)
    assert offset_value(records, "forever", "t", 1) == (3, None)
    version, expire = offset_value(records, "forever", "t", 2)
    assert version == 1 and 3_600_000 < expire < INT64_MAX
