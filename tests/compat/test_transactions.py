"""Transactions with real clients, each scenario against Apache Kafka (the
suite's peer, or one of our own) and against sluice: confluent-kafka
consume-transform-produce with send_offsets_to_transaction, committing and
aborting alternately; two producers sharing a transactional id (the older is
fenced); a transaction left open past its transaction.timeout.ms (aborted by
the coordinator): each with the current confluent-kafka from the virtualenv
and with Debian's 1.7 over librdkafka 2.0.2 (its transactional producer is
idempotent). kafkajs producer.transaction() commit and abort, and
sluice-perf's transactional mode.

The clients run as separate processes (tests/clients/python/transactions.py,
tests/clients/node/transactions.js); this file reads what landed with its own
consumers (Debian's confluent-kafka), read_committed and read_uncommitted,
and the group's committed offsets.

The timeout scenario waits for the coordinator's sweep of timed-out
transactions (transaction.abort.timed.out.transaction.cleanup.interval.ms):
lowered to SWEEP_MS on our own Kafka and on sluice; on the suite's shared
peer (scripts/test.sh) it is Kafka's default, 10 s, so the wait allows that."""
import json
import os
import subprocess
import time
import uuid

import pytest

import kafka_peer
from client_drivers import DRIVER_TIMEOUT_S, ROOT, VENV_PYTHON, drive, source

PY_DRIVER = source("python", "transactions.py")
JS_DRIVER = source("node", "transactions.js")
READ_WAIT_S = 30
# After the expected records, how long a reader goes on looking for more.
EXTRA_WAIT_S = 1
SWEEP_MS = 500
TXN_TIMEOUT_MS = 2000
# Kafka's default sweep interval (the shared peer's) plus the timeout, with room.
TIMEOUT_WAIT_S = 40
INPUT_RECORDS = 40
PER_ROUND = 10
SETTINGS = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": str(SWEEP_MS),
            "group.initial.rebalance.delay.ms": "0"}
# What librdkafka reports when its transactional id was taken over (it turns
# the broker's PRODUCER_FENCED / INVALID_PRODUCER_EPOCH into _FENCED).
FENCED = {"_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"}


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    with kafka_peer.kafka_node(str(tmp_path_factory.mktemp("kafka")), settings=SETTINGS) as b:
        yield b


@pytest.fixture(params=["kafka", "sluice"])
def bootstrap(request, make_broker):
    if request.param == "kafka":
        return request.getfixturevalue("kafka_bootstrap")
    return make_broker(SETTINGS).bootstrap


def unique(what):
    """Names unique to one test (the Kafka peer is shared by the session)."""
    return f"txn-{what}-{uuid.uuid4().hex[:8]}"


def create_topics(bootstrap, *names):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        f.result(30)


def produce_plain(bootstrap, topic, values):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "acks": "all"})
    for v in values:
        p.produce(topic, value=v.encode(), partition=0)
    assert p.flush(30) == 0


def read_values(bootstrap, topic, isolation, want):
    """The record values of topic/0 from the start as a consumer with that
    isolation level reads them: `want` of them (or fewer at the deadline),
    then whatever more comes in EXTRA_WAIT_S."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"),
                  "isolation.level": isolation, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got, deadline = [], time.time() + READ_WAIT_S
    try:
        while time.time() < deadline:
            if len(got) >= want:
                deadline = min(deadline, time.time() + EXTRA_WAIT_S)
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            got.append(m.value().decode())
    finally:
        c.close()
    return got


def committed_offset(bootstrap, group, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
    finally:
        c.close()


def python_of(client):
    return VENV_PYTHON if client == "confluent-kafka" else "/usr/bin/python3"


@pytest.mark.parametrize("client", ["confluent-kafka", "debian-confluent-kafka"])
def test_consume_transform_produce(bootstrap, client):
    """Rounds of PER_ROUND input records, transformed into the output topic
    with the input offsets sent to the transaction; even rounds commit, odd
    ones abort (and their input is read again by the next round). A
    read_committed reader sees every input once, from committing rounds only;
    a read_uncommitted one sees the aborted rounds' records too; the group's
    offset moves only at a commit, never while the offsets are pending."""
    source, dest, group = unique("src"), unique("dst"), unique("group")
    create_topics(bootstrap, source, dest)
    produce_plain(bootstrap, source, [str(i) for i in range(INPUT_RECORDS)])
    rounds = drive([python_of(client), PY_DRIVER, "ctp", bootstrap, source, dest, group,
                    unique("tid"), str(INPUT_RECORDS), str(PER_ROUND)])["rounds"]
    assert [r["commit"] for r in rounds] == [True] + [False, True] * (INPUT_RECORDS // PER_ROUND - 1)
    before = -1001  # librdkafka's "no committed offset"
    for r in rounds:
        assert r["pending_view"] == before, f"offsets visible before the end of the transaction: {r}"
        assert r["after"] == (r["end"] if r["commit"] else before), r
        before = r["after"]
    assert committed_offset(bootstrap, group, source) == INPUT_RECORDS
    committed_values = [f"{i}:r{r['round']}" for r in rounds if r["commit"]
                        for i in range(r["start"], r["end"])]
    all_values = [f"{i}:r{r['round']}" for r in rounds for i in range(r["start"], r["end"])]
    assert read_values(bootstrap, dest, "read_committed", len(committed_values)) == committed_values
    assert read_values(bootstrap, dest, "read_uncommitted", len(all_values)) == all_values


def test_kafkajs_commit_and_abort(bootstrap):
    """kafkajs producer.transaction(): records and group offsets sent in a
    committed transaction, then in an aborted one."""
    topic, group = unique("js"), unique("js-group")
    create_topics(bootstrap, topic)
    r = drive(["node", JS_DRIVER, bootstrap, topic, group, unique("js-tid")])
    committed, aborted = r["committed"], r["aborted"]
    assert read_values(bootstrap, topic, "read_committed", len(committed)) == committed
    assert read_values(bootstrap, topic, "read_uncommitted", len(committed + aborted)) == committed + aborted
    assert committed_offset(bootstrap, group, topic) == len(committed)


@pytest.mark.parametrize("client", ["confluent-kafka", "debian-confluent-kafka"])
def test_fencing(bootstrap, client):
    """A second producer with the same transactional id fences the first:
    the first's open transaction is aborted and its commit fails fatally;
    the second's transaction commits."""
    dest = unique("fence")
    create_topics(bootstrap, dest)
    r = drive([python_of(client), PY_DRIVER, "fence", bootstrap, dest, unique("fence-tid")])
    err = r["old_commit_error"]
    assert err and err["name"] in FENCED and err["fatal"], r
    assert read_values(bootstrap, dest, "read_committed", 1) == ["new-1"]
    uncommitted = read_values(bootstrap, dest, "read_uncommitted", 2)
    assert "old-1" in uncommitted and "new-1" in uncommitted, uncommitted


@pytest.mark.parametrize("client", ["confluent-kafka", "debian-confluent-kafka"])
def test_open_transaction_times_out(bootstrap, client):
    """A transaction left open past transaction.timeout.ms is aborted by the
    coordinator: the record written after it outside any transaction becomes
    visible to a read_committed reader (the last stable offset moves past the
    open transaction), the transaction's own record never does, and the
    producer, fenced by the abort's epoch bump, cannot commit."""
    dest = unique("timeout")
    create_topics(bootstrap, dest)
    r = drive([python_of(client), PY_DRIVER, "timeout", bootstrap, dest, unique("timeout-tid"),
               str(TXN_TIMEOUT_MS), str(TIMEOUT_WAIT_S)])
    assert r["seen"] == ["after"], r
    assert r["waited_s"] * 1000 >= TXN_TIMEOUT_MS / 2, f"visible before the timeout: {r}"
    assert r["commit_error"], f"the timed-out transaction committed: {r}"
    assert read_values(bootstrap, dest, "read_committed", 1) == ["after"]


PERF = os.environ.get("SLUICE_PERF_BIN", os.path.join(ROOT, "build", "perf", "sluice-perf"))
PERF_TXNS, PERF_TXN_RECORDS = 20, 10


def test_sluice_perf_transactional(bootstrap, tmp_path):
    """sluice-perf's transactional mode (what perf/transactions.sh runs):
    every record of its committed transactions readable by read_committed,
    one EndTxn latency per transaction."""
    topic, out = unique("perf"), tmp_path / "perf.json"
    p = subprocess.run([PERF, "produce", "--brokers", bootstrap, "--topic", topic, "--partitions", "1",
                        "--size", "100", "--acks", "all", "--count", str(PERF_TXNS * PERF_TXN_RECORDS),
                        "--transactional-id", unique("perf-tid"), "--txn-records", str(PERF_TXN_RECORDS),
                        "--json", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=DRIVER_TIMEOUT_S)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    r = json.loads(out.read_text())
    assert (r["messages"], r["requests"], r["errors"]) == (PERF_TXNS * PERF_TXN_RECORDS, PERF_TXNS, 0), r
    assert 0 < r["second_latency_us"]["p50"] <= r["latency_us"]["p99"], r
    # The unmeasured warm-up transaction is committed too.
    want = (PERF_TXNS + 1) * PERF_TXN_RECORDS
    assert len(read_values(bootstrap, topic, "read_committed", want)) == want


@pytest.mark.parametrize("flags,why", [
    (["consume", "--transactional-id", "t"], "--transactional-id: produce with the rdkafka engine"),
    (["produce", "--txn-records", "5"], "--txn-records: needs --transactional-id"),
    (["produce", "--transactional-id", "t", "--acks", "1"], "--transactional-id: needs --acks all"),
])
def test_sluice_perf_transactional_flags(flags, why):
    p = subprocess.run([PERF, flags[0], "--brokers", "127.0.0.1:1", "--topic", "t", "--count", "1",
                        *flags[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 2 and why in p.stderr.decode(), p.stderr.decode()
