"""The cluster APIs of issue 16 against a running broker: DescribeCluster and
topics' authorized operations from confluent-kafka, kafka-python and kafkajs
(the clients of scripts/install-clients.sh: Debian's Python clients are too
old for these calls), DescribeLogDirs sizes against the files on disk (also
from sarama), OffsetForLeaderEpoch on the wire and from franz-go (epoch 0
ends at the log end, the current-epoch checks), and an unserved API logged
by its Kafka name."""
import glob
import json
import os
import re
import subprocess
import sys

import pytest

import kafka_wire as kw

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "differential"))
import kafka_codec as codec  # noqa: E402

CLIENTS_DIR = os.environ.get("SLUICE_CLIENTS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sluice", "clients")
VENV_PYTHON = os.path.join(CLIENTS_DIR, "python", "venv", "bin", "python")
GO_SOURCE = os.path.join(HERE, "..", "clients", "go")
GO_DRIVER = os.path.join(CLIENTS_DIR, "go", "bin", "cluster")
NODE_MODULES = os.path.join(CLIENTS_DIR, "node", "app", "node_modules")
NODE_DRIVER = os.path.join(HERE, "..", "clients", "node", "cluster.js")
CLIENT_TIMEOUT_S = 120
GO_BUILD_TIMEOUT_S = 300

CLUSTER_OPERATIONS = ["ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE",
                      "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"]
TOPIC_OPERATIONS = ["ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS",
                    "READ", "WRITE"]
CLUSTER_OPERATIONS_BITS = 8096  # bits 5, 7-12: Kafka's AclOperation codes
TOPIC_OPERATIONS_BITS = 3576    # bits 3-8, 10, 11
OPERATIONS_OMITTED = -2 ** 31
FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION = 74, 75, 3
ELECTION_NOT_NEEDED = 84


def client(call, bootstrap, topic="-"):
    if not os.path.exists(VENV_PYTHON):
        pytest.skip(f"no PyPI client venv in {CLIENTS_DIR}: run scripts/install-clients.sh")
    out = subprocess.run([VENV_PYTHON, os.path.join(HERE, "cluster_apis_clients.py"), call,
                          bootstrap, topic], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=CLIENT_TIMEOUT_S)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def go_driver(tmp_path_factory):
    """tests/clients/go/cmd/cluster: installed by scripts/install-clients.sh,
    or built here from its module cache (offline) when an older install
    lacks it."""
    if os.path.exists(GO_DRIVER):
        return GO_DRIVER
    mod = os.path.join(CLIENTS_DIR, "go", "mod")
    if not os.path.isdir(mod):
        pytest.skip(f"no Go module cache in {CLIENTS_DIR}: run scripts/install-clients.sh")
    out = str(tmp_path_factory.mktemp("go-bin"))
    env = dict(os.environ, GOMODCACHE=mod, GOCACHE=os.path.join(CLIENTS_DIR, "go", "build"),
               GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOPROXY="off")
    subprocess.run(["go", "build", "-o", out + "/", "./cmd/cluster"], cwd=GO_SOURCE, env=env,
                   check=True, timeout=GO_BUILD_TIMEOUT_S)
    return os.path.join(out, "cluster")


def go(tmp_path_factory, *args):
    out = subprocess.run([go_driver(tmp_path_factory), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT_S)
    result = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert out.returncode == 0, (result, out.stderr.decode()[-2000:])
    return result


def call(conn, api, version, body):
    a = codec.api(api)
    conn.corr += 1
    conn.send_raw(codec.encode_request(a.key, version, conn.corr, body, "it"))
    corr, resp = codec.decode_response(a.key, version, conn.response())
    assert corr == conn.corr
    return resp


def create_topic(conn, name, partitions):
    r = call(conn, "CreateTopics", 5, {"topics": [{
        "name": name, "num_partitions": partitions, "replication_factor": 1, "configs": []}],
        "timeout_ms": 30000})
    assert r["topics"][0]["error_code"] == 0, r


def produce(conn, topic, partition, batches):
    """Appends the batches; returns the next offset."""
    end = 0
    for values in batches:
        err, base = kw.produce_v3(conn, topic, partition, kw.record_batch(values))
        assert err == 0
        end = base + len(values)
    return end


@pytest.fixture
def conn(broker):
    c = kw.Conn(broker.bootstrap)
    yield c
    c.close()


def metadata_cluster_id(conn):
    return call(conn, "Metadata", 10, {"topics": [], "allow_auto_topic_creation": False})["cluster_id"]


def test_describe_cluster_clients(broker, conn):
    cluster_id = metadata_cluster_id(conn)
    node = {"id": 0, "host": "127.0.0.1", "port": broker.port, "rack": None}
    confluent = client("confluent_describe_cluster", broker.bootstrap)
    assert confluent == {"cluster_id": cluster_id, "controller": 0, "nodes": [node],
                         "operations": CLUSTER_OPERATIONS}
    kp = client("kafka_python_describe_cluster", broker.bootstrap)
    assert kp == {"cluster_id": cluster_id, "controller": 0, "nodes": [node]}
    if not os.path.isdir(NODE_MODULES):
        pytest.skip(f"no kafkajs in {NODE_MODULES}: run scripts/install-clients.sh")
    js = subprocess.run(["node", NODE_DRIVER, broker.bootstrap], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT_S,
                        env=dict(os.environ, NODE_PATH=NODE_MODULES))
    assert js.returncode == 0, js.stdout.decode() + js.stderr.decode()[-2000:]
    assert json.loads(js.stdout.decode().strip().splitlines()[-1]) == {
        "clusterId": cluster_id, "controller": 0,
        "brokers": [{"nodeId": 0, "host": "127.0.0.1", "port": broker.port}]}


def test_describe_cluster_wire(conn):
    asked = call(conn, "DescribeCluster", 1, {"include_cluster_authorized_operations": True,
                                              "endpoint_type": 1})
    assert asked["error_code"] == 0 and asked["endpoint_type"] == 1
    assert asked["cluster_authorized_operations"] == CLUSTER_OPERATIONS_BITS
    plain = call(conn, "DescribeCluster", 0, {"include_cluster_authorized_operations": False})
    assert plain["cluster_authorized_operations"] == OPERATIONS_OMITTED
    controllers = call(conn, "DescribeCluster", 1, {"endpoint_type": 2})
    assert controllers["error_code"] == 114 and controllers["brokers"] == []
    assert controllers["error_message"] == ("The request was sent to an endpoint of type BROKER, "
                                            "but we wanted an endpoint of type CONTROLLER")


def test_topic_authorized_operations(broker, conn):
    create_topic(conn, "ops", 3)
    d = client("confluent_describe_topic", broker.bootstrap, "ops")
    assert d == {"name": "ops", "partitions": 3, "operations": TOPIC_OPERATIONS}
    body = {"topics": [{"name": "ops"}, {"name": "missing"}], "allow_auto_topic_creation": False,
            "include_cluster_authorized_operations": True,
            "include_topic_authorized_operations": True}
    asked = call(conn, "Metadata", 10, body)
    assert [t["topic_authorized_operations"] for t in asked["topics"]] == [TOPIC_OPERATIONS_BITS] * 2
    assert asked["cluster_authorized_operations"] == CLUSTER_OPERATIONS_BITS
    body.update(include_cluster_authorized_operations=False,
                include_topic_authorized_operations=False)
    plain = call(conn, "Metadata", 10, body)
    assert [t["topic_authorized_operations"] for t in plain["topics"]] == [OPERATIONS_OMITTED] * 2
    assert plain["cluster_authorized_operations"] == OPERATIONS_OMITTED


def bytes_on_disk(data_dir, topic, partition):
    """The partition's batches, summed over its segment files (an active
    segment's file may be longer: mapped appends size it to segment.bytes)."""
    total = 0
    for path in glob.glob(os.path.join(data_dir, f"{topic}-{partition}", "*.log")):
        with open(path, "rb") as f:
            total += kw.batches_end(f.read())
    return total


def test_describe_log_dirs_sizes(broker, conn):
    create_topic(conn, "dirs", 2)
    produce(conn, "dirs", 0, [[b"x" * 100] * 10, [b"y" * 3000]])
    produce(conn, "dirs", 1, [[b"z"]])
    create_topic(conn, "other", 1)
    out = client("kafka_python_describe_log_dirs", broker.bootstrap, "dirs")
    assert len(out) == 1 and out[0]["broker"] == 0
    (d,) = out[0]["log_dirs"]
    assert d["error_code"] == 0 and d["log_dir"] == os.path.realpath(broker.data_dir)
    st = os.statvfs(broker.data_dir)
    assert d["total_bytes"] == st.f_blocks * st.f_frsize
    assert 0 < d["usable_bytes"] <= d["total_bytes"]
    (t,) = d["topics"]
    assert t["name"] == "dirs"
    sizes = {p["partition_index"]: p["partition_size"] for p in t["partitions"]}
    assert sizes == {i: bytes_on_disk(broker.data_dir, "dirs", i) for i in (0, 1)}
    assert sizes[0] > 4000 and sizes[1] > 0
    assert all(p["offset_lag"] == 0 and not p["is_future_key"] for p in t["partitions"])
    every = client("kafka_python_describe_log_dirs", broker.bootstrap)
    names = {t["name"] for t in every[0]["log_dirs"][0]["topics"]}
    assert {"dirs", "other"} <= names


def test_describe_log_dirs_sarama(broker, conn, tmp_path_factory):
    create_topic(conn, "sarama-dirs", 2)
    produce(conn, "sarama-dirs", 1, [[b"s" * 500] * 3])
    (d,) = go(tmp_path_factory, "sarama_log_dirs", broker.bootstrap, "sarama-dirs")["dirs"]
    assert (d["broker"], d["error"], d["path"]) == (0, 0, os.path.realpath(broker.data_dir))
    assert d["sizes"] == {str(i): bytes_on_disk(broker.data_dir, "sarama-dirs", i) for i in (0, 1)}
    assert d["sizes"]["1"] > 1500 and 0 < d["usable"] <= d["total"]


def test_offset_for_leader_epoch_franz(broker, conn, tmp_path_factory):
    create_topic(conn, "franz-epochs", 2)
    end = produce(conn, "franz-epochs", 0, [[b"a"] * 4, [b"b"] * 3])
    got = go(tmp_path_factory, "franz_epochs", broker.bootstrap, "franz-epochs", "2")
    assert got == {"epoch 0": {"0": {"epoch": 0, "end": end, "err": ""},
                               "1": {"epoch": 0, "end": 0, "err": ""}},
                   "epoch 1": {"0": {"epoch": -1, "end": -1, "err": ""},
                               "1": {"epoch": -1, "end": -1, "err": ""}}}


def test_describe_log_dirs_wire(broker, conn):
    create_topic(conn, "asked", 2)
    r = call(conn, "DescribeLogDirs", 1, {"topics": [
        {"topic": "asked", "partitions": [1, 1, 7]}, {"topic": "nope", "partitions": [0]},
        {"topic": "asked", "partitions": [1]}]})
    (d,) = r["results"]
    assert d["topics"] == [{"name": "asked", "partitions": [
        {"partition_index": 1, "partition_size": 0, "offset_lag": 0, "is_future_key": False}]}]
    none = call(conn, "DescribeLogDirs", 4, {"topics": []})
    assert none["results"][0]["topics"] == [] and none["results"][0]["total_bytes"] > 0


def epochs(conn, version, topic, asked, replica_id=-1):
    body = {"replica_id": replica_id, "topics": [{"topic": topic, "partitions": [
        {"partition": p, "current_leader_epoch": cur, "leader_epoch": e} for p, cur, e in asked]}]}
    r = call(conn, "OffsetForLeaderEpoch", version, body)
    return [(p["error_code"], p.get("leader_epoch", -1), p["end_offset"])
            for p in r["topics"][0]["partitions"]]


@pytest.mark.parametrize("version", [2, 3, 4])
def test_offset_for_leader_epoch(broker, conn, version):
    topic = f"epochs-{version}"
    create_topic(conn, topic, 2)
    end = produce(conn, topic, 0, [[b"a", b"b"], [b"c"]])
    asked = [(0, -1, 0), (0, 0, 0), (0, -1, 1), (0, -1, -1), (0, -1, -3),
             (1, -1, 0), (0, 1, 0), (0, -2, 0), (9, -1, 0)]
    got = epochs(conn, version, topic, asked, replica_id=5)
    assert got == [(0, 0, end), (0, 0, end), (0, -1, -1), (0, -1, -1), (0, -3, 0),
                   (0, 0, 0), (UNKNOWN_LEADER_EPOCH, -1, -1), (FENCED_LEADER_EPOCH, -1, -1),
                   (UNKNOWN_TOPIC_OR_PARTITION, -1, -1)]
    assert epochs(conn, version, "no-such-topic", [(0, -1, 0)]) == \
        [(UNKNOWN_TOPIC_OR_PARTITION, -1, -1)]
    # The epoch the answers name is the one on disk: in each batch and the checkpoint.
    seg = glob.glob(os.path.join(broker.data_dir, f"{topic}-0", "*.log"))[0]
    with open(seg, "rb") as f:
        data = f.read()
    stamped = {int.from_bytes(data[pos + 12:pos + 16], "big", signed=True)
               for pos in _batch_positions(data)}
    assert stamped == {0}
    with open(os.path.join(broker.data_dir, f"{topic}-0", "leader-epoch-checkpoint")) as f:
        assert f.read().split("\n")[2] == "0 0"


def _batch_positions(data):
    pos = 0
    for _, total in kw.batches(data):
        yield pos
        pos += total


def test_elect_leaders_and_quotas_wire(conn):
    create_topic(conn, "elect", 2)
    r = call(conn, "ElectLeaders", 2, {"election_type": 0, "timeout_ms": 5000, "topic_partitions": [
        {"topic": "elect", "partitions": [1, 5]}]})
    got = [(p["partition_id"], p["error_code"], p["error_message"])
           for p in r["replica_election_results"][0]["partition_result"]]
    assert got == [(1, ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
                   (5, UNKNOWN_TOPIC_OR_PARTITION, "No such partition as elect-5")]
    every = call(conn, "ElectLeaders", 1, {"election_type": 1, "timeout_ms": 5000,
                                          "topic_partitions": None})
    assert {"topic": "elect", "partition_result": []} in every["replica_election_results"]
    q = call(conn, "DescribeClientQuotas", 1, {"components": [], "strict": False})
    assert (q["error_code"], q["error_message"], q["entries"]) == (0, "", [])
    entity = [{"entity_type": "user", "entity_name": "alice"}]
    a = call(conn, "AlterClientQuotas", 1, {"validate_only": False, "entries": [
        {"entity": entity, "ops": [{"key": "producer_byte_rate", "value": 1024.0, "remove": False}]},
        {"entity": [{"entity_type": "client-id", "entity_name": "c"}],
         "ops": [{"key": "consumer_byte_rate", "value": 1.0, "remove": True}]},
        {"entity": [{"entity_type": "user", "entity_name": "bob"}],
         "ops": [{"key": "producer_byte_rate", "value": 1.5, "remove": False}]}]})
    codes = [(e["entity"][0]["entity_name"], e["error_code"]) for e in a["entries"]]
    assert codes == [("alice", 35), ("c", 0), ("bob", 42)]
    assert "does not store" in a["entries"][0]["error_message"]
    assert a["entries"][2]["error_message"] == "producer_byte_rate cannot be a fractional value."


@pytest.mark.parametrize("key,name", [(52, "Vote"), (999, "unknown API key")])
def test_unserved_api_logged_by_name(broker, key, name):
    c = kw.Conn(broker.bootstrap)
    try:
        c.request(key, 0, b"")
        assert c.closed_by_peer()
    finally:
        c.close()
    assert re.search(rf"closing 127\.0\.0\.1:\d+: {re.escape(name)} \({key}\) is not served",
                     broker.log_text())
