"""Config APIs through clients other than Debian's: kafkajs
(tests/clients/node/admin_configs.js: DescribeConfigs, AlterConfigs on a
topic and on the broker), confluent-kafka 2.x from the clients' venv
(tests/clients/python/admin_configs.py: IncrementalAlterConfigs SET, APPEND,
DELETE on a topic and the broker) and sarama's ClusterAdmin
(tests/clients/go/cmd/sarama_configs), all installed by
scripts/install-clients.sh, against sluice."""
import json
import os
import subprocess
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENTS_DIR = os.environ.get("SLUICE_CLIENTS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sluice", "clients")
NODE_MODULES = os.path.join(CLIENTS_DIR, "node", "app", "node_modules")
VENV_PYTHON = os.path.join(CLIENTS_DIR, "python", "venv", "bin", "python")
JS_DRIVER = os.path.join(ROOT, "tests", "clients", "node", "admin_configs.js")
PY_DRIVER = os.path.join(ROOT, "tests", "clients", "python", "admin_configs.py")
GO_DRIVER = os.path.join(CLIENTS_DIR, "go", "bin", "sarama_configs")
DRIVER_TIMEOUT_S = 120
NODE_ID = "0"
SOURCE_TOPIC, SOURCE_BROKER, SOURCE_DEFAULT = 1, 2, 5


def drive(cmd, env=None):
    if not os.path.exists(cmd[0]) and cmd[0] != "node":
        pytest.fail(f"{cmd[0]} is missing: run scripts/install-clients.sh")
    if cmd[0] == "node" and not os.path.isdir(NODE_MODULES):
        pytest.fail("kafkajs is missing: run scripts/install-clients.sh")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=DRIVER_TIMEOUT_S, env=dict(os.environ, **(env or {})))
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    if p.returncode != 0 or "error" in result:
        raise AssertionError(f"{os.path.basename(cmd[1])} failed ({p.returncode}): "
                             f"{result.get('error')}\n{p.stderr.decode(errors='replace')[-3000:]}")
    return result


def topic_name(what):
    return f"cfg-{what}-{uuid.uuid4().hex[:8]}"


def test_kafkajs_describe_and_alter(make_broker):
    b = make_broker()
    r = drive(["node", JS_DRIVER, b.bootstrap, topic_name("js"), NODE_ID],
              {"NODE_PATH": NODE_MODULES})
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
