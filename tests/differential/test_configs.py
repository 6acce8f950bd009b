"""Differential scenarios for DescribeConfigs, AlterConfigs and
IncrementalAlterConfigs: a topic's configs as created and as altered (values,
sources, synonyms, types), every version; unknown topics; bad values, keys,
operations and duplicates; broker resources that name no broker; broker
settings that may change while the broker runs and those that cannot; the
log cleaner's thread count checked against the one in force."""
import time

import pytest

from differ import Known, check
from peers import schema_versions

DESCRIBE_VERSIONS = schema_versions("DescribeConfigs")
ALTER_VERSIONS = schema_versions("AlterConfigs")
INCREMENTAL_VERSIONS = schema_versions("IncrementalAlterConfigs")
TOPIC, BROKER = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
# Keys whose values, sources and synonyms both brokers give alike (Kafka's
# min.insync.replicas is a cluster-wide dynamic default its formatter sets,
# and some of its defaults are keys sluice only stores).
KEYS = ["cleanup.policy", "compression.type", "max.message.bytes", "retention.ms",
        "retention.bytes", "segment.ms", "flush.messages", "message.timestamp.type",
        "delete.retention.ms", "min.compaction.lag.ms", "preallocate",
        "message.timestamp.after.max.ms", "remote.storage.enable"]


def describe(c, v, name, keys=KEYS, rtype=TOPIC, label=None):
    return c.call("DescribeConfigs", v, {
        "resources": [{"resource_type": rtype, "resource_name": name,
                       "configuration_keys": keys}],
        "include_synonyms": True, "include_documentation": True}, label=label)


def alter(c, v, name, settings, validate_only=False, rtype=TOPIC, label=None):
    return c.call("AlterConfigs", v, {
        "resources": [{"resource_type": rtype, "resource_name": name,
                       "configs": [{"name": k, "value": x} for k, x in settings.items()]}],
        "validate_only": validate_only}, label=label)


def incremental(c, v, name, ops, validate_only=False, rtype=TOPIC, label=None):
    return c.call("IncrementalAlterConfigs", v, {
        "resources": [{"resource_type": rtype, "resource_name": name,
                       "configs": [{"name": k, "config_operation": op, "value": x}
                                   for k, op, x in ops]}],
        "validate_only": validate_only}, label=label)


SETTLE_S = 15
SETTLE_PAUSE_S = 0.05


def settle(c, name, key, value):
    """Waits (unrecorded) until the topic describes key as value: Kafka's
    broker applies an alteration once its metadata log reaches it, a moment
    after answering; sluice before answering."""
    d = max(DESCRIBE_VERSIONS)
    deadline = time.time() + SETTLE_S
    while time.time() < deadline:
        r = c.call("DescribeConfigs", d, {
            "resources": [{"resource_type": TOPIC, "resource_name": name,
                           "configuration_keys": [key]}]}, record=False)
        configs = r["results"][0]["configs"]
        if configs and configs[0]["value"] == value:
            return
        time.sleep(SETTLE_PAUSE_S)
    raise AssertionError(f"{c.side}: {name} {key} never became {value}")


@pytest.mark.parametrize("v", DESCRIBE_VERSIONS)
def test_describe_topic(peers, v):
    peers.require("DescribeConfigs", v)
    name = peers.name(f"dc-{v}")

    def scenario(c):
        c.create_topic(name, configs={"retention.ms": "3600000", "cleanup.policy": "compact"})
        describe(c, v, name)
        describe(c, v, peers.name(f"dc-missing-{v}"), label="unknown topic")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", ALTER_VERSIONS)
def test_alter_configs(peers, v):
    peers.require("AlterConfigs", v)
    name = peers.name(f"ac-{v}")
    d = max(peers.versions("DescribeConfigs"))

    def scenario(c):
        c.create_topic(name, configs={"retention.ms": "3600000"})
        alter(c, v, name, {"segment.ms": "600000", "preallocate": "true"}, validate_only=True,
              label="validate only")
        describe(c, d, name, label="unchanged")
        alter(c, v, name, {"segment.ms": "600000", "preallocate": "true"})
        settle(c, name, "retention.ms", "604800000")
        describe(c, d, name, label="replaced: retention.ms is default again")
        alter(c, v, name, {"retention.ms": "abc"}, label="not a number")
        alter(c, v, name, {"retention.ms": None}, label="null")
        alter(c, v, name, {"no.such.key": "1"}, label="unknown key")
        alter(c, v, peers.name(f"ac-missing-{v}"), {"retention.ms": "1"}, label="unknown topic")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", INCREMENTAL_VERSIONS)
def test_incremental_alter_configs(peers, v):
    peers.require("IncrementalAlterConfigs", v)
    name = peers.name(f"iac-{v}")
    d = max(peers.versions("DescribeConfigs"))

    def scenario(c):
        c.create_topic(name)
        incremental(c, v, name, [("cleanup.policy", APPEND, "compact"),
                                 ("retention.bytes", SET, "1000000")])
        settle(c, name, "retention.bytes", "1000000")
        describe(c, d, name, label="appended and set")
        incremental(c, v, name, [("cleanup.policy", SUBTRACT, "delete"),
                                 ("retention.bytes", DELETE, None)])
        settle(c, name, "retention.bytes", "-1")
        describe(c, d, name, label="subtracted and deleted")
        incremental(c, v, name, [("cleanup.policy", SUBTRACT, "compact")], label="empty list")
        incremental(c, v, name, [("retention.ms", APPEND, "5")], label="append to a long")
        incremental(c, v, name, [("retention.ms", SET, "1"), ("retention.ms", DELETE, None)],
                    label="duplicate key")
        incremental(c, v, name, [("retention.ms", SET, None)], label="null")
        incremental(c, v, name, [("retention.ms", SET, "x")], label="not a number")
        incremental(c, v, name, [("no.such.key", SET, "1")], label="unknown key")
        incremental(c, v, name, [("no.such.key", DELETE, None)], label="delete unknown key")
        incremental(c, v, peers.name(f"iac-missing-{v}"), [("retention.ms", SET, "1")],
                    label="unknown topic")
    check(peers.run(scenario))


def test_broker_resources_naming_no_broker(peers):
    d = max(peers.versions("DescribeConfigs"))
    a = max(peers.versions("IncrementalAlterConfigs"))

    def scenario(c):
        describe(c, d, "x", keys=None, rtype=BROKER, label="describe: not a number")
        incremental(c, a, "x", [("log.dirs", SET, "/x")], rtype=BROKER, label="alter: not a number")
        alter(c, max(peers.versions("AlterConfigs")), "x", {"log.dirs": "/x"}, rtype=BROKER,
              label="replace: not a number")
        describe(c, d, "zz", keys=None, rtype=3, label="not a resource type")
    check(peers.run(scenario))


def test_broker_settings_altered(peers):
    """The cluster's defaults (resource ""), validated only: the session's
    brokers are shared by every scenario. (AlterConfigs on them is not
    compared: it would drop the cluster-wide min.insync.replicas Kafka's
    formatter sets, which Kafka refuses while ELR is on.)"""
    a = max(peers.versions("IncrementalAlterConfigs"))

    def scenario(c):
        incremental(c, a, "", [("log.dirs", SET, "/x")], rtype=BROKER, label="log.dirs")
        incremental(c, a, "", [("num.partitions", SET, "3")], rtype=BROKER,
                    label="num.partitions")
        incremental(c, a, "", [("log.retention.ms", SET, "1000"),
                               ("message.max.bytes", SET, "2000")], validate_only=True,
                    rtype=BROKER, label="dynamic keys")
        incremental(c, a, "", [("message.max.bytes", SET, "abc")], validate_only=True,
                    rtype=BROKER, label="not a number")
        incremental(c, a, "", [("no.such.setting", SET, "1")], validate_only=True,
                    rtype=BROKER, label="a key the broker does not have")
    check(peers.run(scenario))


def test_cleaner_settings_checked(peers):
    """The cleaner's settings on the cluster's defaults, validated only, with
    both brokers' cleaners at Kafka's 1 thread and 128 MiB of dedupe buffer."""
    a = max(peers.versions("IncrementalAlterConfigs"))

    def scenario(c):
        incremental(c, a, "", [("log.cleaner.threads", SET, "3")], validate_only=True,
                    rtype=BROKER, label="threads above double")
        incremental(c, a, "", [("log.cleaner.threads", SET, "2"),
                               ("log.cleaner.backoff.ms", SET, "100"),
                               ("log.cleaner.io.max.bytes.per.second", SET, "1048576")],
                    validate_only=True, rtype=BROKER, label="threads doubled, rate, backoff")
        incremental(c, a, "", [("log.cleaner.dedupe.buffer.size", SET, "1048576")],
                    validate_only=True, rtype=BROKER, label="dedupe buffer below 1MB a thread")
        incremental(c, a, "", [("log.cleaner.backoff.ms", SET, "abc")], validate_only=True,
                    rtype=BROKER, label="backoff not a number")
    check(peers.run(scenario))


def test_cleaner_threads_zero(peers):
    a = max(peers.versions("IncrementalAlterConfigs"))

    def scenario(c):
        incremental(c, a, "", [("log.cleaner.threads", SET, "0")], validate_only=True,
                    rtype=BROKER, label="no thread")
    check(peers.run(scenario), Known("KD-64", "no thread:responses[0].error_message"))
