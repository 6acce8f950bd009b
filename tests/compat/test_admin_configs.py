"""Config APIs through clients other than Debian's: kafkajs
(tests/clients/node/admin_configs.js: DescribeConfigs, AlterConfigs on a
topic and on the broker), confluent-kafka 2.x from the clients' venv
(tests/clients/python/admin_configs.py: IncrementalAlterConfigs SET, APPEND,
DELETE on a topic and the broker) and sarama's ClusterAdmin
(tests/clients/go/cmd/sarama_configs), all installed by
scripts/install-clients.sh, against sluice."""
import os
import uuid

from client_drivers import GO_BIN, VENV_PYTHON, drive, source

JS_DRIVER = source("node", "admin_configs.js")
PY_DRIVER = source("python", "admin_configs.py")
GO_DRIVER = os.path.join(GO_BIN, "sarama_configs")
NODE_ID = "0"
SOURCE_TOPIC, SOURCE_BROKER, SOURCE_DEFAULT = 1, 2, 5


def topic_name(what):
    return f"cfg-{what}-{uuid.uuid4().hex[:8]}"


def test_kafkajs_describe_and_alter(make_broker):
    b = make_broker()
    r = drive(["node", JS_DRIVER, b.bootstrap, topic_name("js"), NODE_ID])
    assert r["before"]["retention.ms"]["source"] == SOURCE_DEFAULT
    assert r["after"]["retention.ms"]["value"] == "12345"
    assert r["after"]["retention.ms"]["source"] == SOURCE_TOPIC
    assert r["after"]["cleanup.policy"]["value"] == "compact"
    assert r["after"]["segment.bytes"]["source"] == SOURCE_DEFAULT
    assert r["badValue"] == "INVALID_CONFIG"
    assert r["staticKey"] == "INVALID_REQUEST"
    assert r["broker"]["log.retention.ms"]["value"] == "7200000"
    assert r["broker"]["log.retention.ms"]["source"] == SOURCE_BROKER
    assert r["broker"]["log.retention.ms"]["readOnly"] is False
    assert r["broker"]["log.dirs"]["readOnly"] is True
    assert r["inherited"]["retention.ms"] == {"value": "7200000", "source": SOURCE_BROKER,
                                              "readOnly": False,
                                              "synonyms": [["log.retention.ms", "7200000",
                                                            SOURCE_BROKER]]}


def test_confluent_incremental_alter(make_broker):
    b = make_broker()
    r = drive([VENV_PYTHON, PY_DRIVER, b.bootstrap, topic_name("py"), NODE_ID])
    assert r["set"] == "" and r["delete"] == ""
    assert r["topic"]["retention.ms"]["value"] == "54321"
    assert r["topic"]["cleanup.policy"]["value"] == "delete,compact"
    assert r["after_delete"]["value"] == "604800000"
    assert r["after_delete"]["source"] == SOURCE_DEFAULT
    assert r["append_long"] == "INVALID_CONFIG"
    assert r["broker_set"] == "" and r["broker_delete"] == ""
    assert r["broker"]["value"] == "2000000" and r["broker"]["source"] == SOURCE_BROKER


def test_sarama_describe_and_alter(make_broker):
    b = make_broker()
    topic = topic_name("go")
    r = drive([GO_DRIVER, "configs", b.bootstrap, topic, NODE_ID])
    assert r["alter"] == "" and r["incremental"] == ""
    assert r["altered"]["retention.ms"] == ["99000", SOURCE_TOPIC, False]
    assert r["altered"]["cleanup.policy"] == ["compact", SOURCE_TOPIC, False]
    assert r["incremented"]["retention.ms"] == ["604800000", SOURCE_DEFAULT, False]
    assert r["incremented"]["segment.ms"] == ["600000", SOURCE_TOPIC, False]
    assert "Invalid value later for configuration segment.ms" in r["bad"]
    assert r["broker"]["log.dirs"][2] is True
    assert r["broker"]["log.retention.ms"][2] is False
    assert f"The topic '{topic}-missing' does not exist." in r["unknown_topic"]
