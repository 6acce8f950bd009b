"""sluice-admin scenarios on the admin APIs that any Kafka serves
(CreatePartitions, DescribeConfigs/AlterConfigs, DescribeLogDirs), each a
function of a bootstrap address so that the same checks run against sluice
(test_sluice_admin_configs.py) and against Apache Kafka
(tests/compat/test_sluice_admin_kafka.py)."""
import time

from sluice_admin_run import admin, produce

# Kafka's metadata follows a topic change within a moment; bounded.
SETTLE_TIMEOUT_S = 15


def settled(check):
    """Calls check() until it returns a true value, within SETTLE_TIMEOUT_S."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def partition_count(bs, topic):
    (t,) = admin(bs, "topics", "describe", "--topic", topic, "--json").json()["topics"]
    return t["partition_count"]


def check_add_partitions(bs, topic):
    admin(bs, "topics", "create", "--topic", topic, "--partitions", "2")
    assert settled(lambda: partition_count(bs, topic) == 2)
    r = admin(bs, "topics", "add-partitions", "--topic", topic, "--partitions", "4")
    assert r.out == f"added partitions to topic {topic}\n"
    assert settled(lambda: partition_count(bs, topic) == 4)
    checked = admin(bs, "topics", "add-partitions", "--topic", topic, "--partitions", "6",
                    "--validate-only", "--json").json()
    assert checked == {"topics": [{"name": topic, "error": None}]}
    assert partition_count(bs, topic) == 4
    lower = admin(bs, "topics", "add-partitions", "--topic", topic, "--partitions", "3", expect=1)
    assert topic in lower.err and "INVALID_PARTITIONS" in lower.err
    absent = admin(bs, "topics", "add-partitions", "--topic", topic + "-absent", "--partitions",
                   "2", expect=1)
    assert "UNKNOWN_TOPIC_OR_PART" in absent.err


def configs(bs, entity_type, name, *extra):
    got = admin(bs, "configs", "describe", "--entity-type", entity_type, "--entity-name", name,
                "--json", *extra).json()
    assert got["entity_type"] == entity_type and got["entity_name"] == name
    return {c["name"]: c for c in got["configs"]}


def has_value(listed, key, value):
    """listed (configs()) when key's value is value (None: key not listed), else None."""
    entry = listed.get(key)
    return listed if (entry["value"] if entry else None) == value else None


def check_topic_configs(bs, topic):
    admin(bs, "topics", "create", "--topic", topic, "--partitions", "1")
    t = ["--entity-type", "topics", "--entity-name", topic]
    r = admin(bs, "configs", "set", *t, "--add-config", "retention.ms=3600000,max.message.bytes=65536")
    assert r.out == f"updated configs of topics {topic}\n"
    now = settled(lambda: has_value(configs(bs, "topics", topic), "retention.ms", "3600000"))
    assert now, configs(bs, "topics", topic)
    assert now["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert now["max.message.bytes"]["value"] == "65536"
    assert not now["retention.ms"]["read_only"] and not now["retention.ms"]["sensitive"]
    # A second set keeps the first one's keys.
    admin(bs, "configs", "set", *t, "--add-config", "cleanup.policy=[compact,delete]")
    now = settled(lambda: has_value(configs(bs, "topics", topic), "cleanup.policy",
                                    "compact,delete"))
    assert now, configs(bs, "topics", topic)
    assert now["retention.ms"]["value"] == "3600000"
    human = admin(bs, "configs", "describe", *t).out.splitlines()
    assert human[0].split() == ["NAME", "VALUE", "SOURCE", "READ-ONLY"]
    assert ["retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG", "no"] in [l.split() for l in human]

    unset = admin(bs, "configs", "unset", *t, "--delete-config", "retention.ms", "--json").json()
    assert unset == {"entity_type": "topics", "entity_name": topic, "updated": True}
    now = settled(lambda: has_value(configs(bs, "topics", topic), "retention.ms", None))
    assert now and now["max.message.bytes"]["value"] == "65536", configs(bs, "topics", topic)
    every = configs(bs, "topics", topic, "--all")
    assert every["retention.ms"]["source"] == "DEFAULT_CONFIG" and every["retention.ms"]["is_default"]
    assert every["segment.bytes"]["value"]

    bad = admin(bs, "configs", "set", *t, "--add-config", "retention.ms=soon", expect=1)
    assert "INVALID_CONFIG" in bad.err and "retention.ms" in bad.err and topic in bad.err
    absent = admin(bs, "configs", "describe", "--entity-type", "topics", "--entity-name",
                   topic + "-absent", expect=1)
    assert "UNKNOWN_TOPIC_OR_PART" in absent.err and topic + "-absent" in absent.err


def broker_id(bs):
    (b,) = admin(bs, "cluster", "describe", "--json").json()["brokers"]
    return str(b["id"])


def check_broker_configs(bs):
    node = broker_id(bs)
    b = ["--entity-type", "brokers", "--entity-name", node]
    every = configs(bs, "brokers", node, "--all")
    assert every["log.retention.check.interval.ms"]["value"]
    admin(bs, "configs", "set", *b, "--add-config", "log.retention.ms=99999999")
    now = settled(lambda: has_value(configs(bs, "brokers", node), "log.retention.ms", "99999999"))
    assert now, configs(bs, "brokers", node)
    assert now["log.retention.ms"]["source"] == "DYNAMIC_BROKER_CONFIG"
    human = admin(bs, "configs", "describe", *b).out
    assert "log.retention.ms" in human and "99999999" in human
    admin(bs, "configs", "unset", *b, "--delete-config", "log.retention.ms")
    assert settled(lambda: has_value(configs(bs, "brokers", node), "log.retention.ms", None)), \
        configs(bs, "brokers", node)


def check_logdirs(bs, topic, data_dir=None):
    admin(bs, "topics", "create", "--topic", topic, "--partitions", "2")
    produce(bs, topic, 2, 20)
    node = int(broker_id(bs))
    got = admin(bs, "logdirs", "--topic", topic, "--json").json()
    (b,) = got["brokers"]
    assert b["broker"] == node and b["log_dirs"]
    dirs = b["log_dirs"]
    if data_dir:
        assert [d["path"] for d in dirs] == [data_dir]
    for d in dirs:
        assert d["error"] is None
        assert d["total_bytes"] >= d["usable_bytes"] >= 0
    parts = sorted((p["topic"], p["partition"]) for d in dirs for p in d["partitions"])
    assert parts == [(topic, 0), (topic, 1)]
    assert all(p["size_bytes"] > 0 and not p["is_future"] for d in dirs for p in d["partitions"])
    human = admin(bs, "logdirs", "--topic", topic, "--broker", str(node)).out
    assert f"Broker {node} dir {dirs[0]['path']}: online" in human
    rows = [line.split() for line in human.splitlines() if f" {topic} " in line]
    assert sorted(r[3] for r in rows) == ["0", "1"]
    absent = admin(bs, "logdirs", "--broker", str(node + 1000), expect=1)
    assert "--broker" in absent.err
