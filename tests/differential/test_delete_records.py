"""Differential scenarios for DeleteRecords: a deletion inside the log, -1
(the high watermark), an offset above it, below the current start, negative
offsets, unknown topics and partitions, a compacted topic, every version; and
what a deletion changes for ListOffsets and Fetch."""
import time

import pytest

from differ import check
from peers import integration_module, schema_versions

kafka_wire = integration_module("kafka_wire")

VERSIONS = schema_versions("DeleteRecords")
BASE_TS = (int(time.time()) - 60) * 1000


def batch(values):
    return kafka_wire.record_batch([v.encode() for v in values], ts=BASE_TS)


def delete_body(topic, offsets, timeout_ms=30000):
    """offsets: {partition: offset}."""
    return {"topics": [{"name": topic, "partitions": [
        {"partition_index": p, "offset": o} for p, o in sorted(offsets.items())]}],
        "timeout_ms": timeout_ms}


def earliest(c, topic, partitions=1, label="earliest"):
    c.call("ListOffsets", 7, {"replica_id": -1, "isolation_level": 0, "topics": [
        {"name": topic, "partitions": [{"partition_index": p, "timestamp": -2}
                                       for p in range(partitions)]}]}, label=label)


def fetch(c, topic, offset, label):
    c.call("Fetch", 11, {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1,
                         "max_bytes": 1 << 20, "isolation_level": 0, "session_id": 0,
                         "session_epoch": -1, "topics": [{"topic": topic, "partitions": [
                             {"partition": 0, "current_leader_epoch": -1,
                              "fetch_offset": offset, "log_start_offset": -1,
                              "partition_max_bytes": 1 << 20}]}],
                         "forgotten_topics_data": [], "rack_id": ""}, label=label)


def ten_records(c, name, partitions=1):
    c.create_topic(name, partitions=partitions)
    for p in range(partitions):
        c.produce(name, [batch(["a", "b", "c"]), batch(["d", "e"]),
                         batch(["f", "g", "h", "i", "j"])], partition=p)


@pytest.mark.parametrize("v", VERSIONS)
def test_delete_records(peers, v):
    peers.require("DeleteRecords", v)
    name = peers.name(f"dr-{v}")

    def scenario(c):
        ten_records(c, name, partitions=2)
        c.call("DeleteRecords", v, delete_body(name, {0: 4, 1: 3}), label="inside the log")
        earliest(c, name, partitions=2, label="earliest after")
        fetch(c, name, 3, "below the new start")
        fetch(c, name, 4, "at the new start, inside a batch")
        c.call("DeleteRecords", v, delete_body(name, {0: 2}), label="below the start: no change")
        c.call("DeleteRecords", v, delete_body(name, {0: 10}), label="at the high watermark")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", VERSIONS)
def test_delete_records_high_watermark(peers, v):
    peers.require("DeleteRecords", v)
    name = peers.name(f"dr-hw-{v}")

    def scenario(c):
        ten_records(c, name)
        c.call("DeleteRecords", v, delete_body(name, {0: -1}), label="-1: the high watermark")
        earliest(c, name)
        fetch(c, name, 10, "at the end")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", VERSIONS)
def test_delete_records_out_of_range(peers, v):
    peers.require("DeleteRecords", v)
    name = peers.name(f"dr-oor-{v}")

    def scenario(c):
        ten_records(c, name)
        c.call("DeleteRecords", v, delete_body(name, {0: 11}), label="above the high watermark")
        c.call("DeleteRecords", v, delete_body(name, {0: -2}), label="negative")
        earliest(c, name, label="unchanged")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", VERSIONS)
def test_delete_records_unknown(peers, v):
    peers.require("DeleteRecords", v)
    name = peers.name(f"dr-unknown-{v}")

    def scenario(c):
        c.call("DeleteRecords", v, delete_body(name, {0: 0}), label="unknown topic")
        c.create_topic(name, partitions=1)
        c.call("DeleteRecords", v, delete_body(name, {3: 0}), label="unknown partition")
    check(peers.run(scenario))


def test_delete_records_empty_log(peers):
    v = max(peers.versions("DeleteRecords"))
    name = peers.name("dr-empty")

    def scenario(c):
        c.create_topic(name, partitions=1)
        c.call("DeleteRecords", v, delete_body(name, {0: -1}), label="-1 on an empty log")
        c.call("DeleteRecords", v, delete_body(name, {0: 0}), label="0 on an empty log")
        c.call("DeleteRecords", v, delete_body(name, {0: 1}), label="1 on an empty log")
    check(peers.run(scenario))


def test_delete_records_compacted(peers):
    v = max(peers.versions("DeleteRecords"))
    name = peers.name("dr-compact")

    def scenario(c):
        c.create_topic(name, partitions=1, configs={"cleanup.policy": "compact"})
        c.call("DeleteRecords", v, delete_body(name, {0: 0}), label="compact only")
    check(peers.run(scenario))


def test_delete_records_zero_timeout(peers):
    v = max(peers.versions("DeleteRecords"))
    name = peers.name("dr-timeout")

    def scenario(c):
        ten_records(c, name)
        c.call("DeleteRecords", v, delete_body(name, {0: 5}, timeout_ms=0), label="timeout 0")
        earliest(c, name)
    check(peers.run(scenario))
