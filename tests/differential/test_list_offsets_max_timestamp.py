"""Differential scenarios for ListOffsets MAX_TIMESTAMP (-3, KIP-734): the
offset of the first record that carries the partition's largest timestamp,
inside its batch, for CreateTime batches plain and gzip-compressed, ties
within and across batches, a header whose max timestamp its records do not
bear out, records without timestamps, LogAppendTime topics, a log start
moved past the record by DeleteRecords, and transactions (whose markers
carry the broker's clock)."""
import time

import pytest

from differ import check
from peers import integration_module

kafka_wire = integration_module("kafka_wire")
w = integration_module("txn_wire")

MAX_TIMESTAMP = -3
BASE_TS = (int(time.time()) - 60) * 1000
SETTLE_WAIT_S = 30
TXN_TIMEOUT_MS = 60000
# Apart enough that two LogAppendTime batches never share a millisecond.
APPEND_GAP_S = 0.01


def timed(timestamps, **kw):
    """A batch of one record per timestamp delta from BASE_TS (None: no
    timestamp, -1)."""
    ts = [-1 if d is None else BASE_TS + d for d in timestamps]
    return kafka_wire.record_batch_timed([f"v{i}" for i in range(len(ts))], ts, **kw)


def version_of(peers):
    """The newest ListOffsets version both brokers serve (MAX_TIMESTAMP needs 7)."""
    vs = peers.versions("ListOffsets")
    if not vs or vs[-1] < 7:
        pytest.skip("ListOffsets v7 is not served by both brokers")
    return vs[-1]


def list_offsets_body(name, ts, isolation=0):
    return {"replica_id": -1, "isolation_level": isolation, "timeout_ms": 30000, "topics": [
        {"name": name, "partitions": [{"partition_index": 0, "timestamp": ts}]}]}


def max_timestamp(c, v, name, label, isolation=0, broker_time=False):
    """Records the MAX_TIMESTAMP answer; with broker_time, the timestamp is
    each broker's clock (LogAppendTime, a marker): only whether it is past
    BASE_TS is recorded."""
    r = c.call("ListOffsets", v, list_offsets_body(name, MAX_TIMESTAMP, isolation), record=False)
    p = r["topics"][0]["partitions"][0]
    ts = p["timestamp"]
    if broker_time and ts >= 0:
        ts = "broker clock" if ts > BASE_TS + 1000 else ts
    c.note(label, {"error_code": p["error_code"], "offset": p["offset"], "timestamp": ts,
                   "leader_epoch": p["leader_epoch"]}, "ListOffsets")


def scenario_of(peers, label, batches, configs=None):
    name = peers.name(f"maxts-{label}")
    v = version_of(peers)

    def scenario(c):
        c.create_topic(name, configs=configs)
        max_timestamp(c, v, name, "empty")
        for b in batches:
            c.produce(name, [b])
        max_timestamp(c, v, name, "after appends")
    return scenario


@pytest.mark.parametrize("gzip_records", [False, True], ids=["plain", "gzip"])
def test_max_timestamp_inside_batch(peers, gzip_records):
    """The largest timestamp is the middle record of the first batch."""
    batches = [timed([0, 30, 10], gzip_records=gzip_records),
               timed([5, 20], gzip_records=gzip_records)]
    check(peers.run(scenario_of(peers, f"inside-{gzip_records}", batches)))


@pytest.mark.parametrize("gzip_records", [False, True], ids=["plain", "gzip"])
def test_max_timestamp_ties(peers, gzip_records):
    """Ties: the first record of the first batch holding the largest timestamp."""
    batches = [timed([10], gzip_records=gzip_records),
               timed([0, 3, 50, 50, 7], gzip_records=gzip_records),
               timed([50, 50], gzip_records=gzip_records),
               timed([1], gzip_records=gzip_records)]
    check(peers.run(scenario_of(peers, f"ties-{gzip_records}", batches)))


@pytest.mark.parametrize("header", ["below", "above"])
def test_max_timestamp_header_not_borne_out(peers, header):
    """A header's max timestamp below or above its records' largest: Kafka
    writes the records' own largest into the header on append."""
    max_ts = BASE_TS if header == "below" else BASE_TS + 100
    batches = [timed([0, 30, 10], max_ts=max_ts), timed([0, 20])]
    check(peers.run(scenario_of(peers, f"header-{header}", batches)))


def test_max_timestamp_log_append_time_bit_on_create_time_topic(peers):
    """A client's batch that says LogAppendTime on a CreateTime topic: Kafka
    reads every record's timestamp as the header's max, stores the batch as
    CreateTime with that max, and then finds no record carrying it."""
    name = peers.name("maxts-latbit")
    v = version_of(peers)

    def scenario(c):
        c.create_topic(name)
        c.produce(name, [timed([0, 30, 10], attributes=0x08, max_ts=BASE_TS + 100)])
        max_timestamp(c, v, name, "after the append")
        r = c.call("Fetch", 4, {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0,
                                "max_bytes": 1 << 20, "isolation_level": 0, "topics": [
                                    {"topic": name, "partitions": [
                                        {"partition": 0, "fetch_offset": 0,
                                         "partition_max_bytes": 1 << 20}]}]}, record=False)
        stored = r["responses"][0]["partitions"][0]["records"]
        c.note("stored attributes and max timestamp",
               {"attributes": stored[21:23].hex(), "max": stored[35:43].hex()})
    check(peers.run(scenario))


def test_max_timestamp_no_timestamps(peers):
    """Records without timestamps (-1): the largest timestamp is -1."""
    check(peers.run(scenario_of(peers, "none", [timed([None, None]), timed([None])])))


def test_max_timestamp_log_append_time(peers):
    """Every record of a LogAppendTime batch carries the append time: the
    batch's first offset answers."""
    name = peers.name("maxts-lat")
    v = version_of(peers)

    def scenario(c):
        c.create_topic(name, configs={"message.timestamp.type": "LogAppendTime"})
        c.produce(name, [timed([0, 30, 10])])
        time.sleep(APPEND_GAP_S)
        c.produce(name, [timed([0, 5, 1])])
        max_timestamp(c, v, name, "two batches", broker_time=True)
    check(peers.run(scenario))


def test_max_timestamp_below_log_start(peers):
    """DeleteRecords past the record with the largest timestamp, its segment
    kept: Kafka still answers that record, below the log start."""
    name = peers.name("maxts-deleted")
    v = version_of(peers)

    def scenario(c):
        c.create_topic(name)
        c.produce(name, [timed([0, 30, 10]), timed([5, 20])])
        r = c.call("DeleteRecords", 2, {"topics": [{"name": name, "partitions": [
            {"partition_index": 0, "offset": 4}]}], "timeout_ms": 30000}, record=False)
        assert r["topics"][0]["partitions"][0]["error_code"] == 0, f"{c.side}: {r}"
        max_timestamp(c, v, name, "log start 4")
    check(peers.run(scenario))


def settle(c, tid, topic):
    deadline = time.time() + SETTLE_WAIT_S
    call = lambda api, version, body: c.call(api, version, body, record=False)  # noqa: E731
    while time.time() < deadline:
        s = call("DescribeTransactions", 0, {"transactional_ids": [tid]})["transaction_states"][0]
        p = w.fetch(call, topic, 0, 0, w.READ_UNCOMMITTED)
        if s["transaction_state"] in ("CompleteCommit", "CompleteAbort") and \
                p["last_stable_offset"] == p["high_watermark"]:
            return
        time.sleep(w.RETRY_PAUSE_S)
    raise AssertionError(f"{c.side}: {tid} did not settle in {SETTLE_WAIT_S}s")


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "abort"])
def test_max_timestamp_transaction(peers, commit):
    """Records of a transaction, open and then ended: the marker's timestamp
    is the broker's clock, past every record's."""
    name, tid = peers.name(f"maxts-txn-{commit}"), peers.name(f"maxts-txn-{commit}-id")
    v = version_of(peers)

    def scenario(c):
        c.create_topic(name)
        c.produce(name, [timed([0, 30, 10])])
        call = lambda api, version, body: c.call(api, version, body, record=False)  # noqa: E731
        pid, epoch = w.init_txn(call, tid, TXN_TIMEOUT_MS)
        errs = w.add_partitions(call, tid, pid, epoch, {name: [0]})
        assert set(errs.values()) == {w.NONE}, f"{c.side}: AddPartitionsToTxn {errs}"
        b = timed([40, 45, 41], producer=(pid, epoch, 0), attributes=kafka_wire.TRANSACTIONAL)
        err, _ = w.produce(call, name, 0, b, tid)
        assert err == w.NONE, f"{c.side}: transactional produce: {err}"
        for isolation in (0, 1):
            max_timestamp(c, v, name, f"open, isolation {isolation}", isolation)
        c.call("EndTxn", 3, {"transactional_id": tid, "producer_id": pid,
                             "producer_epoch": epoch, "committed": commit}, record=False)
        settle(c, tid, name)
        for isolation in (0, 1):
            max_timestamp(c, v, name, f"ended, isolation {isolation}", isolation,
                          broker_time=True)
    check(peers.run(scenario))
