"""Debian's confluent-kafka (librdkafka 2.0.2) compresses what it produces to
sluice: the batches on the partition carry the codec it was given. That
librdkafka applies gzip, snappy and lz4 only when ApiVersions lists Produce
v2 or lower (its MsgVer1/MsgVer2 feature probes); without them it sends
those batches uncompressed and says nothing. So sluice lists Produce from
v0 as Kafka 4 does (KAFKA-18659), and like Kafka closes the connection of a
v0-v2 request."""
import struct

import pytest

from kafka_wire import Conn, api_versions, metadata_v4, partition_batches, string

confluent_kafka = pytest.importorskip("confluent_kafka")

# Record batch v2 attributes, bits 0-2: the codec (the protocol page's ids).
CODEC_IDS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
ATTRIBUTES_AT = 21  # base offset, length, leader epoch, magic, crc come first
MESSAGES = 200
PRODUCE_KEY = 0


def test_api_versions_lists_produce_from_v0(broker):
    conn = Conn(broker.bootstrap)
    try:
        err, ranges = api_versions(conn)
    finally:
        conn.close()
    assert err == 0 and ranges[PRODUCE_KEY][0] == 0


@pytest.mark.parametrize("v", [0, 1, 2])
def test_listed_legacy_produce_closes(broker, v):
    """Produce v0-v2 is listed but refused: the connection closes with one
    log line saying so, nothing is appended, and the broker serves on."""
    topic = f"rdk-legacy-{v}"
    conn = Conn(broker.bootstrap)
    assert metadata_v4(conn, topic) == 0
    body = struct.pack(">hi", -1, 30000) + struct.pack(">i", 1) + string(topic) + \
        struct.pack(">iii", 1, 0, 0)
    conn.request(PRODUCE_KEY, v, body)
    assert conn.closed_by_peer()
    conn.close()
    assert f"Produce v{v} is not supported (v3-v11), though ApiVersions lists it" in broker.log_text()
    assert partition_batches(broker.bootstrap, topic, 0) == []


@pytest.mark.parametrize("codec", sorted(CODEC_IDS))
def test_confluent_kafka_compresses(broker, codec):
    topic = f"rdk-compress-{codec}"
    p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                                  "linger.ms": 50, "compression.type": codec})
    delivered = []
    for i in range(MESSAGES):
        p.produce(topic, value=b"value-%d-" % i + b"x" * 100, partition=0,
                  on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(30) == 0
    assert len(delivered) == MESSAGES and all(err is None for err in delivered)
    batches = partition_batches(broker.bootstrap, topic, 0)
    assert batches
    codecs = {struct.unpack(">h", b[ATTRIBUTES_AT:ATTRIBUTES_AT + 2])[0] & 0x07 for b in batches}
    assert codecs == {CODEC_IDS[codec]}, f"{codec}: batches carry codec ids {codecs}"
