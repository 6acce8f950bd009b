"""The log cleaner's broker settings that Kafka lets change while the broker
runs (log.cleaner.threads, .io.max.bytes.per.second, .dedupe.buffer.size,
.backoff.ms): described as dynamic; thread counts refused with Kafka's code
and words (below 1, below half or above double the count in force, none of
that when the cleaner is disabled, and none above 0 threads at start); the
dedupe buffer's floor per thread; in force at once on a running broker (a
backoff lowered from Long.MAX_VALUE gets a compacted topic cleaned, a lower
I/O rate makes the cleaner sleep) and after a restart (the cleaners are made
with the recorded values)."""
import time

import confluent_kafka
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from test_configs import RESOURCE_BROKER, describe_wire, incremental

WAIT_S = 60
QUIET_S = 3
SET, DELETE = 0, 1
INVALID_REQUEST = 42
CLEANER_KEYS = ["log.cleaner.threads", "log.cleaner.io.max.bytes.per.second",
                "log.cleaner.dedupe.buffer.size", "log.cleaner.backoff.ms"]
LONG_MAX = str(2**63 - 1)
KEYS = 100
RECORDS = 20_000
# Reads and writes of a pass over RECORDS records take seconds at this rate.
SLOW_BYTES_PER_SECOND = "100000"
SETTINGS = {"num.io.threads": "1", "num.network.threads": "1",
            "log.cleaner.min.cleanable.ratio": "0.01"}
TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.bytes": "65536",
                "min.cleanable.dirty.ratio": "0.01"}


def kafka_refusal(words):
    """How Kafka words a ConfigException from a reconfigurable's check."""
    return (f"Invalid value org.apache.kafka.common.config.ConfigException: {words} "
            "for configuration Invalid dynamic configuration")


def alter(broker, name, ops, validate_only=False):
    r = incremental(broker, RESOURCE_BROKER, name, ops, validate_only)
    return r["error_code"], r["error_message"]


def set_threads(broker, n, validate_only=False):
    return alter(broker, "0", [("log.cleaner.threads", SET, str(n))], validate_only)


def described(broker, keys):
    return {e["name"]: e for e in describe_wire(broker, RESOURCE_BROKER, "0", keys)["configs"]}


def doubled(n):
    return (INVALID_REQUEST, kafka_refusal(
        f"Log cleaner threads cannot be increased to more than double the current value {n}"))


def test_threads_refused_in_kafkas_words(make_broker):
    b = make_broker(SETTINGS)
    entries = described(b, CLEANER_KEYS + ["log.cleaner.enable"])
    assert [entries[k]["read_only"] for k in CLEANER_KEYS] == [False] * 4
    assert entries["log.cleaner.enable"]["read_only"] is True
    assert set_threads(b, 0) == (INVALID_REQUEST,
                                 kafka_refusal("Log cleaner threads should be at least 1"))
    assert set_threads(b, 3) == doubled(1)
    assert set_threads(b, 2, validate_only=True) == (0, None)
    assert set_threads(b, 2) == (0, None)
    assert set_threads(b, 5) == doubled(2)
    assert set_threads(b, 4) == (0, None)
    assert set_threads(b, 1) == (INVALID_REQUEST, kafka_refusal(
        "Log cleaner threads cannot be reduced to less than half the current value 4"))
    assert alter(b, "0", [("log.cleaner.dedupe.buffer.size", SET, "4194304")]) == (
        INVALID_REQUEST,
        "requirement failed: log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner "
        "thread.")
    # The node's own count is in force: the cluster's default does not change it.
    assert alter(b, "", [("log.cleaner.threads", SET, "64")]) == (0, None)
    b.stop()
    b.start()
    entry = described(b, ["log.cleaner.threads"])["log.cleaner.threads"]
    assert (entry["value"], entry["config_source"]) == ("4", 2)
    assert set_threads(b, 9) == doubled(4)
    # Without the node's own count, the cluster's 64 would be sixteen times it.
    assert alter(b, "0", [("log.cleaner.threads", DELETE, None)]) == doubled(4)


@pytest.mark.parametrize("settings, accepted", [
    ({"log.cleaner.enable": "false"}, True),
    ({"log.cleaner.threads": "0"}, False)])
def test_threads_without_a_cleaner(make_broker, settings, accepted):
    """Disabled, Kafka has no cleaner to check a count against; started with
    0 threads (which Kafka cannot), 0 is the count in force and twice it too."""
    b = make_broker(dict(SETTINGS, **settings))
    assert set_threads(b, 8) == ((0, None) if accepted else doubled(0))


def create(broker, topic):
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    a.create_topics([NewTopic(topic, 1, 1, config=TOPIC_CONFIG)])[topic].result(30)


def produce(broker, topic, start=0):
    p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for i in range(start, start + RECORDS):
        while True:
            try:
                p.produce(topic, key=b"k%d" % (i % KEYS), value=b"v%d" % i, partition=0)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(WAIT_S) == 0


def wait_metric(broker, name, what):
    deadline = time.time() + WAIT_S
    while time.time() < deadline:
        if broker.metrics().get(name, 0) > 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: {name} stayed 0 for {WAIT_S}s\n{broker.log_tail()}")


def test_backoff_lowered_live(make_broker):
    """From Long.MAX_VALUE (no round, ever) to 50 ms: the waiting round is
    put off no longer, and the topic is cleaned."""
    b = make_broker(dict(SETTINGS, **{"log.cleaner.backoff.ms": LONG_MAX}))
    create(b, "backoff")
    produce(b, "backoff")
    time.sleep(QUIET_S)
    m = b.metrics()
    assert m.get("sluice_log_cleaner_runs_total", 0) == 0
    assert alter(b, "0", [("log.cleaner.backoff.ms", SET, "50")]) == (0, None)
    wait_metric(b, "sluice_log_cleaner_records_dropped_total", "backoff lowered to 50 ms")


def test_io_rate_lowered_live_and_kept(make_broker):
    """Unthrottled passes sleep for nothing; after the rate is lowered the
    next passes do, and again after a restart, whose cleaners are made with
    the recorded rate (the static one is no limit)."""
    b = make_broker(dict(SETTINGS, **{"log.cleaner.backoff.ms": "50"}))
    create(b, "rate")
    produce(b, "rate")
    wait_metric(b, "sluice_log_cleaner_runs_total", "unthrottled")
    assert b.metrics().get("sluice_log_cleaner_throttled_seconds_total", 0) == 0
    assert alter(b, "", [("log.cleaner.io.max.bytes.per.second", SET,
                                SLOW_BYTES_PER_SECOND)]) == (0, None)
    produce(b, "rate", RECORDS)
    wait_metric(b, "sluice_log_cleaner_throttled_seconds_total", "rate lowered")
    b.stop()
    b.start()
    entry = described(b, ["log.cleaner.io.max.bytes.per.second"])
    assert entry["log.cleaner.io.max.bytes.per.second"]["config_source"] == 3
    produce(b, "rate", 2 * RECORDS)
    wait_metric(b, "sluice_log_cleaner_throttled_seconds_total", "rate kept across a restart")
