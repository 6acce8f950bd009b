"""The confluent-kafka (2.x, the venv scripts/install-clients.sh fills) driver
of tests/compat/test_admin_configs.py: IncrementalAlterConfigs through
AdminClient.incremental_alter_configs on a topic (SET, APPEND, DELETE) and on
the broker, DescribeConfigs with synonyms.
    python admin_configs.py BOOTSTRAP TOPIC BROKER_ID
Prints one JSON line."""
import json
import sys

from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewTopic)

WAIT_S = 30


def describe(admin, resource):
    d = admin.describe_configs([resource])[resource].result(WAIT_S)
    return {k: {"value": v.value, "source": int(v.source),
                "synonyms": [[s.name, s.value, int(s.source)] for s in v.synonyms.values()]}
            for k, v in d.items()}


def incremental(admin, resource_type, name, ops):
    r = ConfigResource(resource_type, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=op) for k, op, v in ops])
    try:
        admin.incremental_alter_configs([r])[r].result(WAIT_S)
        return ""
    except Exception as e:  # the error's name is the result
        return e.args[0].name()


def main():
    bootstrap, topic, broker_id = sys.argv[1:4]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(WAIT_S)
    out = {"set": incremental(admin, "topic", topic, [
        ("retention.ms", AlterConfigOpType.SET, "54321"),
        ("cleanup.policy", AlterConfigOpType.APPEND, "compact")])}
    out["topic"] = describe(admin, ConfigResource("topic", topic))
    out["delete"] = incremental(admin, "topic", topic, [
        ("retention.ms", AlterConfigOpType.DELETE, None)])
    out["after_delete"] = describe(admin, ConfigResource("topic", topic))["retention.ms"]
    out["append_long"] = incremental(admin, "topic", topic, [
        ("retention.ms", AlterConfigOpType.APPEND, "5")])
    out["broker_set"] = incremental(admin, "broker", broker_id, [
        ("log.segment.bytes", AlterConfigOpType.SET, "2000000")])
    out["broker"] = describe(admin, ConfigResource("broker", broker_id))["log.segment.bytes"]
    out["broker_delete"] = incremental(admin, "broker", broker_id, [
        ("log.segment.bytes", AlterConfigOpType.DELETE, None)])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
