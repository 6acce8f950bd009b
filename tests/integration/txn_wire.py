"""Transactions on the raw wire, for the tests that play them request by
request (tests/differential/test_transactions.py, test_txn_bad_input.py,
test_txn_crash.py): a connection that speaks any request the schemas describe
(tests/differential/kafka_codec.py, driven by proto/schema/*.ks), the steps
of a transaction as a client takes them (InitProducerId with a transactional
id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, Produce, EndTxn),
each retried while the broker says to retry (bounded), and a reader of the
batches a Fetch returns. Every step takes `call(api, version, body) -> dict`,
so the differential tests can pass their recording clients."""
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "differential"))
sys.path.insert(0, HERE)
import kafka_codec  # noqa: E402
import kafka_wire  # noqa: E402

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
# Answers that mean "ask again": the coordinator is loading or moving, or the
# transaction's previous end is still being written.
RETRIABLE = {COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
             CONCURRENT_TRANSACTIONS}
SETTLE_WAIT_S = 60
RETRY_PAUSE_S = 0.05
CALL_TIMEOUT_S = 30
READ_COMMITTED = 1
READ_UNCOMMITTED = 0
CONTROL_ABORT, CONTROL_COMMIT = 0, 1


class Conn(kafka_wire.Conn):
    """One connection; call() sends a request and returns the decoded answer."""

    def __init__(self, bootstrap, timeout=CALL_TIMEOUT_S):
        super().__init__(bootstrap, timeout)

    def call(self, api, version, body=None):
        a = kafka_codec.api(api)
        self.corr += 1
        self.sock.sendall(kafka_codec.encode_request(a.key, version, self.corr, body, "txn-test"))
        corr, resp = kafka_codec.decode_response(a.key, version, self.response())
        assert corr == self.corr, f"correlation id {corr}, expected {self.corr}"
        return resp


def settled(step):
    """step() -> (error code, result), repeated while the error is one of
    RETRIABLE (bounded): the last (error, result)."""
    deadline = time.time() + SETTLE_WAIT_S
    while True:
        err, result = step()
        if err not in RETRIABLE or time.time() > deadline:
            return err, result
        time.sleep(RETRY_PAUSE_S)


def find_coordinator(call, key, key_type=0, version=3):
    """FindCoordinator until it names a node (the first one for a group or a
    transactional id makes Kafka create __consumer_offsets or
    __transaction_state; until then it answers COORDINATOR_NOT_AVAILABLE)
    -> the error."""
    body = {"key": key, "key_type": key_type}
    return settled(lambda: (call("FindCoordinator", version, body)["error_code"], None))[0]


def init_producer(call, transactional_id, timeout_ms=60000, version=4, producer=(-1, -1)):
    """InitProducerId -> (error, producer id, epoch), after FindCoordinator
    for a transactional id as clients do (Kafka creates __transaction_state
    for the first one)."""
    if transactional_id is not None:
        find_coordinator(call, transactional_id, key_type=1)
    body = {"transactional_id": transactional_id, "transaction_timeout_ms": timeout_ms,
            "producer_id": producer[0], "producer_epoch": producer[1]}

    def step():
        r = call("InitProducerId", version, body)
        return r["error_code"], (r["producer_id"], r["producer_epoch"])
    err, (pid, epoch) = settled(step)
    return err, pid, epoch


def init_txn(call, transactional_id, timeout_ms=60000, version=4):
    """A transactional producer's id and epoch (asserting success)."""
    err, pid, epoch = init_producer(call, transactional_id, timeout_ms, version)
    assert err == NONE, f"InitProducerId {transactional_id}: error {err}"
    return pid, epoch


def add_partitions_body(version, transactional_id, pid, epoch, topics, verify_only=False):
    """AddPartitionsToTxn for {topic: [partitions]}, in the v0-3 (client) or
    v4+ (batched, one transaction here) shape."""
    listed = [{"name": t, "partitions": list(ps)} for t, ps in topics.items()]
    if version <= 3:
        return {"v3_and_below_transactional_id": transactional_id, "v3_and_below_producer_id": pid,
                "v3_and_below_producer_epoch": epoch, "v3_and_below_topics": listed}
    return {"transactions": [{"transactional_id": transactional_id, "producer_id": pid,
                              "producer_epoch": epoch, "verify_only": verify_only, "topics": listed}]}


def partition_errors(version, r):
    """{(topic, partition): error} of an AddPartitionsToTxn answer."""
    if version <= 3:
        topics = r["results_by_topic_v3_and_below"]
    else:
        topics = [t for txn in r["results_by_transaction"] for t in txn["topic_results"]]
    return {(t["name"], p["partition_index"]): p["partition_error_code"]
            for t in topics for p in t["results_by_partition"]}


def add_partitions(call, transactional_id, pid, epoch, topics, version=3):
    """AddPartitionsToTxn (v0-3) -> {(topic, partition): error}, retried while
    the whole answer is a retriable error."""
    body = add_partitions_body(version, transactional_id, pid, epoch, topics)

    def step():
        errs = partition_errors(version, call("AddPartitionsToTxn", version, body))
        return whole_error(errs), errs
    return settled(step)[1]


def whole_error(errs):
    """The error of every partition of {partition: error} when they share
    one, else NONE (what settled() retries on)."""
    codes = set(errs.values())
    return codes.pop() if len(codes) == 1 else NONE


def add_offsets(call, transactional_id, pid, epoch, group, version=3):
    body = {"transactional_id": transactional_id, "producer_id": pid, "producer_epoch": epoch,
            "group_id": group}
    return settled(lambda: (call("AddOffsetsToTxn", version, body)["error_code"], None))[0]


def txn_offset_commit(call, transactional_id, group, pid, epoch, topic, offsets, version=3):
    """TxnOffsetCommit of {partition: offset} -> {partition: error}."""
    body = {"transactional_id": transactional_id, "group_id": group, "producer_id": pid,
            "producer_epoch": epoch, "generation_id": -1, "member_id": "", "group_instance_id": None,
            "topics": [{"name": topic, "partitions": [
                {"partition_index": p, "committed_offset": o, "committed_metadata": ""}
                for p, o in offsets.items()]}]}

    def step():
        r = call("TxnOffsetCommit", version, body)
        errs = {p["partition_index"]: p["error_code"] for t in r["topics"] for p in t["partitions"]}
        return whole_error(errs), errs
    return settled(step)[1]


def end_txn(call, transactional_id, pid, epoch, commit, version=3):
    """EndTxn -> the whole answer (error_code; producer id and epoch from v5)."""
    body = {"transactional_id": transactional_id, "producer_id": pid, "producer_epoch": epoch,
            "committed": commit}

    def step():
        r = call("EndTxn", version, body)
        return r["error_code"], r
    return settled(step)[1]


def txn_batch(values, pid, epoch, seq, ts=None):
    """A transactional record batch v2 of the values (bytes or str)."""
    return kafka_wire.record_batch([v.encode() if isinstance(v, str) else v for v in values], ts=ts,
                                   producer=(pid, epoch, seq), attributes=kafka_wire.TRANSACTIONAL)


def produce_body(topic, partition, batch, transactional_id, acks=-1):
    return {"transactional_id": transactional_id, "acks": acks, "timeout_ms": 30000,
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": batch}]}]}


def produce(call, topic, partition, batch, transactional_id, version=9):
    """Produce one batch -> (error, base offset)."""
    r = call("Produce", version, produce_body(topic, partition, batch, transactional_id))
    p = r["responses"][0]["partition_responses"][0]
    return p["error_code"], p["base_offset"]


def fetch(call, topic, partition, offset, isolation, version=11, max_wait_ms=0):
    """Fetch one partition (v4-12 name topics) -> its PartitionData."""
    body = {"replica_id": -1, "max_wait_ms": max_wait_ms, "min_bytes": 0, "max_bytes": 1 << 20,
            "isolation_level": isolation, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": topic, "partitions": [
                {"partition": partition, "fetch_offset": offset, "log_start_offset": -1,
                 "partition_max_bytes": 1 << 20}]}],
            "forgotten_topics_data": [], "rack_id": ""}
    return call("Fetch", version, body)["responses"][0]["partitions"][0]


def list_offset(call, topic, partition, isolation, timestamp=-1, version=7):
    """ListOffsets for one partition -> (error, offset)."""
    r = call("ListOffsets", version, {"replica_id": -1, "isolation_level": isolation, "topics": [
        {"name": topic, "partitions": [{"partition_index": partition, "timestamp": timestamp}]}]})
    p = r["topics"][0]["partitions"][0]
    return p["error_code"], p["offset"]


def batches(records):
    """The batches of a Fetch's records blob, each as a dict: base offset,
    last offset, attributes (transactional, control), producer epoch, base
    sequence, and its values (a control batch: ("COMMIT"|"ABORT", coordinator
    epoch)). The producer id is left out: each broker hands out its own."""
    out, pos = [], 0
    records = records or b""
    while pos + 61 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        if pos + 12 + length > len(records):
            break
        b = records[pos:pos + 12 + length]
        attrs, last_delta = struct.unpack(">hi", b[21:27])
        epoch, seq = struct.unpack(">hi", b[51:57])
        entry = {"base_offset": base, "last_offset": base + last_delta,
                 "transactional": bool(attrs & kafka_wire.TRANSACTIONAL),
                 "control": bool(attrs & kafka_wire.CONTROL), "producer_epoch": epoch,
                 "base_sequence": seq}
        entry["values"] = control_record(b) if entry["control"] else \
            [v.decode(errors="replace") for v in kafka_wire.batch_values(b)]
        out.append(entry)
        pos += 12 + length
    return out


def control_record(batch):
    """(type, coordinator epoch) of a control batch's one record."""
    pos = 61
    _length, pos = kafka_wire.read_varint(batch, pos)
    pos += 1
    for _ in range(2):
        _, pos = kafka_wire.read_varint(batch, pos)
    key_len, pos = kafka_wire.read_varint(batch, pos)
    key = batch[pos:pos + key_len]
    pos += key_len
    value_len, pos = kafka_wire.read_varint(batch, pos)
    value = batch[pos:pos + value_len]
    kind = struct.unpack(">hh", key)[1] if len(key) == 4 else None
    coordinator_epoch = struct.unpack(">hi", value)[1] if len(value) >= 6 else None
    return [{CONTROL_ABORT: "ABORT", CONTROL_COMMIT: "COMMIT"}.get(kind, kind), coordinator_epoch]


def read_committed_values(call, topic, partition):
    """What a read_committed consumer sees of a partition from offset 0 up to
    its last stable offset: the values of committed transactions' and
    non-transactional batches, dropping the aborted ones (by the answer's
    aborted_transactions and each batch's producer id) and control batches."""
    values, offset = [], 0
    while True:
        p = fetch(call, topic, partition, offset, READ_COMMITTED)
        assert p["error_code"] == NONE, p
        raw = p["records"] or b""
        if not raw:
            return values, p["last_stable_offset"]
        aborted = sorted((a["first_offset"], a["producer_id"]) for a in p["aborted_transactions"] or [])
        open_aborts = {}
        pos, advanced = 0, False
        while pos + 61 <= len(raw):
            base, length = struct.unpack(">qi", raw[pos:pos + 12])
            if pos + 12 + length > len(raw):
                break
            b = raw[pos:pos + 12 + length]
            pos += 12 + length
            attrs, last_delta = struct.unpack(">hi", b[21:27])
            pid = struct.unpack(">q", b[43:51])[0]
            while aborted and aborted[0][0] <= base:
                open_aborts[aborted[0][1]] = True
                aborted.pop(0)
            if attrs & kafka_wire.CONTROL:
                if control_record(b)[0] == "ABORT":
                    open_aborts.pop(pid, None)
            elif not (attrs & kafka_wire.TRANSACTIONAL and pid in open_aborts):
                values += [v.decode(errors="replace") for v in kafka_wire.batch_values(b)]
            offset, advanced = base + last_delta + 1, True
        if not advanced:
            return values, p["last_stable_offset"]
