"""CreatePartitions from kafkajs (admin.createPartitions) and IBM/sarama
(ClusterAdmin.CreatePartitions), as scripts/install-clients.sh installs them:
a validate-only growth changes nothing, a growth shows in the metadata, and
a lower count is INVALID_PARTITIONS. A missing client fails the test."""
import os

from client_drivers import GO_BIN, drive, source

JS_DRIVER = source("node", "create_partitions.js")
GO_DRIVER = os.path.join(GO_BIN, "sarama_partitions")
EXPECTED = {"created": 2, "validated": 2, "grown": 4}


def test_kafkajs_create_partitions(broker):
    r = drive(["node", JS_DRIVER, broker.bootstrap, "cp-kafkajs"])
    assert {k: r[k] for k in EXPECTED} == EXPECTED
    assert r["lower"] == "INVALID_PARTITIONS"


def test_sarama_create_partitions(broker):
    r = drive([GO_DRIVER, broker.bootstrap, "cp-sarama"])
    assert {k: r[k] for k in EXPECTED} == EXPECTED
    assert r["lower"] == "kafka server: Number of partitions is invalid"
