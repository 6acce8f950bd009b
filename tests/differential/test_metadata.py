"""Differential scenarios for Metadata: a topic that exists, all topics,
unknown topics with and without auto-creation, invalid names, topic ids."""
import os

import pytest

from differ import check
from peers import schema_versions

VERSIONS = schema_versions("Metadata")


def topics_body(names, allow_auto=False):
    return {"topics": [{"name": n} for n in names], "allow_auto_topic_creation": allow_auto}


@pytest.mark.parametrize("v", VERSIONS)
def test_metadata_existing_topic(peers, v):
    peers.require("Metadata", v)
    name = peers.name(f"md-exist-{v}")

    def scenario(c):
        c.create_topic(name, partitions=3)
        c.call("Metadata", v, topics_body([name]))
    check(peers.run(scenario))


@pytest.mark.parametrize("v", VERSIONS)
def test_metadata_all_topics(peers, v):
    """All topics (null list from v1, empty list at v0), cut down to this
    scenario's topic: the brokers hold different topics besides it."""
    peers.require("Metadata", v)
    name = peers.name(f"md-all-{v}")

    def scenario(c):
        c.create_topic(name, partitions=2)
        r = c.call("Metadata", v, {"topics": None if v >= 1 else [],
                                   "allow_auto_topic_creation": False}, record=False)
        r["topics"] = [t for t in r["topics"] if t["name"] == name]
        c.note(f"Metadata v{v} all topics", r, "Metadata")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", [v for v in VERSIONS if v >= 4])
def test_metadata_unknown_topic_no_auto_create(peers, v):
    peers.require("Metadata", v)
    name = peers.name(f"md-unknown-{v}")
    check(peers.run(lambda c: c.call("Metadata", v, topics_body([name]))))


@pytest.mark.parametrize("v", VERSIONS)
def test_metadata_auto_create(peers, v):
    """auto.create.topics.enable is on (Kafka's default): an unknown topic is
    created (before v4 every request allows it), and served once it has a
    leader."""
    peers.require("Metadata", v)
    name = peers.name(f"md-auto-{v}")

    def scenario(c):
        c.call("Metadata", v, topics_body([name], allow_auto=True), label="first", record=False)
        c.wait_leaders(name, 1)
        c.call("Metadata", v, topics_body([name], allow_auto=True), label="created")
    check(peers.run(scenario))


@pytest.mark.parametrize("bad", ["bad name!", "a" * 250, ".", "..", "tab\tname"])
def test_metadata_invalid_topic_name(peers, bad):
    v = max(peers.versions("Metadata"))

    def scenario(c):
        c.call("Metadata", v, topics_body([bad], allow_auto=True), label="allow auto")
        c.call("Metadata", v, topics_body([bad], allow_auto=False), label="no auto")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", [v for v in VERSIONS if v >= 10])
def test_metadata_unknown_topic_id(peers, v):
    peers.require("Metadata", v)
    body = {"topics": [{"topic_id": os.urandom(16), "name": None}],
            "allow_auto_topic_creation": False}
    check(peers.run(lambda c: c.call("Metadata", v, body)))
