"""Differential scenarios for CreatePartitions: a growth and the Metadata
after it, validate_only, the same or a lower count, an unknown topic, a topic
named twice, too many added partitions, manual assignments (right, too few,
an unknown broker, a broker twice, an empty list) and timeout_ms 0."""
import pytest

from differ import Known, check
from peers import schema_versions

VERSIONS = schema_versions("CreatePartitions")
# A broker id no broker of either side has.
UNKNOWN_BROKER = 1000


def comparable(transcripts, nodes):
    """Each side's CreatePartitions results sorted by name (Kafka's
    controller answers grown topics before unknown ones, sluice in request
    order; clients match results by name), and its own node id in messages
    written <node> (node ids are each broker's own configuration)."""
    for side, transcript in transcripts.items():
        for _, api, value in transcript:
            if api != "CreatePartitions" or not isinstance(value, dict):
                continue
            value["results"].sort(key=lambda r: r["name"])
            for r in value["results"]:
                if r["error_message"] and side in nodes:
                    r["error_message"] = r["error_message"].replace(
                        f"broker {nodes[side]} ", "broker <node> ")
    return transcripts


def grow(c, v, topics, validate_only=False, timeout_ms=30000, label=None):
    return c.call("CreatePartitions", v, {"topics": topics, "timeout_ms": timeout_ms,
                                          "validate_only": validate_only}, label=label)


def wanted(name, count, assignments=None):
    return {"name": name, "count": count,
            "assignments": None if assignments is None else
            [{"broker_ids": ids} for ids in assignments]}


def node_of(c):
    """This broker's node id: manual assignments name it."""
    r = c.call("Metadata", 9, {"topics": [], "allow_auto_topic_creation": False}, record=False)
    return r["brokers"][0]["node_id"]


def metadata(c, name, label):
    c.call("Metadata", 9, {"topics": [{"name": name}], "allow_auto_topic_creation": False},
           label=label)


@pytest.mark.parametrize("v", VERSIONS)
def test_create_partitions(peers, v):
    peers.require("CreatePartitions", v)
    name = peers.name(f"cp-{v}")

    def scenario(c):
        c.create_topic(name, partitions=2)
        grow(c, v, [wanted(name, 4)])
        c.wait_leaders(name, 4)
        metadata(c, name, "grown to 4")
        grow(c, v, [wanted(name, 4)], label="same count")
        grow(c, v, [wanted(name, 3)], label="lower count")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", VERSIONS)
def test_create_partitions_validate_only(peers, v):
    peers.require("CreatePartitions", v)
    name = peers.name(f"cp-validate-{v}")

    def scenario(c):
        c.create_topic(name, partitions=1)
        grow(c, v, [wanted(name, 3)], validate_only=True)
        metadata(c, name, "still 1")
        grow(c, v, [wanted(name, 1)], validate_only=True, label="same count, validate_only")
    check(peers.run(scenario))


def test_create_partitions_unknown_and_duplicate(peers):
    v = max(peers.versions("CreatePartitions"))
    name = peers.name("cp-dup")

    def scenario(c):
        c.create_topic(name, partitions=1)
        grow(c, v, [wanted(peers.name("cp-missing"), 2)], label="unknown topic")
        grow(c, v, [wanted(name, 2), wanted(name, 3)], label="named twice")
        grow(c, v, [wanted(peers.name("cp-missing"), 2), wanted(name, 2)],
             label="one unknown, one grown")
        c.wait_leaders(name, 2)
    check(comparable(peers.run(scenario), {}))


def test_create_partitions_too_many_added(peers):
    v = max(peers.versions("CreatePartitions"))
    name = peers.name("cp-many")

    def scenario(c):
        c.create_topic(name, partitions=1)
        grow(c, v, [wanted(name, 10002)], validate_only=True, label="10001 more")
    check(peers.run(scenario))


ASSIGNMENTS = {
    "right": lambda node: [[node], [node]],
    "too-few": lambda node: [[node]],
    "unknown-broker": lambda node: [[node], [UNKNOWN_BROKER]],
    "broker-twice": lambda node: [[node, node], [node]],
    "empty": lambda node: [[], [node]],
}


@pytest.mark.parametrize("which", sorted(ASSIGNMENTS))
def test_create_partitions_assignments(peers, which):
    v = max(peers.versions("CreatePartitions"))
    name = peers.name(f"cp-assign-{which}")

    nodes = {}

    def scenario(c):
        c.create_topic(name, partitions=1)
        nodes[c.side] = node_of(c)
        grow(c, v, [wanted(name, 3, ASSIGNMENTS[which](nodes[c.side]))], validate_only=True)
    check(comparable(peers.run(scenario), nodes))


@pytest.mark.parametrize("timeout_ms", [0, -1])
def test_create_partitions_no_time(peers, timeout_ms):
    """A deadline already past is REQUEST_TIMED_OUT for every topic, known
    or not, and nothing grows, also under validate_only."""
    v = max(peers.versions("CreatePartitions"))
    name = peers.name(f"cp-timeout{timeout_ms}")

    def scenario(c):
        c.create_topic(name, partitions=1)
        grow(c, v, [wanted(name, 2), wanted(peers.name("cp-missing"), 2)], timeout_ms=timeout_ms)
        grow(c, v, [wanted(name, 1)], timeout_ms=timeout_ms, validate_only=True,
             label="same count, validate_only")
        metadata(c, name, "still 1")
    check(comparable(peers.run(scenario), {}))


def test_create_partitions_internal(peers):
    """Kafka would grow __consumer_offsets; sluice refuses (KD-50). Only
    validated, so that the peer's offsets topic keeps its partitions."""
    v = max(peers.versions("CreatePartitions"))

    def scenario(c):
        # the offsets topic exists once a group coordinator was asked for
        c.call("FindCoordinator", 3, {"key": peers.name("cp-internal"), "key_type": 0}, record=False)
        c.wait_leaders("__consumer_offsets", None)
        grow(c, v, [wanted("__consumer_offsets", 500)], validate_only=True)
    check(peers.run(scenario), Known("KD-50", "*:results[0].error_*"))
