"""Differential scenarios for idempotent Produce: batches carrying a producer
id, epoch and sequence. In order, retried (a duplicate of one of the last
five batches, answered with its original offset), out of order, from an old
or a new epoch, from a producer the partition does not know, wrapping at
INT32_MAX, and a negative sequence."""
import time

from differ import check
from peers import integration_module

kafka_wire = integration_module("kafka_wire")

BASE_TS = (int(time.time()) - 60) * 1000
INT32_MAX = 2**31 - 1
COORDINATOR_LOAD_IN_PROGRESS = 14
READY_WAIT_S = 60


def idempotent_batch(values, producer_id, epoch, seq, ts=BASE_TS):
    """A record batch v2 with producer fields (uncompressed, CreateTime)."""
    return kafka_wire.record_batch([v.encode() for v in values], ts=ts,
                                   producer=(producer_id, epoch, seq))


def producer_id(c):
    """A fresh producer id (Kafka answers COORDINATOR_LOAD_IN_PROGRESS while
    its coordinator loads: asked again, bounded)."""
    v = max(range(0, 6))
    deadline = time.time() + READY_WAIT_S
    while time.time() < deadline:
        r = c.call("InitProducerId", v, {"transactional_id": None, "transaction_timeout_ms": 60000,
                                         "producer_id": -1, "producer_epoch": -1}, record=False)
        if r["error_code"] == 0:
            return r["producer_id"]
        assert r["error_code"] == COORDINATOR_LOAD_IN_PROGRESS, r
        time.sleep(0.2)
    raise AssertionError(f"{c.side}: no producer id after {READY_WAIT_S}s")


def send(c, topic, records, label, partition=0, version=9):
    c.call("Produce", version, {"transactional_id": None, "acks": -1, "timeout_ms": 30000,
                                "topic_data": [{"name": topic, "partition_data": [
                                    {"index": partition, "records": records}]}]}, label=label)


def test_idempotent_in_order_and_retried(peers):
    name = peers.name("idem-retry")

    def scenario(c):
        c.create_topic(name)
        pid = producer_id(c)
        send(c, name, idempotent_batch(["a", "b", "c"], pid, 0, 0), "seq 0-2")
        send(c, name, idempotent_batch(["d"], pid, 0, 3), "seq 3")
        send(c, name, idempotent_batch(["a", "b", "c"], pid, 0, 0), "seq 0-2 again")
        send(c, name, idempotent_batch(["d"], pid, 0, 3), "seq 3 again")
        send(c, name, idempotent_batch(["e"], pid, 0, 4), "seq 4")
        send(c, name, idempotent_batch(["x"], pid, 0, 9), "a gap")
        send(c, name, idempotent_batch(["b", "c"], pid, 0, 1), "overlapping, not equal")
        c.call("ListOffsets", 7, {"replica_id": -1, "topics": [{"name": name, "partitions": [
            {"partition_index": 0, "timestamp": -1}]}]}, label="written once")
    check(peers.run(scenario))


def test_idempotent_last_five(peers):
    """Only the last five batches are remembered: an older retry is out of
    order."""
    name = peers.name("idem-five")

    def scenario(c):
        c.create_topic(name)
        pid = producer_id(c)
        for seq in range(7):
            send(c, name, idempotent_batch([f"r{seq}"], pid, 0, seq), f"seq {seq}")
        send(c, name, idempotent_batch(["r2"], pid, 0, 2), "seq 2 again (fifth from last)")
        send(c, name, idempotent_batch(["r1"], pid, 0, 1), "seq 1 again (sixth from last)")
    check(peers.run(scenario))


def test_idempotent_epochs(peers):
    name = peers.name("idem-epochs")

    def scenario(c):
        c.create_topic(name)
        pid = producer_id(c)
        send(c, name, idempotent_batch(["a"], pid, 0, 0), "epoch 0 seq 0")
        send(c, name, idempotent_batch(["b"], pid, 1, 5), "epoch 1 seq 5")
        send(c, name, idempotent_batch(["b"], pid, 1, 0), "epoch 1 seq 0")
        send(c, name, idempotent_batch(["c"], pid, 0, 1), "epoch 0 again")
        send(c, name, idempotent_batch(["a"], pid, 0, 0), "epoch 0 seq 0 again")
        send(c, name, idempotent_batch(["d"], pid, 1, 1), "epoch 1 seq 1")
    check(peers.run(scenario))


def test_idempotent_unknown_producer(peers):
    """A producer the partition does not know may start at any sequence (its
    batches may have been removed): Kafka 4 accepts it."""
    name = peers.name("idem-unknown")

    def scenario(c):
        c.create_topic(name)
        pid = producer_id(c)
        send(c, name, idempotent_batch(["a", "b"], pid, 3, 17), "unknown, seq 17")
        send(c, name, idempotent_batch(["c"], pid, 3, 19), "then seq 19")
        send(c, name, idempotent_batch(["c"], pid, 3, 21), "then a gap")
    check(peers.run(scenario))


def test_idempotent_sequence_wraps(peers):
    name = peers.name("idem-wrap")

    def scenario(c):
        c.create_topic(name)
        pid = producer_id(c)
        send(c, name, idempotent_batch(["a", "b"], pid, 0, INT32_MAX - 1), "seq max-1..max")
        send(c, name, idempotent_batch(["c", "d"], pid, 0, 0), "seq 0 after max")
        send(c, name, idempotent_batch(["e"], pid, 0, INT32_MAX), "seq max, out of order")
        send(c, name, idempotent_batch(["x", "y", "z"], pid, 1, INT32_MAX - 1), "epoch 1 wrapping")
        send(c, name, idempotent_batch(["f"], pid, 0, 2), "after the wrap")
    check(peers.run(scenario))


def test_idempotent_negative_sequence(peers):
    name = peers.name("idem-negative")

    def scenario(c):
        c.create_topic(name)
        pid = producer_id(c)
        send(c, name, idempotent_batch(["a"], pid, 0, -5), "sequence -5")
    check(peers.run(scenario))


def test_describe_producers(peers):
    """Each partition's producers after idempotent appends: epoch, last
    sequence, last timestamp (the batch's, so the same on both brokers),
    coordinator epoch and no transaction; an unknown partition and topic."""
    v = max(peers.versions("DescribeProducers"))
    name = peers.name("idem-describe")

    def scenario(c):
        c.create_topic(name, partitions=2)
        first, second = producer_id(c), producer_id(c)
        send(c, name, idempotent_batch(["a", "b"], first, 0, 0), "p0 seq 0-1")
        send(c, name, idempotent_batch(["c"], first, 0, 2, ts=BASE_TS + 7), "p0 seq 2")
        send(c, name, idempotent_batch(["d"], second, 4, 11), "p1 epoch 4 seq 11", partition=1)
        c.call("DescribeProducers", v, {"topics": [
            {"name": name, "partition_indexes": [0, 1, 7]},
            {"name": peers.name("idem-describe-none"), "partition_indexes": [0]}]})
    check(peers.run(scenario))
