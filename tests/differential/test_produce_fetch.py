"""Differential scenarios for Produce, Fetch and ListOffsets: appends at every
version, acks values, unknown and internal topics, unknown partitions,
oversized and bad batches, reads in and out of range, offsets by time."""
import os
import struct
import time
import zlib

import pytest

import kafka_codec as codec
from differ import Known, check
from peers import integration_module, schema_versions

kafka_wire = integration_module("kafka_wire")

PRODUCE_VERSIONS = schema_versions("Produce")
FETCH_VERSIONS = schema_versions("Fetch")
LIST_OFFSETS_VERSIONS = schema_versions("ListOffsets")
# One CreateTime for the session, a minute in the past, so both brokers get
# the same bytes and neither retention nor the future bound touches them.
BASE_TS = (int(time.time()) - 60) * 1000
MESSAGE_MAX_BYTES = 1048588  # Kafka's default message.max.bytes


def batch(values, ts=BASE_TS, **kw):
    return kafka_wire.record_batch([v.encode() if isinstance(v, str) else v for v in values],
                                   ts=ts, **kw)


def produce_body(topic, records, partition=0, acks=-1):
    return {"transactional_id": None, "acks": acks, "timeout_ms": 30000, "topic_data": [
        {"name": topic, "partition_data": [{"index": partition, "records": records}]}]}


def topic_id(c, name):
    r = c.call("Metadata", 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False},
               record=False)
    return r["topics"][0]["topic_id"]


# ---- Produce ----

@pytest.mark.parametrize("v", PRODUCE_VERSIONS)
def test_produce(peers, v):
    peers.require("Produce", v)
    name = peers.name(f"pr-{v}")

    def scenario(c):
        c.create_topic(name, partitions=2)
        c.call("Produce", v, produce_body(name, batch(["a", "b", "c"])), label="first")
        c.call("Produce", v, produce_body(name, batch(["d"], ts=BASE_TS + 5)), label="second")
        c.call("Produce", v, produce_body(name, batch(["e"]), partition=1), label="partition 1")
    check(peers.run(scenario))


@pytest.mark.parametrize("acks", [1, -1, 2, -2, 5])
def test_produce_acks(peers, acks):
    v = max(peers.versions("Produce"))
    name = peers.name(f"pr-acks-{acks}".replace("-", "m"))

    def scenario(c):
        c.create_topic(name)
        c.call("Produce", v, produce_body(name, batch(["x"]), acks=acks))
    check(peers.run(scenario))


def test_produce_acks_zero(peers):
    """acks=0: no response; the next request's answer comes next, and the
    record was appended."""
    v = max(peers.versions("Produce"))
    name = peers.name("pr-acks-zero")

    def scenario(c):
        c.create_topic(name)
        c.corr += 1
        c.send_frame(codec.encode_request(0, v, c.corr, produce_body(name, batch(["x"]), acks=0)))
        c.call("ListOffsets", 7, list_offsets_body(name, -1), label="latest after acks=0")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", PRODUCE_VERSIONS)
def test_produce_unknown_topic(peers, v):
    peers.require("Produce", v)
    name = peers.name(f"pr-unknown-{v}")
    check(peers.run(lambda c: c.call("Produce", v, produce_body(name, batch(["x"])))))


def legacy_message_set(value, magic):
    """One message of the message format before record batches (magic 0 or
    1, what Produce v0-v2 carry): offset, size, crc, magic, attributes,
    [timestamp], null key, value."""
    ts = struct.pack(">q", BASE_TS) if magic == 1 else b""
    after_crc = struct.pack(">bb", magic, 0) + ts + struct.pack(">i", -1) + \
        struct.pack(">i", len(value)) + value
    message = struct.pack(">I", zlib.crc32(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(message)) + message


def legacy_produce_frame(topic, v, corr):
    """A well-formed Produce v0-v2 (no transactional id; the schema begins at
    v3, so it is built here): acks -1, one topic, partition 0, one message."""
    header = struct.pack(">hhi", 0, v, corr) + kafka_wire.string("differential")
    messages = legacy_message_set(b"legacy", 0 if v == 0 else 1)
    body = struct.pack(">hi", -1, 30000) + struct.pack(">i", 1) + kafka_wire.string(topic) + \
        struct.pack(">ii", 1, 0) + struct.pack(">i", len(messages)) + messages
    return struct.pack(">i", len(header) + len(body)) + header + body


@pytest.mark.parametrize("v", [0, 1, 2])
def test_produce_legacy_version(peers, v):
    """Produce v0-v2: listed in ApiVersions (KAFKA-18659), refused by closing
    the connection; nothing is appended."""
    name = peers.name(f"pr-legacy-{v}")

    def scenario(c):
        c.create_topic(name)
        c.corr += 1
        c.call_raw("Produce", 3, legacy_produce_frame(name, v, c.corr), f"Produce v{v}")
        c.call("ListOffsets", 7, list_offsets_body(name, -1), label="nothing appended")
    check(peers.run(scenario))


def test_produce_unknown_partition(peers):
    name = peers.name("pr-unknown-part")
    v = max(peers.versions("Produce"))

    def scenario(c):
        c.create_topic(name)
        c.call("Produce", v, produce_body(name, batch(["x"]), partition=7))
        c.call("Produce", v, produce_body(name, batch(["x"]), partition=-1), label="negative")
    check(peers.run(scenario))


def test_produce_invalid_topic_name(peers):
    v = max(peers.versions("Produce"))
    check(peers.run(lambda c: c.call("Produce", v, produce_body("bad name!", batch(["x"])))))


def test_produce_internal_topic(peers):
    v = max(peers.versions("Produce"))

    def scenario(c):
        c.call("FindCoordinator", 3, {"key": peers.name("pr-internal"), "key_type": 0}, record=False)
        c.wait_leaders("__consumer_offsets", None)
        c.call("Produce", v, produce_body("__consumer_offsets", batch(["x"])))
    check(peers.run(scenario))


def test_produce_oversized(peers):
    """A batch past message.max.bytes (both at Kafka's default)."""
    v = max(peers.versions("Produce"))
    name = peers.name("pr-oversized")
    big = batch([b"v" * (MESSAGE_MAX_BYTES + 100)])

    def scenario(c):
        c.create_topic(name)
        c.call("Produce", v, produce_body(name, big))
        c.call("Produce", v, produce_body(name, batch(["fits"])), label="next fits")
    check(peers.run(scenario))


def _set_byte(records, pos, value):
    b = bytearray(records)
    b[pos] = value
    return bytes(b)


BAD_BATCHES = {
    "crc": lambda: batch(["x", "y"], corrupt_crc=True),
    "magic-1": lambda: _set_byte(batch(["x"]), 16, 1),
    "magic-3": lambda: _set_byte(batch(["x"]), 16, 3),
    "truncated": lambda: batch(["x", "y"])[:-3],
    "length-past-end": lambda: batch(["x"])[:8] + struct.pack(">i", 10_000) + batch(["x"])[12:],
    "empty": lambda: b"",
}


@pytest.mark.parametrize("which", sorted(BAD_BATCHES))
def test_produce_bad_batch(peers, which):
    v = max(peers.versions("Produce"))
    name = peers.name(f"pr-bad-{which}")
    records = BAD_BATCHES[which]()

    def scenario(c):
        c.create_topic(name)
        c.call("Produce", v, produce_body(name, records))
        c.call("ListOffsets", 7, list_offsets_body(name, -1), label="nothing appended")
    check(peers.run(scenario))


def test_produce_keyless_to_compacted_topic(peers):
    """Records without a key in a compacted topic: INVALID_RECORD, one
    record error per record and Kafka's message listing them."""
    v = max(peers.versions("Produce"))
    name = peers.name("pr-keyless-compact")

    def scenario(c):
        c.create_topic(name, configs={"cleanup.policy": "compact"})
        c.call("Produce", v, produce_body(name, batch(["x", "y"])))
        c.call("Produce", 7, produce_body(name, batch(["z"])), label="v7")
        c.call("ListOffsets", 7, list_offsets_body(name, -1), label="nothing appended")
    check(peers.run(scenario))


def test_produce_null_records(peers):
    """Kafka never answers a Produce whose records are null; sluice answers
    CORRUPT_MESSAGE."""
    v = max(peers.versions("Produce"))
    name = peers.name("pr-null-records")

    def scenario(c):
        c.create_topic(name)
        c.call("Produce", v, produce_body(name, None), answer_within_s=5)
        c.call("ListOffsets", 7, list_offsets_body(name, -1), label="nothing appended")
    check(peers.run(scenario), Known("KD-09", "Produce*:*"))


# ---- Fetch ----

def fetch_body(c, v, name, offset, partition=0, max_wait_ms=0, min_bytes=0, tid=None):
    return {"replica_id": -1, "max_wait_ms": max_wait_ms, "min_bytes": min_bytes,
            "max_bytes": 1 << 20, "isolation_level": 0, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": name, "topic_id": tid if tid is not None else
                        (topic_id(c, name) if v >= 13 else bytes(16)),
                        "partitions": [{"partition": partition, "fetch_offset": offset,
                                        "partition_max_bytes": 1 << 20}]}],
            "forgotten_topics_data": [], "rack_id": ""}


@pytest.mark.parametrize("v", FETCH_VERSIONS)
def test_fetch(peers, v):
    peers.require("Fetch", v)
    name = peers.name(f"fe-{v}")

    def scenario(c):
        c.create_topic(name)
        c.produce(name, [batch(["a", "b"]), batch(["c"], ts=BASE_TS + 1)])
        c.call("Fetch", v, fetch_body(c, v, name, 0), label="from 0")
        c.call("Fetch", v, fetch_body(c, v, name, 2), label="from 2")
        c.call("Fetch", v, fetch_body(c, v, name, 3), label="at the end")
        c.call("Fetch", v, fetch_body(c, v, name, 1), label="mid-batch")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", FETCH_VERSIONS)
def test_fetch_out_of_range(peers, v):
    peers.require("Fetch", v)
    name = peers.name(f"fe-range-{v}")

    def scenario(c):
        c.create_topic(name)
        c.produce(name, [batch(["a"])])
        c.call("Fetch", v, fetch_body(c, v, name, 5), label="past the end")
        c.call("Fetch", v, fetch_body(c, v, name, -3), label="negative")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", FETCH_VERSIONS)
def test_fetch_unknown(peers, v):
    peers.require("Fetch", v)
    name = peers.name(f"fe-unknown-{v}")
    known_name = peers.name(f"fe-known-{v}")

    def scenario(c):
        c.create_topic(known_name)
        c.call("Fetch", v, fetch_body(c, v, name, 0, tid=os.urandom(16) if v >= 13 else None),
               label="unknown topic")
        c.call("Fetch", v, fetch_body(c, v, known_name, 0, partition=3), label="unknown partition")
    check(peers.run(scenario))


def test_fetch_waits_for_min_bytes(peers):
    v = max(peers.versions("Fetch"))
    name = peers.name("fe-wait")

    def scenario(c):
        c.create_topic(name)
        c.call("Fetch", v, fetch_body(c, v, name, 0, max_wait_ms=300, min_bytes=1))
    check(peers.run(scenario))


# ---- ListOffsets ----

def list_offsets_body(name, ts, partition=0):
    return {"replica_id": -1, "isolation_level": 0, "timeout_ms": 30000, "topics": [
        {"name": name, "partitions": [{"partition_index": partition, "timestamp": ts}]}]}


@pytest.mark.parametrize("v", LIST_OFFSETS_VERSIONS)
def test_list_offsets(peers, v):
    peers.require("ListOffsets", v)
    name = peers.name(f"lo-{v}")
    specials = {"latest": -1, "earliest": -2}
    if v >= 7:
        specials["max-timestamp"] = -3
    if v >= 8:
        specials["earliest-local"] = -4
    if v >= 9:
        specials["latest-tiered"] = -5

    def scenario(c):
        c.create_topic(name)
        c.call("ListOffsets", v, list_offsets_body(name, -1), label="empty latest")
        c.produce(name, [batch(["a", "b"]), batch(["c"], ts=BASE_TS + 10),
                         batch(["d"], ts=BASE_TS + 20)])
        for label, ts in specials.items():
            c.call("ListOffsets", v, list_offsets_body(name, ts), label=label)
        for delta in (0, 5, 10, 20, 21):
            c.call("ListOffsets", v, list_offsets_body(name, BASE_TS + delta), label=f"ts+{delta}")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", LIST_OFFSETS_VERSIONS)
def test_list_offsets_unknown(peers, v):
    peers.require("ListOffsets", v)
    name = peers.name(f"lo-unknown-{v}")
    known_name = peers.name(f"lo-known-{v}")

    def scenario(c):
        c.create_topic(known_name)
        c.call("ListOffsets", v, list_offsets_body(name, -1), label="unknown topic")
        c.call("ListOffsets", v, list_offsets_body(known_name, -1, partition=4),
               label="unknown partition")
        c.call("ListOffsets", v, list_offsets_body(known_name, -7), label="bad special timestamp")
    check(peers.run(scenario))
