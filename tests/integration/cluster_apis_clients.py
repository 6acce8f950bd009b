"""Cluster API calls from the PyPI clients (scripts/install-clients.sh's
venv), for test_cluster_apis.py: prints one JSON line with what the client
reported. Usage: cluster_apis_clients.py CALL BOOTSTRAP [TOPIC]."""
import json
import sys

TIMEOUT_S = 30


def confluent_describe_cluster(bootstrap, _topic):
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    d = admin.describe_cluster(include_authorized_operations=True,
                               request_timeout=TIMEOUT_S).result(TIMEOUT_S)
    return {"cluster_id": d.cluster_id, "controller": d.controller.id,
            "nodes": [{"id": n.id, "host": n.host, "port": n.port, "rack": n.rack}
                      for n in d.nodes],
            "operations": sorted(op.name for op in d.authorized_operations)}


def confluent_describe_topic(bootstrap, topic):
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.describe_topics(TopicCollection([topic]), include_authorized_operations=True,
                                    request_timeout=TIMEOUT_S)
    d = futures[topic].result(TIMEOUT_S)
    return {"name": d.name, "partitions": len(d.partitions),
            "operations": sorted(op.name for op in d.authorized_operations)}


def kafka_python_admin(bootstrap):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_S * 1000)


def kafka_python_describe_cluster(bootstrap, _topic):
    d = kafka_python_admin(bootstrap).describe_cluster()
    return {"cluster_id": d["cluster_id"], "controller": d["controller_id"],
            "nodes": [{"id": b["broker_id"], "host": b["host"], "port": b["port"],
                       "rack": b["rack"]} for b in d["brokers"]]}


def kafka_python_describe_log_dirs(bootstrap, topic):
    asked = None if topic == "-" else [topic]
    out = kafka_python_admin(bootstrap).describe_log_dirs(topic_partitions=asked)
    return json.loads(json.dumps(out, default=str))


CALLS = {f.__name__: f for f in (confluent_describe_cluster, confluent_describe_topic,
                                 kafka_python_describe_cluster,
                                 kafka_python_describe_log_dirs)}

if __name__ == "__main__":
    call, bootstrap = sys.argv[1], sys.argv[2]
    topic = sys.argv[3] if len(sys.argv) > 3 else "-"
    print(json.dumps(CALLS[call](bootstrap, topic)))
