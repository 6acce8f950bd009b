"""sluice-admin's sub-commands on the admin APIs issue 16 adds to sluice
(CreatePartitions, DescribeConfigs and AlterConfigs, DescribeLogDirs) against
a running sluice: topics add-partitions, configs describe|set|unset for a
topic and for the broker, logdirs. The same scenarios run against Apache
Kafka in tests/compat/test_sluice_admin_kafka.py."""
import os

import pytest

pytest.register_assert_rewrite("sluice_admin_run", "sluice_admin_scenarios")

from sluice_admin_scenarios import (check_add_partitions, check_broker_configs,
                                    check_logdirs, check_topic_configs)


def test_topics_add_partitions(broker):
    check_add_partitions(broker.bootstrap, "grows")


def test_configs_of_a_topic(broker):
    check_topic_configs(broker.bootstrap, "tuned")


def test_configs_of_the_broker(broker):
    check_broker_configs(broker.bootstrap)


def test_logdirs(broker):
    check_logdirs(broker.bootstrap, "sized", os.path.abspath(broker.data_dir))
