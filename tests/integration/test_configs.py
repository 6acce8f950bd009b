"""Topic and broker configs through the admin clients (confluent-kafka's
AdminClient, kafka-python's KafkaAdminClient) and IncrementalAlterConfigs on
the raw wire (neither Debian client has it): DescribeConfigs' values, sources
and synonyms; AlterConfigs and IncrementalAlterConfigs (SET, DELETE, APPEND,
SUBTRACT) recorded across a restart and in force at once (max.message.bytes
on the next produce, segment.bytes and retention.ms on the log); bad values
and keys refused with INVALID_CONFIG naming the key; the broker's settings
described; those Kafka lets change while it runs changed (this node's and
the cluster's defaults), in force on every topic that inherits them and kept
across a restart, the others refused as Kafka refuses them."""
import glob
import os
import time

import pytest

import txn_wire
from conftest import KAFKA_PYTHON_PROBE

confluent = pytest.importorskip("confluent_kafka")
kafka = pytest.importorskip("kafka")
from confluent_kafka import KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402
from kafka.admin import ConfigResource as KpResource  # noqa: E402
from kafka.admin import ConfigResourceType, KafkaAdminClient  # noqa: E402

WAIT_S = 30
SOURCE_TOPIC, SOURCE_STATIC, SOURCE_DEFAULT = 1, 4, 5
INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_TOPIC = 40, 42, 3
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
RESOURCE_TOPIC, RESOURCE_BROKER, RESOURCE_BROKER_LOGGER = 2, 4, 8
# Kafka's topic keys that sluice accepts, stores and describes though it does
# not act on them yet (issue 16, item 6).
# Kafka 4 still takes these but describes them only when a topic sets them.
SET_ONLY = {"message.timestamp.difference.max.ms", "message.downconversion.enable",
            "message.format.version"}
STORED_ONLY = {"message.timestamp.difference.max.ms": "1000", "preallocate": "true",
               "message.downconversion.enable": "false", "message.format.version": "3.0",
               "leader.replication.throttled.replicas": "*",
               "follower.replication.throttled.replicas": "0:0",
               "local.retention.ms": "1000", "remote.storage.enable": "false"}


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create(broker, topic, partitions=1, config=None):
    a = admin(broker)
    a.create_topics([NewTopic(topic, partitions, 1, config=config or {})])[topic].result(WAIT_S)


def describe_resource(broker, r):
    a = admin(broker)
    return a.describe_configs([r])[r].result(WAIT_S)


def alter_resource(broker, r):
    a = admin(broker)
    return a.alter_configs([r])[r].result(WAIT_S)


def describe(broker, topic):
    return describe_resource(broker, ConfigResource("topic", topic))


def alter(broker, topic, settings):
    return alter_resource(broker, ConfigResource("topic", topic, set_config=settings))


def incremental(broker, resource_type, name, ops, validate_only=False):
    c = txn_wire.Conn(broker.bootstrap)
    try:
        resp = c.call("IncrementalAlterConfigs", 1, {
            "resources": [{"resource_type": resource_type, "resource_name": name,
                           "configs": [{"name": k, "config_operation": op, "value": v}
                                       for k, op, v in ops]}],
            "validate_only": validate_only})
    finally:
        c.close()
    return resp["responses"][0]


def describe_wire(broker, resource_type, name, keys=None, version=4):
    c = txn_wire.Conn(broker.bootstrap)
    try:
        resp = c.call("DescribeConfigs", version, {
            "resources": [{"resource_type": resource_type, "resource_name": name,
                           "configuration_keys": keys}],
            "include_synonyms": True, "include_documentation": True})
    finally:
        c.close()
    return resp["results"][0]


def test_describe_topic_defaults_and_static_broker(make_broker):
    b = make_broker({"log.retention.hours": "100"})
    create(b, "dt", config={"segment.bytes": "1048576"})
    d = describe(b, "dt")
    assert d["segment.bytes"].value == "1048576"
    assert d["segment.bytes"].source == SOURCE_TOPIC
    assert d["retention.ms"].value == str(100 * 3600 * 1000)
    assert d["retention.ms"].source == SOURCE_STATIC
    assert d["max.message.bytes"].value == "1048588"
    assert d["max.message.bytes"].source == SOURCE_DEFAULT
    assert d["cleanup.policy"].value == "delete"
    for key in STORED_ONLY:
        assert (key in d) == (key not in SET_ONLY), key
    wire = describe_wire(b, RESOURCE_TOPIC, "dt", ["retention.ms", "segment.bytes"])
    assert wire["error_code"] == 0
    by_name = {c["name"]: c for c in wire["configs"]}
    assert set(by_name) == {"retention.ms", "segment.bytes"}
    ret = by_name["retention.ms"]
    assert ret["config_type"] == 5 and ret["documentation"]
    # As Kafka: a chain of keys (log.retention.ms, .minutes, .hours) lists no default.
    assert [(s["name"], s["value"], s["source"]) for s in ret["synonyms"]] == [
        ("log.retention.hours", "100", SOURCE_STATIC)]
    seg = by_name["segment.bytes"]
    assert [(s["name"], s["source"]) for s in seg["synonyms"]] == [
        ("segment.bytes", SOURCE_TOPIC), ("log.segment.bytes", SOURCE_DEFAULT)]


def test_create_topics_takes_every_kafka_key(broker):
    """Issue 16, item 6: the keys Kafka's CreateTopics takes that sluice does
    not act on yet are stored, described, and named in a warning."""
    create(broker, "all-keys", config=STORED_ONLY)
    d = describe(broker, "all-keys")
    for key, value in STORED_ONLY.items():
        assert d[key].value == value and d[key].source == SOURCE_TOPIC, key
    log = broker.log_text()
    for key in STORED_ONLY:
        assert key in log, key


def test_describe_unknown_topic_and_resources(broker):
    r = ConfigResource("topic", "no-such-topic")
    with pytest.raises(KafkaException) as e:
        describe_resource(broker, r)
    assert e.value.args[0].code() == UNKNOWN_TOPIC
    assert describe_wire(broker, RESOURCE_BROKER, "7")["error_code"] == INVALID_REQUEST
    assert describe_wire(broker, RESOURCE_BROKER, "x")["error_code"] == INVALID_REQUEST
    assert describe_wire(broker, RESOURCE_BROKER_LOGGER, "0")["error_code"] == INVALID_REQUEST
    empty = describe_wire(broker, RESOURCE_BROKER, "")
    assert empty["error_code"] == 0 and empty["configs"] == []


def test_describe_broker(make_broker):
    b = make_broker({"num.partitions": "3"})
    r = ConfigResource("broker", "0")
    d = describe_resource(b, r)
    assert d["num.partitions"].value == "3" and d["num.partitions"].source == SOURCE_STATIC
    assert d["message.max.bytes"].value == "1048588"
    assert d["message.max.bytes"].source == SOURCE_DEFAULT
    kp = KafkaAdminClient(bootstrap_servers=b.bootstrap, **KAFKA_PYTHON_PROBE)
    try:
        resp = kp.describe_configs([KpResource(ConfigResourceType.BROKER, "0")])
    finally:
        kp.close()
    entries = {e[0]: e[1] for e in resp[0].resources[0][4]}
    assert entries["num.partitions"] == "3"


def test_alter_persists_across_restart(make_broker):
    b = make_broker()
    create(b, "persist", partitions=2)
    alter(b, "persist", {"retention.ms": "3600000", "cleanup.policy": "compact,delete",
                         **STORED_ONLY})
    d = describe(b, "persist")
    assert d["retention.ms"].value == "3600000" and d["retention.ms"].source == SOURCE_TOPIC
    assert d["cleanup.policy"].value == "compact,delete"
    assert "stored and described, not acted on yet" in b.log_text()
    b.stop()
    b.start()
    d = describe(b, "persist")
    assert d["retention.ms"].value == "3600000"
    assert d["cleanup.policy"].value == "compact,delete"
    for key, value in STORED_ONLY.items():
        assert d[key].value == value and d[key].source == SOURCE_TOPIC, key
    # AlterConfigs replaces the whole set: what it leaves out is default again.
    alter(b, "persist", {"segment.ms": "600000"})
    b.stop()
    b.start()
    d = describe(b, "persist")
    assert d["segment.ms"].value == "600000"
    assert d["retention.ms"].source == SOURCE_DEFAULT
    assert d["cleanup.policy"].value == "delete"


def test_incremental_operations(broker):
    create(broker, "inc")
    assert incremental(broker, RESOURCE_TOPIC, "inc", [("cleanup.policy", APPEND, "compact"),
                                                       ("retention.bytes", SET, "1000000")]
                       )["error_code"] == 0
    d = describe(broker, "inc")
    assert d["cleanup.policy"].value == "delete,compact"
    assert d["retention.bytes"].value == "1000000"
    assert incremental(broker, RESOURCE_TOPIC, "inc", [("cleanup.policy", SUBTRACT, "delete"),
                                                       ("retention.bytes", DELETE, None)]
                       )["error_code"] == 0
    d = describe(broker, "inc")
    assert d["cleanup.policy"].value == "compact"
    assert d["retention.bytes"].value == "-1" and d["retention.bytes"].source == SOURCE_DEFAULT
    r = incremental(broker, RESOURCE_TOPIC, "inc", [("retention.ms", APPEND, "5")])
    assert r["error_code"] == INVALID_CONFIG and "retention.ms" in r["error_message"]
    r = incremental(broker, RESOURCE_TOPIC, "inc", [("retention.ms", SET, "1"),
                                                    ("retention.ms", SET, "2")])
    assert r["error_code"] == INVALID_REQUEST
    r = incremental(broker, RESOURCE_TOPIC, "inc", [("segment.ms", SET, "5000")],
                    validate_only=True)
    assert r["error_code"] == 0
    assert describe(broker, "inc")["segment.ms"].source == SOURCE_DEFAULT
    r = incremental(broker, RESOURCE_TOPIC, "missing", [("segment.ms", SET, "5000")])
    assert r["error_code"] == UNKNOWN_TOPIC


@pytest.mark.parametrize("key,value", [("retention.ms", "abc"), ("segment.bytes", "3"),
                                       ("cleanup.policy", "sometimes"),
                                       ("no.such.key", "1")])
def test_bad_values_name_the_key(broker, key, value):
    create(broker, "bad")
    r = ConfigResource("topic", "bad", set_config={key: value})
    with pytest.raises(KafkaException) as e:
        alter_resource(broker, r)
    err = e.value.args[0]
    assert err.code() == INVALID_CONFIG and key in err.str()
    assert describe(broker, "bad")["retention.ms"].source == SOURCE_DEFAULT


def test_static_broker_settings_cannot_change(broker):
    r = ConfigResource("broker", "0", set_config={"log.dirs": "/elsewhere"})
    with pytest.raises(KafkaException) as e:
        alter_resource(broker, r)
    assert e.value.args[0].code() == INVALID_REQUEST
    assert e.value.args[0].str() == "Cannot update these configs dynamically: [log.dirs]"
    r = incremental(broker, RESOURCE_BROKER, "0", [("message.max.bytes", SET, "abc")])
    assert r["error_code"] == INVALID_REQUEST and "message.max.bytes" in r["error_message"]
    r = incremental(broker, RESOURCE_BROKER, "1", [("message.max.bytes", SET, "1000")])
    assert r["error_code"] == INVALID_REQUEST


def broker_entry(broker, name, key):
    return {c["name"]: c for c in describe_wire(broker, RESOURCE_BROKER, name)["configs"]}.get(key)


def test_dynamic_broker_configs_live_and_kept(make_broker):
    """log.retention.ms set on the cluster's defaults and then on this node:
    every topic without its own retention.ms takes it at once (a topic that
    sets one keeps it), DescribeConfigs names where it comes from, and it
    survives a restart; DELETE returns to the static value."""
    b = make_broker()
    create(b, "inherits")
    create(b, "overrides", config={"retention.ms": "5000"})
    assert incremental(b, RESOURCE_BROKER, "", [("log.retention.ms", SET, "7200000")]
                       )["error_code"] == 0
    d = describe(b, "inherits")
    assert d["retention.ms"].value == "7200000"
    assert d["retention.ms"].source == 3  # DYNAMIC_DEFAULT_BROKER_CONFIG
    assert describe(b, "overrides")["retention.ms"].value == "5000"
    cluster = describe_wire(b, RESOURCE_BROKER, "")["configs"]
    assert [(c["name"], c["value"], c["config_source"]) for c in cluster] == [
        ("log.retention.ms", "7200000", 3)]
    r = ConfigResource("broker", "0", set_config={"log.retention.ms": "3600000",
                                                 "message.max.bytes": "200000"})
    alter_resource(b, r)
    entry = broker_entry(b, "0", "log.retention.ms")
    assert entry["value"] == "3600000" and entry["config_source"] == 2
    assert entry["read_only"] is False
    assert [s["source"] for s in entry["synonyms"]][:2] == [2, 3]
    assert broker_entry(b, "0", "log.dirs")["read_only"] is True
    assert describe(b, "inherits")["retention.ms"].value == "3600000"
    assert describe(b, "inherits")["max.message.bytes"].value == "200000"
    err = produce_one(b, "inherits", 300_000)
    assert err is not None and err.name() == "MSG_SIZE_TOO_LARGE"
    b.stop()
    b.start()
    assert describe(b, "inherits")["retention.ms"].value == "3600000"
    assert describe(b, "inherits")["retention.ms"].source == 2  # DYNAMIC_BROKER_CONFIG
    assert produce_one(b, "inherits", 300_000).name() == "MSG_SIZE_TOO_LARGE"
    assert incremental(b, RESOURCE_BROKER, "0", [("log.retention.ms", DELETE, None),
                                                 ("message.max.bytes", DELETE, None)]
                       )["error_code"] == 0
    assert describe(b, "inherits")["retention.ms"].value == "7200000"
    assert produce_one(b, "inherits", 300_000) is None


def produce_one(broker, topic, size):
    p = Producer({"bootstrap.servers": broker.bootstrap, "message.max.bytes": 4 << 20,
                  "linger.ms": 0})
    results = []
    p.produce(topic, b"x" * size, on_delivery=lambda err, msg: results.append(err))
    p.flush(WAIT_S)
    assert len(results) == 1
    return results[0]


def test_max_message_bytes_in_force_at_once(make_broker):
    b = make_broker({"num.io.threads": "2", "num.network.threads": "2"})
    create(b, "mmb", partitions=2)
    assert produce_one(b, "mmb", 200_000) is None
    alter(b, "mmb", {"max.message.bytes": "100000"})
    err = produce_one(b, "mmb", 200_000)
    assert err is not None and err.name() == "MSG_SIZE_TOO_LARGE"
    alter(b, "mmb", {"max.message.bytes": "2000000"})
    assert produce_one(b, "mmb", 1_500_000) is None


def segments(broker, topic):
    return sorted(glob.glob(os.path.join(broker.data_dir, f"{topic}-0", "*.log")))


def wait_for(cond, what):
    deadline = time.time() + WAIT_S
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_segment_bytes_and_retention_in_force_at_once(make_broker):
    b = make_broker({"log.retention.check.interval.ms": "200"})
    create(b, "seg")
    for _ in range(5):
        assert produce_one(b, "seg", 20_000) is None
    assert len(segments(b, "seg")) == 1
    alter(b, "seg", {"segment.bytes": "30000"})
    for _ in range(4):
        assert produce_one(b, "seg", 20_000) is None
    assert len(segments(b, "seg")) >= 3
    alter(b, "seg", {"segment.bytes": "30000", "retention.ms": "1",
                     "file.delete.delay.ms": "0"})
    wait_for(lambda: len(segments(b, "seg")) == 1, "old segments to go under retention.ms=1")
