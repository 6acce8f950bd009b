"""CreatePartitions with unmodified clients under Debian's python3
(confluent-kafka's and kafka-python's admin clients) and librdkafka's C admin
API: a topic grows, validate_only changes nothing, a count not above the
current one is INVALID_PARTITIONS, a consumer group consuming while the topic
grows rebalances onto the new partitions and loses nothing, and the count
survives a restart and a kill -9 right after the answer."""
import os
import re
import struct
import threading
import time
import urllib.request

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
kafka = pytest.importorskip("kafka")
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # noqa: E402
from kafka.admin import KafkaAdminClient, NewPartitions as KpNewPartitions  # noqa: E402
from kafka.errors import InvalidPartitionsError  # noqa: E402

import kafka_wire  # noqa: E402
from conftest import KAFKA_PYTHON_PROBE, run, scaled  # noqa: E402

ADMIN_TIMEOUT_S = 30
DEADLINE_S = 90


def admin_of(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def result_of(futures, name):
    """The error of one topic's admin future, or None."""
    try:
        futures[name].result(ADMIN_TIMEOUT_S)
        return None
    except KafkaException as e:
        return e.args[0]


def create_topic(admin, name, partitions):
    assert result_of(admin.create_topics([NewTopic(name, partitions, 1)]), name) is None


def partition_count(admin, name):
    md = admin.list_topics(name, timeout=ADMIN_TIMEOUT_S)
    t = md.topics[name]
    assert t.error is None, t.error
    return len(t.partitions)


def produce_to_each(bootstrap, topic, partitions, per_partition, tag):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    failed = []
    for i in range(partitions * per_partition):
        p.produce(topic, value=b"%s-%d" % (tag, i), partition=i % partitions,
                  on_delivery=lambda err, msg: err and failed.append(err))
        p.poll(0)
    assert p.flush(ADMIN_TIMEOUT_S) == 0
    assert not failed, failed


def consume_all(bootstrap, topic, partitions, expect):
    """Every record of the topic's partitions, read by assignment."""
    from confluent_kafka import TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cp-reader",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, k, 0) for k in range(partitions)])
    got = []
    deadline = time.time() + DEADLINE_S
    while len(got) < expect and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append((m.partition(), m.value()))
    c.close()
    return got


def test_confluent_admin(broker):
    admin = admin_of(broker)
    create_topic(admin, "cp-grow", 2)
    assert result_of(admin.create_partitions([NewPartitions("cp-grow", 5)]), "cp-grow") is None
    assert partition_count(admin, "cp-grow") == 5

    err = result_of(admin.create_partitions([NewPartitions("cp-grow", 5)]), "cp-grow")
    assert err.code() == KafkaError.INVALID_PARTITIONS
    assert err.str() == "Topic already has 5 partition(s)."
    err = result_of(admin.create_partitions([NewPartitions("cp-grow", 3)]), "cp-grow")
    assert err.code() == KafkaError.INVALID_PARTITIONS
    assert err.str() == ("The topic cp-grow currently has 5 partition(s); 3 would not be an "
                         "increase.")

    fs = admin.create_partitions([NewPartitions("cp-grow", 9)], validate_only=True)
    assert result_of(fs, "cp-grow") is None
    assert partition_count(admin, "cp-grow") == 5

    err = result_of(admin.create_partitions([NewPartitions("cp-missing", 4)]), "cp-missing")
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART

    err = result_of(admin.create_partitions([NewPartitions("cp-grow", 7, [[0], [7]])]), "cp-grow")
    assert err.code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert "broker 7" in err.str()
    assert result_of(admin.create_partitions([NewPartitions("cp-grow", 7, [[0], [0]])]),
                     "cp-grow") is None
    assert partition_count(admin, "cp-grow") == 7

    produce_to_each(broker.bootstrap, "cp-grow", 7, 20, b"a")
    got = consume_all(broker.bootstrap, "cp-grow", 7, 140)
    assert sorted(v for _, v in got) == sorted(b"a-%d" % i for i in range(140))
    assert {k for k, _ in got} == set(range(7))


def test_kafka_python_admin(broker):
    create_topic(admin_of(broker), "cp-kp", 1)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **KAFKA_PYTHON_PROBE)
    try:
        admin.create_partitions({"cp-kp": KpNewPartitions(4)}, validate_only=True)
        assert partition_count(admin_of(broker), "cp-kp") == 1
        admin.create_partitions({"cp-kp": KpNewPartitions(4)})
        assert partition_count(admin_of(broker), "cp-kp") == 4
        with pytest.raises(InvalidPartitionsError):
            admin.create_partitions({"cp-kp": KpNewPartitions(2)})
    finally:
        admin.close()
    assert partition_count(admin_of(broker), "cp-kp") == 4


def test_internal_topic_refused(broker):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "cp-internal"})
    c.subscribe(["cp-anything"])
    c.poll(2)
    c.close()
    admin = admin_of(broker)
    err = result_of(admin.create_partitions([NewPartitions("__consumer_offsets", 200)]),
                    "__consumer_offsets")
    assert err is not None and err.code() == KafkaError.INVALID_REQUEST


class GroupReader(threading.Thread):
    """One group member consuming the topic until told to stop; the
    partitions it was ever assigned and every value it read."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cp-group",
                           "auto.offset.reset": "earliest", "enable.auto.commit": True,
                           "topic.metadata.refresh.interval.ms": 1000,
                           "session.timeout.ms": 10000})
        self.topic = topic
        self.assigned = set()
        self.values = []
        self.stop = threading.Event()

    def on_assign(self, consumer, parts):
        self.assigned.update(p.partition for p in parts)

    def run(self):
        self.c.subscribe([self.topic], on_assign=self.on_assign)
        while not self.stop.is_set():
            m = self.c.poll(0.2)
            if m is not None and not m.error():
                self.values.append(m.value())
        self.c.close()


def test_group_rebalances_onto_new_partitions(broker):
    admin = admin_of(broker)
    create_topic(admin, "cp-live", 2)
    reader = GroupReader(broker.bootstrap, "cp-live")
    reader.start()
    per_partition = scaled(200)
    try:
        produce_to_each(broker.bootstrap, "cp-live", 2, per_partition, b"before")
        assert result_of(admin.create_partitions([NewPartitions("cp-live", 6)]), "cp-live") is None
        produce_to_each(broker.bootstrap, "cp-live", 6, per_partition, b"after")
        expect = {b"before-%d" % i for i in range(2 * per_partition)}
        expect |= {b"after-%d" % i for i in range(6 * per_partition)}
        deadline = time.time() + DEADLINE_S
        while time.time() < deadline and not expect <= set(reader.values):
            time.sleep(0.2)
    finally:
        reader.stop.set()
        reader.join(ADMIN_TIMEOUT_S)
    assert reader.assigned == set(range(6))
    assert expect - set(reader.values) == set()
    assert set(reader.values) == expect


def test_count_survives_restart(make_broker):
    b = make_broker()
    admin = admin_of(b)
    create_topic(admin, "cp-restart", 3)
    assert result_of(admin.create_partitions([NewPartitions("cp-restart", 8)]),
                     "cp-restart") is None
    produce_to_each(b.bootstrap, "cp-restart", 8, 10, b"r")
    assert b.stop() == 0
    b.start()
    assert partition_count(admin_of(b), "cp-restart") == 8
    got = consume_all(b.bootstrap, "cp-restart", 8, 80)
    assert sorted(v for _, v in got) == sorted(b"r-%d" % i for i in range(80))


def test_kill9_right_after_growth(make_broker):
    b = make_broker()
    admin = admin_of(b)
    create_topic(admin, "cp-crash", 2)
    produce_to_each(b.bootstrap, "cp-crash", 2, 10, b"c")
    assert result_of(admin.create_partitions([NewPartitions("cp-crash", 5)]),
                     "cp-crash") is None
    b.kill9()
    b.start()
    assert partition_count(admin_of(b), "cp-crash") == 5
    produce_to_each(b.bootstrap, "cp-crash", 5, 4, b"d")
    got = consume_all(b.bootstrap, "cp-crash", 5, 40)
    values = sorted(v for _, v in got)
    assert values == sorted([b"c-%d" % i for i in range(20)] + [b"d-%d" % i for i in range(20)])


def test_rdkafka_c_create_partitions(broker):
    exe = os.path.join(os.environ.get("SLUICE_TEST_BIN_DIR", "build/tests"),
                       "create_partitions_client")
    run([exe, broker.bootstrap, "cp-c"], timeout=120)


def test_stale_directory_of_cut_growth(make_broker):
    """A crash between opening the new logs and recording the topic leaves
    directories past the recorded count: the next growth starts them anew."""
    b = make_broker()
    admin = admin_of(b)
    create_topic(admin, "cp-stale", 1)
    b.stop()
    stale = os.path.join(b.data_dir, "cp-stale-1")
    os.makedirs(stale)
    with open(os.path.join(stale, "00000000000000000000.log"), "wb") as f:
        f.write(kafka_wire.record_batch([b"stale"]))
    b.start()
    admin = admin_of(b)
    assert partition_count(admin, "cp-stale") == 1
    assert result_of(admin.create_partitions([NewPartitions("cp-stale", 2)]), "cp-stale") is None
    produce_to_each(b.bootstrap, "cp-stale", 2, 5, b"s")
    got = consume_all(b.bootstrap, "cp-stale", 2, 10)
    assert sorted(v for _, v in got) == sorted(b"s-%d" % i for i in range(10))


def test_growth_answered_at_once(make_broker):
    """With one io shard, the control shard's own, every new log opens
    before the growth call returns: the answer is still sent once."""
    b = make_broker({"num.network.threads": "2", "num.io.threads": "1"})
    admin = admin_of(b)
    create_topic(admin, "cp-local", 1)
    for count in (2, 3):
        fs = admin.create_partitions([NewPartitions("cp-local", count)])
        assert result_of(fs, "cp-local") is None
    assert partition_count(admin, "cp-local") == 3
    produce_to_each(b.bootstrap, "cp-local", 3, 5, b"l")
    got = consume_all(b.bootstrap, "cp-local", 3, 15)
    assert sorted(v for _, v in got) == sorted(b"l-%d" % i for i in range(15))


def shard_partitions(b):
    """sluice_partitions per io shard, from the metrics page."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{b.metrics_port}/metrics",
                                  timeout=ADMIN_TIMEOUT_S).read().decode()
    return {int(k): int(v) for k, v in re.findall(r'^sluice_partitions\{shard="(\d+)"\} (\d+)$',
                                                    body, re.M)}


@pytest.mark.parametrize("io_shards", [2, 3])
def test_new_partitions_balanced_over_io_shards(make_broker, io_shards):
    """New partitions go to the least-loaded io shards, as creation's do."""
    b = make_broker({"num.network.threads": "1", "num.io.threads": str(io_shards)})
    admin = admin_of(b)
    create_topic(admin, "cp-balance", 1)
    for count in (2, 5, 8):
        assert result_of(admin.create_partitions([NewPartitions("cp-balance", count)]),
                         "cp-balance") is None
        load = shard_partitions(b)
        assert sorted(load) == list(range(io_shards)) and sum(load.values()) == count, load
        assert max(load.values()) - min(load.values()) <= 1, load


def create_partitions_v1_frame(corr, topic, count):
    body = (struct.pack(">i", 1) + kafka_wire.string(topic) + struct.pack(">ii", count, -1)
            + struct.pack(">ib", ADMIN_TIMEOUT_S * 1000, 0))
    frame = struct.pack(">hhi", 37, 1, corr) + kafka_wire.string("it") + body
    return struct.pack(">i", len(frame)) + frame


def create_partitions_v1_result(frame):
    """(error code, message) of a one-topic v1 response."""
    pos = 4 + 4 + 4  # correlation id, throttle time, results count
    name_len = struct.unpack(">h", frame[pos:pos + 2])[0]
    pos += 2 + name_len
    code, msg_len = struct.unpack(">hh", frame[pos:pos + 4])
    msg = None if msg_len < 0 else frame[pos + 4:pos + 4 + msg_len].decode()
    return code, msg


def test_pipelined_growths_of_one_topic(make_broker):
    """Requests for a topic being grown are checked once it has grown, one
    after the other, as Kafka's controller applies them: the second asking
    for the same count is INVALID_PARTITIONS, the third grows it further."""
    b = make_broker({"num.network.threads": "2", "num.io.threads": "2"})
    admin = admin_of(b)
    create_topic(admin, "cp-queue", 1)
    conn = kafka_wire.Conn(b.bootstrap, timeout=ADMIN_TIMEOUT_S)
    try:
        conn.send_raw(b"".join(create_partitions_v1_frame(corr, "cp-queue", count)
                               for corr, count in ((1, 2), (2, 2), (3, 4))))
        results = [create_partitions_v1_result(conn.response()) for _ in range(3)]
    finally:
        conn.close()
    assert results == [(0, None), (37, "Topic already has 2 partition(s)."), (0, None)]
    assert partition_count(admin, "cp-queue") == 4


def topic_configs(admin, name):
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource("topic", name)
    return {k: v.value for k, v in admin.describe_configs([res])[res].result(ADMIN_TIMEOUT_S).items()}


def test_growth_keeps_the_configs_altered_before_it(make_broker, data_dir):
    """A topic grown after an AlterConfigs keeps the altered configs, in
    DescribeConfigs, across a restart, and in its new partitions' logs
    (segment.bytes rolls the new partition's segments)."""
    from confluent_kafka.admin import ConfigResource
    b = make_broker()
    admin = admin_of(b)
    create_topic(admin, "grow-cfg", 1)
    res = ConfigResource("topic", "grow-cfg", set_config={"retention.ms": "3600000",
                                                          "segment.bytes": "4096"})
    admin.alter_configs([res])[res].result(ADMIN_TIMEOUT_S)
    assert result_of(admin.create_partitions([NewPartitions("grow-cfg", 3)]), "grow-cfg") is None
    assert partition_count(admin, "grow-cfg") == 3
    configs = topic_configs(admin, "grow-cfg")
    assert (configs["retention.ms"], configs["segment.bytes"]) == ("3600000", "4096")
    for _ in range(8):  # one batch a round: each 1 KiB, so 4 KiB segments roll
        produce_to_each(b.bootstrap, "grow-cfg", 3, 5, b"v" * 200)
    segments = [f for f in os.listdir(os.path.join(data_dir, "grow-cfg-2")) if f.endswith(".log")]
    assert len(segments) > 1, segments
    b.stop()
    b.start()
    configs = topic_configs(admin_of(b), "grow-cfg")
    assert (configs["retention.ms"], configs["segment.bytes"]) == ("3600000", "4096")
