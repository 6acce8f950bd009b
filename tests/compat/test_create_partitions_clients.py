"""CreatePartitions from kafkajs (admin.createPartitions) and IBM/sarama
(ClusterAdmin.CreatePartitions), as scripts/install-clients.sh installs them:
a validate-only growth changes nothing, a growth shows in the metadata, and
a lower count is INVALID_PARTITIONS. Skipped when the clients are missing."""
import json
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENTS_DIR = os.environ.get("SLUICE_CLIENTS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sluice", "clients")
NODE_MODULES = os.path.join(CLIENTS_DIR, "node", "app", "node_modules")
JS_DRIVER = os.path.join(ROOT, "tests", "clients", "node", "create_partitions.js")
GO_SOURCE = os.path.join(ROOT, "tests", "clients", "go")
GO_DRIVER = "sarama_partitions"
DRIVER_TIMEOUT_S = 120
GO_BUILD_TIMEOUT_S = 300
EXPECTED = {"created": 2, "validated": 2, "grown": 4}


def drive(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=DRIVER_TIMEOUT_S, env={**os.environ, **(env or {})})
    lines = p.stdout.decode().strip().splitlines()
    assert lines, f"{cmd[0]}: no output (rc {p.returncode}): {p.stderr.decode()[-2000:]}"
    result = json.loads(lines[-1])
    assert p.returncode == 0 and "error" not in result, result
    return result


def sarama_driver(tmp_path):
    """The installed driver, or one built now from the module cache that
    scripts/install-clients.sh filled (offline)."""
    installed = os.path.join(CLIENTS_DIR, "go", "bin", GO_DRIVER)
    if os.path.exists(installed):
        return installed
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.path.exists(go) or not os.path.isdir(os.path.join(CLIENTS_DIR, "go", "mod")):
        pytest.skip("Go or its module cache is missing (scripts/install-clients.sh)")
    env = {**os.environ, "GOMODCACHE": os.path.join(CLIENTS_DIR, "go", "mod"),
           "GOCACHE": os.path.join(CLIENTS_DIR, "go", "build"), "GOFLAGS": "-mod=mod",
           "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    p = subprocess.run([go, "build", "-o", str(tmp_path) + "/", "./cmd/" + GO_DRIVER],
                       cwd=GO_SOURCE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=GO_BUILD_TIMEOUT_S)
    if p.returncode != 0:
        pytest.skip(f"cannot build {GO_DRIVER} offline: {p.stderr.decode()[-500:]}")
    return os.path.join(str(tmp_path), GO_DRIVER)


def test_kafkajs_create_partitions(broker):
    if not shutil.which("node") or not os.path.isdir(os.path.join(NODE_MODULES, "kafkajs")):
        pytest.skip("node or kafkajs is missing (scripts/install-clients.sh)")
    r = drive(["node", JS_DRIVER, broker.bootstrap, "cp-kafkajs"], {"NODE_PATH": NODE_MODULES})
    assert {k: r[k] for k in EXPECTED} == EXPECTED
    assert r["lower"] == "INVALID_PARTITIONS"


def test_sarama_create_partitions(broker, tmp_path):
    r = drive([sarama_driver(tmp_path), broker.bootstrap, "cp-sarama"])
    assert {k: r[k] for k in EXPECTED} == EXPECTED
    assert r["lower"] == "kafka server: Number of partitions is invalid"
