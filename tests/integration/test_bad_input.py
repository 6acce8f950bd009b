"""Bad input closes only the offending connection (or gets the right Kafka
error code) and never harms the broker or other clients."""
import struct

import pytest

from kafka_wire import Conn, api_versions, fetch_v4, produce_v3, record_batch

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
UNSUPPORTED_VERSION = 35


def healthy(broker):
    c = Conn(broker.bootstrap)
    err, ranges = api_versions(c)
    c.close()
    assert err == 0 and ranges[0] == (0, 11) and ranges[1] == (4, 17)
    assert broker.alive()


def test_api_versions_ranges(broker):
    c = Conn(broker.bootstrap)
    err, ranges = api_versions(c)
    assert err == 0
    assert ranges == {0: (0, 11), 1: (4, 17), 2: (1, 10), 3: (0, 12), 8: (0, 9), 9: (0, 9),
                      10: (0, 6), 11: (0, 9), 12: (0, 4), 13: (0, 5), 14: (0, 5), 15: (0, 5),
                      16: (0, 5), 18: (0, 4), 19: (2, 7), 20: (1, 6), 21: (0, 2), 22: (0, 5),
                      23: (2, 4), 24: (0, 5), 25: (0, 4), 26: (0, 5), 27: (0, 1), 28: (0, 4),
                      32: (1, 4), 33: (0, 2), 35: (1, 4), 37: (0, 3), 42: (0, 2), 43: (0, 2),
                      44: (0, 1), 47: (0, 0), 48: (0, 1), 49: (0, 1), 60: (0, 1),
                      61: (0, 0), 65: (0, 0), 66: (0, 1)}
    err, ranges = api_versions(c, version=99)
    assert err == UNSUPPORTED_VERSION and ranges[18] == (0, 4)
    c.close()


def test_oversized_frame_closes_connection(make_broker):
    b = make_broker({"socket.request.max.bytes": 1048576})
    c = Conn(b.bootstrap)
    c.send_raw(struct.pack(">i", 2 * 1048576) + b"\x00" * 64)
    assert c.closed_by_peer()
    healthy(b)


@pytest.mark.parametrize("payload", [
    struct.pack(">i", 4) + b"\x00\x12\x00",                       # shorter than a header
    struct.pack(">i", 10) + struct.pack(">hhih", 18, 0, 1, 50),    # client id runs past the frame
    struct.pack(">i", 8) + struct.pack(">hhi", 999, 0, 1),         # unknown API key
    struct.pack(">i", 10) + struct.pack(">hhih", 3, 77, 1, -1),    # unsupported Metadata version
])
def test_malformed_requests_close_connection(broker, payload):
    other = Conn(broker.bootstrap)
    c = Conn(broker.bootstrap)
    c.send_raw(payload)
    assert c.closed_by_peer()
    err, _ = api_versions(other)
    assert err == 0
    other.close()
    healthy(broker)


def test_truncated_produce_body_closes_connection(broker):
    c = Conn(broker.bootstrap)
    c.request(0, 3, struct.pack(">hhii", -1, 1, 1000, 5))  # claims 5 topics, has none
    assert c.closed_by_peer()
    healthy(broker)


def test_bad_crc_is_corrupt_message(broker):
    c = Conn(broker.bootstrap)
    err, _ = produce_v3(c, "crc", 0, record_batch([b"hello"], corrupt_crc=True))
    assert err == CORRUPT_MESSAGE
    err, base = produce_v3(c, "crc", 0, record_batch([b"fine"]))
    assert (err, base) == (0, 0)
    c.close()


def test_message_too_large(make_broker):
    b = make_broker({"message.max.bytes": 10000})
    c = Conn(b.bootstrap)
    err, _ = produce_v3(c, "big", 0, record_batch([b"x" * 20000]))
    assert err == MESSAGE_TOO_LARGE
    err, _ = produce_v3(c, "big", 0, record_batch([b"x" * 100]))
    assert err == 0
    c.close()


def test_unknown_topic_without_auto_create(make_broker):
    b = make_broker({"auto.create.topics.enable": "false"})
    c = Conn(b.bootstrap)
    err, _ = produce_v3(c, "nope", 0, record_batch([b"v"]))
    assert err == UNKNOWN_TOPIC_OR_PARTITION
    err, _, _ = fetch_v4(c, "nope", 0, 0)
    assert err == UNKNOWN_TOPIC_OR_PARTITION
    c.close()
    healthy(b)


def test_min_insync_replicas_above_one(broker):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("isr2", 1, 1, config={"min.insync.replicas": "2"})])["isr2"].result(30)
    c = Conn(broker.bootstrap)
    assert produce_v3(c, "isr2", 0, record_batch([b"v"]), acks=-1)[0] == 19  # NOT_ENOUGH_REPLICAS
    assert produce_v3(c, "isr2", 0, record_batch([b"v"]), acks=1) == (0, 0)
    c.close()
