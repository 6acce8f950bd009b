"""sluice-admin against Apache Kafka (the suite's peer at
SLUICE_KAFKA_BOOTSTRAP; skipped without one): it is a Kafka tool first, so
the scenarios it runs against sluice pass against Kafka too, on topics named
per run (the peer is shared)."""
import os
import uuid

import pytest

pytest.register_assert_rewrite("sluice_admin_run", "sluice_admin_scenarios")

from sluice_admin_run import admin, commit, produce
from sluice_admin_scenarios import (check_add_partitions, check_broker_configs,
                                    check_logdirs, check_topic_configs, settled)

BOOTSTRAP = os.environ.get("SLUICE_KAFKA_BOOTSTRAP")
pytestmark = pytest.mark.skipif(not BOOTSTRAP, reason="no Kafka peer (SLUICE_KAFKA_BOOTSTRAP)")


@pytest.fixture
def name():
    return "sluice-admin-" + uuid.uuid4().hex[:8]


def test_topics_and_cluster(name):
    admin(BOOTSTRAP, "topics", "create", "--topic", name, "--partitions", "3")
    assert settled(lambda: name in admin(BOOTSTRAP, "topics", "list", "--json").json()["topics"])
    cluster = admin(BOOTSTRAP, "cluster", "describe", "--json").json()
    assert cluster["cluster_id"] and len(cluster["brokers"]) == 1
    admin(BOOTSTRAP, "topics", "delete", "--topic", name)


def test_group_lag_and_reset(name):
    admin(BOOTSTRAP, "topics", "create", "--topic", name, "--partitions", "2")
    produce(BOOTSTRAP, name, 2, 50)
    commit(BOOTSTRAP, name, name, {0: 25, 1: 25})
    d = admin(BOOTSTRAP, "groups", "describe", "--group", name, "--json").json()
    assert d["state"] == "Empty" and d["total_lag"] == 50
    admin(BOOTSTRAP, "groups", "reset-offsets", "--group", name, "--topic", name, "--to-latest",
          "--execute")
    assert admin(BOOTSTRAP, "groups", "describe", "--group", name, "--json").json()["total_lag"] == 0
    admin(BOOTSTRAP, "groups", "delete", "--group", name)
    admin(BOOTSTRAP, "records", "delete", "--topic", name, "--before", "-1")
    admin(BOOTSTRAP, "topics", "delete", "--topic", name)


def test_add_partitions(name):
    check_add_partitions(BOOTSTRAP, name)


def test_topic_configs(name):
    check_topic_configs(BOOTSTRAP, name)


def test_broker_configs():
    check_broker_configs(BOOTSTRAP)


def test_logdirs(name):
    check_logdirs(BOOTSTRAP, name)
