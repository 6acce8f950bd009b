"""Differential scenarios for CreateTopics and DeleteTopics: creation with and
without defaults, validate_only, existing topics, bad names, partition
counts, replication factors and configs, deletion of known and unknown
topics."""
import os

import pytest

from differ import Known, check
from peers import schema_versions

CREATE_VERSIONS = schema_versions("CreateTopics")
# v5+ results describe the topic's configs, as both list them alike but for
# min.insync.replicas' source (KD-03).
CONFIGS = Known("KD-03", "*:topics[*].configs[*].config_source")


def configs_known(v):
    return CONFIGS if v >= 5 else None

DELETE_VERSIONS = schema_versions("DeleteTopics")


def creatable(name, partitions=1, rf=1, configs=None):
    return {"name": name, "num_partitions": partitions, "replication_factor": rf,
            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}


def create(c, v, topics, validate_only=False, label=None):
    return c.call("CreateTopics", v, {"topics": topics, "timeout_ms": 30000,
                                      "validate_only": validate_only}, label=label)


@pytest.mark.parametrize("v", CREATE_VERSIONS)
def test_create_topics(peers, v):
    peers.require("CreateTopics", v)
    name = peers.name(f"ct-{v}")

    def scenario(c):
        create(c, v, [creatable(name, partitions=3)])
        c.wait_leaders(name, 3)
        create(c, v, [creatable(name, partitions=3)], label="again: TOPIC_ALREADY_EXISTS")
    check(peers.run(scenario), configs_known(v))


@pytest.mark.parametrize("v", [v for v in CREATE_VERSIONS if v >= 4])
def test_create_topics_broker_defaults(peers, v):
    """num_partitions and replication_factor -1 take the broker's defaults (v4+)."""
    peers.require("CreateTopics", v)
    name = peers.name(f"ct-defaults-{v}")
    check(peers.run(lambda c: create(c, v, [creatable(name, partitions=-1, rf=-1)])),
          configs_known(v))


@pytest.mark.parametrize("v", CREATE_VERSIONS)
def test_create_topics_validate_only(peers, v):
    peers.require("CreateTopics", v)
    name = peers.name(f"ct-validate-{v}")

    def scenario(c):
        create(c, v, [creatable(name, partitions=2)], validate_only=True)
        c.call("Metadata", 9, {"topics": [{"name": name}], "allow_auto_topic_creation": False},
               label="not created")
    check(peers.run(scenario), configs_known(v))


BAD_NAMES = {"space": "bad name!", "long": "a" * 250, "dot": ".", "dotdot": "..", "empty": ""}


@pytest.mark.parametrize("which", sorted(BAD_NAMES))
def test_create_topics_invalid_name(peers, which):
    v = max(peers.versions("CreateTopics"))
    check(peers.run(lambda c: create(c, v, [creatable(BAD_NAMES[which])])))


@pytest.mark.parametrize("partitions,rf", [(0, 1), (-2, 1), (1, 0), (1, 2), (1, -2)])
def test_create_topics_bad_counts(peers, partitions, rf):
    v = max(peers.versions("CreateTopics"))
    name = peers.name(f"ct-counts-{partitions}-{rf}")
    check(peers.run(lambda c: create(c, v, [creatable(name, partitions, rf)])))


BAD_CONFIGS = {
    "unknown-key": {"no.such.config": "1"},
    "bad-enum": {"cleanup.policy": "bogus"},
    "not-a-number": {"retention.ms": "abc"},
    "out-of-range": {"min.insync.replicas": "0"},
    "null-value": {"retention.ms": None},
}


@pytest.mark.parametrize("which", sorted(BAD_CONFIGS))
def test_create_topics_bad_config(peers, which):
    v = max(peers.versions("CreateTopics"))
    name = peers.name(f"ct-config-{which}")
    check(peers.run(lambda c: create(c, v, [creatable(name, configs=BAD_CONFIGS[which])])))


def test_create_topics_good_config(peers):
    v = max(peers.versions("CreateTopics"))
    name = peers.name("ct-config-good")
    configs = {"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "2000"}
    check(peers.run(lambda c: create(c, v, [creatable(name, configs=configs)])), CONFIGS)


def test_create_topics_duplicate_in_request(peers):
    v = max(peers.versions("CreateTopics"))
    name = peers.name("ct-dup")
    check(peers.run(lambda c: create(c, v, [creatable(name), creatable(name)])))


def delete_body(names):
    return {"topic_names": names, "topics": [{"name": n} for n in names], "timeout_ms": 30000}


@pytest.mark.parametrize("v", DELETE_VERSIONS)
def test_delete_topics(peers, v):
    peers.require("DeleteTopics", v)
    name = peers.name(f"dt-{v}")

    def scenario(c):
        c.create_topic(name, partitions=2)
        c.call("DeleteTopics", v, delete_body([name]))
    check(peers.run(scenario))


@pytest.mark.parametrize("v", DELETE_VERSIONS)
def test_delete_topics_unknown(peers, v):
    peers.require("DeleteTopics", v)
    name = peers.name(f"dt-unknown-{v}")
    check(peers.run(lambda c: c.call("DeleteTopics", v, delete_body([name]))))


@pytest.mark.parametrize("v", [v for v in DELETE_VERSIONS if v >= 6])
def test_delete_topics_unknown_id(peers, v):
    peers.require("DeleteTopics", v)
    body = {"topics": [{"name": None, "topic_id": os.urandom(16)}], "timeout_ms": 30000}
    check(peers.run(lambda c: c.call("DeleteTopics", v, body)))


@pytest.mark.skipif(bool(os.environ.get("SLUICE_KAFKA_BOOTSTRAP")),
                    reason="deletes the offsets topic: only on a Kafka of this session's own")
def test_delete_topics_internal(peers):
    """Kafka deletes __consumer_offsets when asked; sluice refuses (KD-05)."""
    v = max(peers.versions("DeleteTopics"))

    def scenario(c):
        # the offsets topic exists once a group coordinator was asked for
        c.call("FindCoordinator", 3, {"key": peers.name("dt-internal"), "key_type": 0}, record=False)
        c.wait_leaders("__consumer_offsets", None)
        c.call("DeleteTopics", v, delete_body(["__consumer_offsets"]))
    check(peers.run(scenario), Known("KD-05", "*:responses[0].error_*", "*:responses[0].topic_id"))
