"""The newest clients of five languages against sluice: confluent-kafka 2.x and
kafka-python 3.x (PyPI, in a virtualenv), franz-go and IBM/sarama (Go module
proxy), kafkajs (npm), as scripts/install-clients.sh installs them. Each runs
the scenarios the Debian clients run: produce with every codec at acks 0, 1
and -1 and consume by assignment, a two-member consumer group (classic
protocol) with its admin calls, offsets by time, topic admin, the
operator's admin calls (partitions, configs, cluster, log dirs), and the
producer's defaults.

Every client talks to the broker through a loopback proxy that records the
(API key, version) of each request it sends, so what a client negotiated is
measured on the wire, not taken from its logs. The last test adds Debian's
clients (kcat, confluent-kafka 1.7, kafka-python 2.0) and checks that every
version sluice advertises in ApiVersions was sent by some client, except the
pairs listed in UNSENT: no client here sends those."""
import json
import os
import struct
import subprocess
import threading
import time

import pytest

import capture_proxy
import dropping_proxy
import kafka_wire
from conftest import scaled

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENTS_DIR = os.environ.get("SLUICE_CLIENTS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sluice", "clients")
DRIVER_TIMEOUT_S = 120
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CLIENTS = ["confluent-kafka", "kafka-python", "franz-go", "sarama", "kafkajs"]
# The drivers' shared numbers (tests/clients/*/driver*, scenario.go).
PER_ACKS = 60
PARTITIONS = 3
GROUP_PARTITIONS = 4
GROUP_MESSAGES = 200
# Kafka releases franz-go is pinned to (kversion), each bringing versions the
# newest clients skip. Below 0.11 a client would send Fetch and Produce
# versions older than sluice serves.
PINNED_RELEASES = ["v0.11.0", "v1.0", "v1.1", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.7",
                   "v3.4", "v3.6", "v3.8", "v3.9"]

# What each client's default producer is: kafka-python 3 and franz-go turn
# idempotence on by default; the others leave it off.
IDEMPOTENT_BY_DEFAULT = {"kafka-python", "franz-go"}
IDEMPOTENT_RECORDS = 500  # the drivers' produce_idempotent scenario
NUMBERED_RECORDS = scaled(100_000)  # sarama's produce_numbered, through lost responses

# (API key, version) pairs sluice advertises that no client here sends, as
# measured by test_every_advertised_version_is_sent. Each client sends the
# newest version both sides know, and no Kafka release has these as its
# newest: pinning franz-go to a release cannot reach them either.
UNSENT = {
    # Produce v0-v2: listed only for librdkafka's feature probes, as Kafka 4
    # lists them, and refused (KAFKA-18659): no client here sends them.
    (0, 0), (0, 1), (0, 2),
    (0, 4),                    # Produce v4: no release stops there (0.11 has v3, 1.0 v5)
    (1, 9), (1, 14),           # Fetch: 2.0 has v8, 2.1 v10; 3.4 has v13, 3.5 v15
    (3, 10),                   # Metadata: 2.7 has v9, 2.8 v11
    (9, 2),                    # OffsetFetch: 0.10.2 has v2, but Fetch v3 there is below sluice's v4
    (15, 4),                   # DescribeGroups: 2.3 has v3, 2.4 v5
    (42, 0),                   # DeleteGroups: kafkajs and Debian's clients send v1
    # DeleteRecords: the drivers' admin scenarios do not delete records yet;
    # tests/integration/test_delete_records.py runs it from the PyPI clients.
    (21, 0), (21, 1), (21, 2),
    (22, 3),                   # InitProducerId: 2.5 and 2.6 only (2.4 has v2, 2.7 v4)
    (61, 0),                   # DescribeProducers: Kafka's admin tools only (tests/differential)
    # The admin APIs' versions no driver's scenario reaches: AlterConfigs v2
    # (the clients here use IncrementalAlterConfigs, or AlterConfigs v0-v1);
    # no pinned release stops at DescribeLogDirs v3 or ElectLeaders v1;
    # AlterClientQuotas would store quotas. tests/differential/test_configs.py
    # and test_cluster_apis.py send every version, tests/integration/
    # test_cluster_apis.py AlterClientQuotas on the wire.
    (33, 2), (35, 3), (43, 1), (49, 0), (49, 1),
    # The transaction APIs: the drivers' scenarios run no transactions;
    # tests/compat/test_transactions.py runs them from confluent-kafka and
    # kafkajs, and tests/differential/test_transactions.py every version.
    (24, 0), (24, 1), (24, 2), (24, 3), (24, 4), (24, 5),
    (25, 0), (25, 1), (25, 2), (25, 3), (25, 4),
    (26, 0), (26, 1), (26, 2), (26, 3), (26, 4), (26, 5),
    (27, 0), (27, 1),          # WriteTxnMarkers: brokers' own API, never a client's
    (28, 0), (28, 1), (28, 2), (28, 3), (28, 4),
    (65, 0), (66, 0), (66, 1),
    # Kafka 0.10.x and older: such a client's Produce (v2) and Fetch (v3) are
    # older than sluice serves, so none of them can run the scenarios.
    (3, 2), (3, 3), (8, 0), (8, 1), (9, 0), (11, 0), (11, 1), (12, 0), (13, 0), (14, 0),
}

API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
             9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
             13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
             18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics", 22: "InitProducerId",
             24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
             23: "OffsetForLeaderEpoch", 27: "WriteTxnMarkers", 28: "TxnOffsetCommit",
             32: "DescribeConfigs", 33: "AlterConfigs", 35: "DescribeLogDirs", 37: "CreatePartitions",
             42: "DeleteGroups", 43: "ElectLeaders", 44: "IncrementalAlterConfigs", 47: "OffsetDelete",
             48: "DescribeClientQuotas", 49: "AlterClientQuotas", 60: "DescribeCluster",
             61: "DescribeProducers", 65: "DescribeTransactions",
             66: "ListTransactions"}

# client -> {(api key, version)} sent through the proxy; scenarios run.
SENT = {}
RAN = set()
SENT_LOCK = threading.Lock()


class VersionProxy(capture_proxy.CaptureProxy):
    """The capture proxy, keeping only which (API key, version) went by."""

    def __init__(self):
        super().__init__(upstream_port=None, out_dir=None)
        self.pairs = set()

    def _record(self, frame):
        if len(frame) >= 4:
            with self.lock:
                self.pairs.add(struct.unpack(">hh", frame[:4]))


def command(client, scenario, bootstrap, topic, arg, env_extra):
    """The driver command line, and its environment."""
    env = dict(os.environ, **env_extra)
    tail = [scenario, bootstrap, topic] + ([arg] if arg else [])
    if client in ("confluent-kafka", "kafka-python"):
        cmd = [os.path.join(CLIENTS_DIR, "python", "venv", "bin", "python"),
               os.path.join(ROOT, "tests", "clients", "python", "driver.py"), client] + tail
    elif client in ("franz-go", "sarama"):
        cmd = [os.path.join(CLIENTS_DIR, "go", "bin", "franz" if client == "franz-go" else "sarama")] + tail
    else:
        env["NODE_PATH"] = os.path.join(CLIENTS_DIR, "node", "app", "node_modules")
        cmd = ["node", os.path.join(ROOT, "tests", "clients", "node", "driver.js")] + tail
    if not os.path.exists(cmd[0] if client != "kafkajs" else env["NODE_PATH"]):
        pytest.fail(f"{client} is not installed in {CLIENTS_DIR}: run scripts/install-clients.sh")
    return cmd, env


class Session:
    """One broker behind a VersionProxy; runs drivers through the proxy."""

    def __init__(self, make_broker):
        self.proxy = VersionProxy()
        self.broker = make_broker({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.proxy.port}",
                                   "group.initial.rebalance.delay.ms": "0"})
        self.proxy.upstream_port = self.broker.port
        self.proxy.start()
        self.bootstrap = f"127.0.0.1:{self.proxy.port}"
        self.ops_topics = []

    def create_topic(self, name, partitions):
        """Made directly on the broker, so no client's versions count."""
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        admin.create_topics([NewTopic(name, partitions, 1)])
        admin.close()

    def cluster_id(self):
        from kafka.admin import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            return admin.describe_cluster()["cluster_id"]
        finally:
            admin.close()

    def drive(self, client, scenario, topic, arg=None, env=None):
        cmd, env_all = command(client, scenario, self.bootstrap, topic, arg, env or {})
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_all,
                               timeout=DRIVER_TIMEOUT_S)
        finally:
            who = f"{client}-pinned" if env and "SLUICE_FRANZ_MAX_VERSIONS" in env else client
            with SENT_LOCK:
                SENT.setdefault(who, set()).update(self.proxy.pairs)
                RAN.add((who, scenario))
        lines = p.stdout.decode(errors="replace").strip().splitlines()
        result = json.loads(lines[-1]) if lines else {}
        if p.returncode != 0 or "error" in result:
            raise AssertionError(f"{client} {scenario} failed ({p.returncode}): "
                                 f"{result.get('error')}\n{p.stderr.decode(errors='replace')[-3000:]}")
        return result

    def close(self):
        self.proxy.stop()


@pytest.fixture
def session(make_broker):
    s = Session(make_broker)
    yield s
    s.close()


def kafka_error(name):
    """One spelling for the clients' error names: 'TopicAlreadyExistsError',
    'TOPIC_ALREADY_EXISTS', 'code 36' -> 'TOPIC_ALREADY_EXISTS'."""
    codes = {"code 36": "TOPIC_ALREADY_EXISTS", "code 37": "INVALID_PARTITIONS",
             "code 38": "INVALID_REPLICATION_FACTOR", "code 40": "INVALID_CONFIG",
             "InvalidConfigurationError": "INVALID_CONFIG"}
    if name in codes:
        return codes[name]
    if name.endswith("Error"):
        name = "".join("_" + c if c.isupper() else c.upper() for c in name[:-len("Error")]).lstrip("_")
    return name


def produce_and_check(session, client, codec, env=None):
    topic = f"p-{codec}"
    session.create_topic(topic, PARTITIONS)
    records = session.drive(client, "produce", topic, codec, env)["records"]
    assert len(records) == 3 * PER_ACKS
    for part in range(PARTITIONS):
        mine = sorted((r for r in records if r["p"] == part), key=lambda r: r["o"])
        assert [r["o"] for r in mine] == list(range(len(mine)))
        want = [(acks, i) for acks in (0, 1, -1) for i in range(PER_ACKS) if i % PARTITIONS == part]
        assert [r["v"] for r in mine] == [f"{acks}-{i}-" + "x" * (i % 50) for acks, i in want], part
        assert [(r["k"], r["h"]) for r in mine] == [(f"k{i}", [["n", str(i)]]) for _, i in want]


def group_and_check(session, client, env=None):
    from kafka import KafkaProducer
    topic, group = "g", f"group-{client}"
    session.create_topic(topic, GROUP_PARTITIONS)
    p = KafkaProducer(bootstrap_servers=session.broker.bootstrap, acks="all")
    for i in range(GROUP_MESSAGES):
        p.send(topic, str(i).encode(), partition=i % GROUP_PARTITIONS)
    p.flush()
    p.close()
    r = session.drive(client, "group", topic, group, env)
    assert sorted(int(v) for v in r["values"]) == list(range(GROUP_MESSAGES))
    first, second = r["balanced"]
    assert first and second and sorted(first + second) == list(range(GROUP_PARTITIONS))
    assert group in r["groups"]
    assert r["state"].upper() == "EMPTY"
    assert r["protocol_type"] in ("consumer", "CLASSIC")
    assert r["committed"] == {str(p): GROUP_MESSAGES // GROUP_PARTITIONS for p in range(GROUP_PARTITIONS)}, \
        r.get("commit_errors")
    if "after_offset_delete" in r:
        assert r["after_offset_delete"] == [1, 2, 3]
    if "after_delete" in r:
        assert group not in r["after_delete"]


def times_and_check(session, client, env=None):
    session.create_topic("t", 1)
    r = session.drive(client, "times", "t", None, env)
    assert (r["exact"], r["between"], r["earliest"], r["latest"]) == (5, 5, 0, 10)
    # No record that late: Kafka answers offset -1; kadm and kafkajs show
    # that as the end offset.
    assert r["future"] in (-1, 10)


def admin_and_check(session, client, env=None):
    r = session.drive(client, "admin", "adm", None, env)
    assert r["created"] == "" and r["deleted"] == ""
    assert kafka_error(r["again"]) == "TOPIC_ALREADY_EXISTS"
    assert kafka_error(r["bad_rf"]) == "INVALID_REPLICATION_FACTOR"
    assert r["partitions"] == 2 and r["after"] is False
    if client == "franz-go" and env is None:
        # The cluster APIs on the new, empty topic (pinned releases lack some).
        assert r["cluster"] == {"epoch_end": 0, "log_dir_partitions": 2,
                                "elect": "ELECTION_NOT_NEEDED", "quotas": 0}


ELECTION_NOT_NEEDED = 84


OPS_TOO_OLD = {"v0.11.0", "v1.0"}


def ops_and_check(session, client, env=None):
    """The operator's admin calls, as each client makes them (see the
    drivers' ops scenario): partitions raised, never lowered; a topic's
    retention.ms described, altered and refused when it is not a number; the
    broker's num.partitions; the cluster; and, where the client has them, log
    dirs, leader epochs, elections and client quotas."""
    topic = f"ops-{len(session.ops_topics)}"
    session.ops_topics.append(topic)
    session.create_topic(topic, 2)
    r = session.drive(client, "ops", topic, None, env)
    assert (r["grown"], kafka_error(r["lower"]), r["partitions"]) == ("", "INVALID_PARTITIONS", 4), r
    assert (r["retention_default"], r["altered"], r["retention"]) == ("604800000", "", "3600000"), r
    assert kafka_error(r["bad_config"]) == "INVALID_CONFIG", r
    assert (r["broker_num_partitions"], r["brokers"], r["controller"]) == ("1", 1, 0), r
    if client != "sarama":  # sarama's DescribeCluster does not return the id
        assert r["cluster_id"] == session.cluster_id(), r
    if "described_cluster_id" in r:
        assert (r["described_cluster_id"], r["described_brokers"]) == (session.cluster_id(), 1), r
    if "logdir_partitions" in r:
        assert r["logdir_partitions"] == [0, 1, 2, 3], r
    if "elect_codes" in r:
        assert r["elect_codes"] == [ELECTION_NOT_NEEDED], r
    if "elect" in r:
        assert r["elect"] == "ELECTION_NOT_NEEDED", r
    if "quotas" in r:
        assert r["quotas"] == 0, r


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client", CLIENTS)
def test_produce_every_acks_and_consume_by_assignment(session, client, codec):
    produce_and_check(session, client, codec)


@pytest.mark.parametrize("client", CLIENTS)
def test_consumer_group(session, client):
    group_and_check(session, client)


@pytest.mark.parametrize("client", CLIENTS)
def test_offsets_by_time(session, client):
    times_and_check(session, client)


@pytest.mark.parametrize("client", CLIENTS)
def test_topic_admin(session, client):
    admin_and_check(session, client)


@pytest.mark.parametrize("client", CLIENTS)
def test_operations(session, client):
    ops_and_check(session, client)


@pytest.mark.parametrize("release", PINNED_RELEASES)
def test_franz_go_pinned_to_older_releases(session, release):
    """franz-go capped at the request versions of an older Kafka release, as
    against a cluster of that age: the older versions sluice advertises, on
    the same scenarios (gzip, since zstd needs Produce v7)."""
    env = {"SLUICE_FRANZ_MAX_VERSIONS": release}
    produce_and_check(session, "franz-go", "gzip", env)
    idempotent_and_check(session, "franz-go", f"idem-{release}", env)
    group_and_check(session, "franz-go", env)
    times_and_check(session, "franz-go", env)
    admin_and_check(session, "franz-go", env)
    # DescribeConfigs v0 (Kafka 1.0 and older) is served by neither Kafka 4 nor sluice.
    if release not in OPS_TOO_OLD:
        ops_and_check(session, "franz-go", env)


def test_sarama_list_topics(session):
    """ClusterAdmin.ListTopics asks DescribeConfigs for every topic besides Metadata."""
    session.create_topic("lt", 2)
    assert session.drive("sarama", "list_topics", "lt")["partitions"] == 2


def batch_producer_ids(bootstrap, topic, partition=0):
    """The producer id of every batch in a partition, and its record values."""
    ids, values = [], []
    for batch in kafka_wire.partition_batches(bootstrap, topic, partition):
        ids.append(struct.unpack(">q", batch[43:51])[0])
        values += kafka_wire.batch_values(batch)
    return ids, values


@pytest.mark.parametrize("client", CLIENTS)
def test_producer_defaults(session, client):
    """The producer as each client configures it by default (idempotent for
    kafka-python 3 and franz-go, whose records then carry a producer id);
    bounded by the drivers' own deadlines (about 20 s), so a hang fails the
    test."""
    topic = f"d-{client}"
    session.create_topic(topic, 1)
    r = session.drive(client, "produce_default", topic)
    assert r["produce_error"] == "", r
    ids, _ = batch_producer_ids(session.broker.bootstrap, topic)
    assert ids and all((pid >= 0) == (client in IDEMPOTENT_BY_DEFAULT) for pid in ids), ids


@pytest.mark.parametrize("client", CLIENTS)
def test_idempotent_producer(session, client):
    """Each client with idempotence on (confluent-kafka's enable.idempotence,
    kafka-python's and franz-go's default, sarama's Producer.Idempotent,
    kafkajs' idempotent): InitProducerId, then every record once, in order,
    in batches that carry the producer id."""
    idempotent_and_check(session, client, f"idem-{client}")


def idempotent_and_check(session, client, topic, env=None):
    session.create_topic(topic, 1)
    r = session.drive(client, "produce_idempotent", topic, env=env)
    assert r["produce_error"] == "" and r["sent"] == IDEMPOTENT_RECORDS, r
    ids, values = batch_producer_ids(session.broker.bootstrap, topic)
    assert ids and all(pid >= 0 for pid in ids), ids
    assert values == [b"%d" % i for i in range(IDEMPOTENT_RECORDS)], values[:20]


def test_sarama_idempotent_through_dropped_connections(make_broker):
    """sarama with Producer.Idempotent through a proxy that loses Produce
    responses (the connection cut after the request went through): its
    retries of batches already written are answered as duplicates, so every
    record is in the log once, in order per partition."""
    proxy = dropping_proxy.DroppingProxy()
    b = make_broker({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    proxy.upstream_port = b.port
    proxy.start()
    try:
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        admin.create_topics([NewTopic("idem-numbered", PARTITIONS, 1)])
        admin.close()
        cmd, env = command("sarama", "produce_numbered", f"127.0.0.1:{proxy.port}", "idem-numbered",
                           str(NUMBERED_RECORDS), {})
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=DRIVER_TIMEOUT_S + 60)
        result = json.loads(p.stdout.decode().strip().splitlines()[-1])
        assert result == {"acked": NUMBERED_RECORDS, "failed": 0, "produce_error": ""}, result
        assert proxy.drops > 0, "no connection was dropped: the test proved nothing"
    finally:
        proxy.stop()
    for part in range(PARTITIONS):
        _, values = batch_producer_ids(b.bootstrap, "idem-numbered", part)
        assert values == [b"%d" % i for i in range(part, NUMBERED_RECORDS, PARTITIONS)], \
            f"partition {part}: {len(values)} records, {len(values) - len(set(values))} duplicates"


def api_versions(bootstrap):
    conn = kafka_wire.Conn(bootstrap)
    try:
        err, ranges = kafka_wire.api_versions(conn, 0)
    finally:
        conn.close()
    assert err == 0
    return ranges


def test_debian_clients_versions(session):
    """kcat, confluent-kafka 1.7 and kafka-python 2.0 (Debian's, under this
    python) run capture_proxy.py's client session through the proxy."""
    import kafka
    import confluent_kafka
    assert kafka.__version__.startswith("2.") and confluent_kafka.version()[0].startswith("1.")
    try:
        capture_proxy.kcat_session(session.bootstrap)
        capture_proxy.confluent_session(session.bootstrap)
        capture_proxy.kafka_python_session(session.bootstrap)
    finally:
        with SENT_LOCK:
            SENT.setdefault("debian", set()).update(session.proxy.pairs)
            RAN.add(("debian", "session"))


def test_every_advertised_version_is_sent(broker):
    """Runs last: over every client above, which advertised (API, version)
    pairs went unsent. Fails when one that some client sent is no longer sent
    (coverage dropped) or when sluice advertises a pair no client sends and
    UNSENT does not list it."""
    wanted = {(c, s) for c in CLIENTS for s in ("produce", "group", "times", "admin")} | {("debian", "session")}
    if not wanted <= RAN:
        pytest.skip("needs the whole file: the client tests collect what was sent")
    advertised = {(k, v) for k, (lo, hi) in api_versions(broker.bootstrap).items() for v in range(lo, hi + 1)}
    sent = set().union(*SENT.values())
    unsent = advertised - sent
    print("\n(API, version) sent by each client; '-' advertised, sent by none")
    for key in sorted({k for k, _ in advertised}):
        versions = sorted(v for k, v in advertised if k == key)
        row = []
        for v in versions:
            who = [c for c in sorted(SENT) if (key, v) in SENT[c]]
            row.append(f"v{v}:{'+'.join(who) or '-'}")
        print(f"  {key:2d} {API_NAMES.get(key, '?'):16s} {' '.join(row)}")
    print("unsent:", sorted(unsent))
    outside = sorted(sent - advertised)
    print("sent but not advertised (the broker answered them as unsupported):", outside)
    assert unsent <= UNSENT, f"advertised but sent by no client, and not in UNSENT: {sorted(unsent - UNSENT)}"
    stale = UNSENT - unsent
    assert not stale, f"sent by some client now, or no longer advertised: drop from UNSENT: {sorted(stale)}"
