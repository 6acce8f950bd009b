"""Kafka's own command-line tools against sluice, run by their main classes
with Kafka's jars on the classpath (SLUICE_KAFKA_CLASSPATH, else
scripts/kafka-peer.sh classpath): kafka-topics, kafka-configs,
kafka-consumer-groups, the console producer and consumer, the producer and
consumer perf tests, and kafka-dump-log reading sluice's .log, .index and
.timeindex files. And the reverse: partition directories Kafka wrote, served
by sluice. A tool that needs an API sluice does not serve yet must fail
clearly and quickly; what ApiVersions advertises says which to expect, so the
same test checks the real output once sluice serves the API."""
import glob
import os
import re
import shutil
import subprocess
import time
import zipfile

import pytest

from kafka_peer import classpath, kafka_node, stop_node
from kafka_wire import Conn, api_versions

# Each tool's main class, newest first (Kafka 4.x moved most to
# org.apache.kafka.tools); the first one the jars hold is used.
MAIN_CLASSES = {
    "topics": ["org.apache.kafka.tools.TopicCommand", "kafka.admin.TopicCommand"],
    "configs": ["org.apache.kafka.tools.ConfigCommand", "kafka.admin.ConfigCommand"],
    "consumer-groups": ["org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                        "kafka.admin.ConsumerGroupCommand"],
    "console-producer": ["org.apache.kafka.tools.ConsoleProducer", "kafka.tools.ConsoleProducer"],
    "console-consumer": ["org.apache.kafka.tools.consumer.ConsoleConsumer",
                         "kafka.tools.ConsoleConsumer"],
    "producer-perf-test": ["org.apache.kafka.tools.ProducerPerformance"],
    "consumer-perf-test": ["org.apache.kafka.tools.ConsumerPerformance",
                           "kafka.tools.ConsumerPerformance"],
    "dump-log": ["org.apache.kafka.tools.DumpLogSegments", "kafka.tools.DumpLogSegments"],
    "transactions": ["org.apache.kafka.tools.TransactionsCommand"],
}
# One tool run: a JVM start, a few requests; generous for a shared machine.
TOOL_TIMEOUT_S = 120
# A tool that meets an API sluice lacks must say so within this.
CLEAR_ERROR_WITHIN_S = 30
TOOL_HEAP = "-Xmx256m"
LOG4J2 = """rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
"""
DESCRIBE_CONFIGS = 32
CREATE_PARTITIONS = 37
# Kafka 4.x's tools refuse a smaller segment.bytes before sending.
SEGMENT_BYTES = 1 << 20
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
NO_IDEMPOTENCE = ["--producer-property", "enable.idempotence=false"]


def jars_of(cp):
    for part in cp.split(":"):
        yield from sorted(glob.glob(part)) if part.endswith("*") else [part]


class Tools:
    def __init__(self, cp, work_dir):
        self.cp = cp
        names = set()
        for jar in jars_of(cp):
            if jar.endswith(".jar"):
                with zipfile.ZipFile(jar) as z:
                    names.update(n[:-len(".class")].replace("/", ".") for n in z.namelist()
                                 if n.endswith(".class"))
        self.main = {}
        for tool, candidates in MAIN_CLASSES.items():
            found = [c for c in candidates if c in names]
            assert found, f"no main class for kafka-{tool} in the classpath: {candidates}"
            self.main[tool] = found[0]
        self.log4j2 = os.path.join(work_dir, "tools-log4j2.properties")
        with open(self.log4j2, "w") as f:
            f.write(LOG4J2)

    def run(self, tool, *args, input_text=None, timeout=TOOL_TIMEOUT_S):
        """Runs kafka-<tool>; returns (exit code, stdout, stderr, seconds)."""
        cmd = ["java", TOOL_HEAP, f"-Dlog4j2.configurationFile={self.log4j2}", "-cp", self.cp,
               self.main[tool], *args]
        start = time.monotonic()
        p = subprocess.run(cmd, input=input_text, capture_output=True, text=True,
                           timeout=timeout, stdin=None if input_text is not None else subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - start

    def ok(self, tool, *args, **kw):
        rc, out, err, _ = self.run(tool, *args, **kw)
        assert rc == 0, f"kafka-{tool} {' '.join(args)} exited {rc}:\n{out[-3000:]}\n{err[-3000:]}"
        return out


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    return Tools(classpath(), str(tmp_path_factory.mktemp("kafka-tools")))


def advertises(broker, api_key):
    c = Conn(broker.bootstrap)
    err, ranges = api_versions(c)
    c.close()
    assert err == 0
    return api_key in ranges


def assert_unserved(tools, api_name, tool, *args):
    """The tool fails, names the API it missed, and does so quickly."""
    rc, out, err, seconds = tools.run(tool, *args)
    assert rc != 0, f"kafka-{tool} succeeded without {api_name}:\n{out}"
    assert f"does not support {api_name}" in out + err, out + err
    assert seconds < CLEAR_ERROR_WITHIN_S, f"kafka-{tool} took {seconds:.1f} s to fail"


def test_topics_create_list_describe_delete(broker, tools):
    b = ["--bootstrap-server", broker.bootstrap]
    out = tools.ok("topics", *b, "--create", "--topic", "tools-t", "--partitions", "3",
                   "--replication-factor", "1", "--config", "retention.ms=3600000")
    assert "Created topic tools-t." in out
    rc, out, err, _ = tools.run("topics", *b, "--create", "--topic", "tools-t", "--partitions", "1")
    assert rc != 0 and "already exists" in out + err
    assert "tools-t" in tools.ok("topics", *b, "--list").split()
    describe = ["topics", *b, "--describe", "--topic", "tools-t"]
    if advertises(broker, DESCRIBE_CONFIGS):
        out = tools.ok(*describe)
        assert re.search(r"Topic: tools-t\s+TopicId: \S+\s+PartitionCount: 3\s+ReplicationFactor: 1", out), out
        assert "retention.ms=3600000" in out
        assert len(re.findall(r"Partition: \d\s+Leader: 0\s+Replicas: 0\s+Isr: 0", out)) == 3, out
    else:
        # kafka-topics --describe asks each topic's configs first.
        assert_unserved(tools, "DESCRIBE_CONFIGS", *describe)
    alter = ["topics", *b, "--alter", "--topic", "tools-t", "--partitions", "5"]
    if advertises(broker, CREATE_PARTITIONS):
        tools.ok(*alter)
    else:
        assert_unserved(tools, "CREATE_PARTITIONS", *alter)
    tools.ok("topics", *b, "--delete", "--topic", "tools-t")
    deadline = time.monotonic() + 30
    while "tools-t" in tools.ok("topics", *b, "--list").split():
        assert time.monotonic() < deadline, "deleted topic still listed"
        time.sleep(0.5)


def test_configs_describe(broker, tools):
    b = ["--bootstrap-server", broker.bootstrap]
    tools.ok("topics", *b, "--create", "--topic", "tools-cfg", "--partitions", "1",
             "--replication-factor", "1", "--config", "retention.ms=3600000")
    topic = ["configs", *b, "--describe", "--entity-type", "topics", "--entity-name", "tools-cfg"]
    brokers = ["configs", *b, "--describe", "--entity-type", "brokers", "--entity-name", "0"]
    if advertises(broker, DESCRIBE_CONFIGS):
        assert "retention.ms=3600000" in tools.ok(*topic)
        tools.ok(*brokers)
    else:
        assert_unserved(tools, "DESCRIBE_CONFIGS", *topic)
        assert_unserved(tools, "DESCRIBE_CONFIGS", *brokers)


def console_round_trip(broker, tools, topic, count):
    lines = "".join(f"k{i}:value {i}\n" for i in range(count))
    tools.ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic,
             "--property", "parse.key=true", "--property", "key.separator=:", *NO_IDEMPOTENCE,
             input_text=lines)
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic,
                   "--from-beginning", "--max-messages", str(count), "--timeout-ms", "30000",
                   "--property", "print.key=true", "--group", f"{topic}-group")
    got = sorted(line for line in out.splitlines() if line.startswith("k"))
    assert got == sorted(f"k{i}\tvalue {i}" for i in range(count)), out[-2000:]


def test_console_producer_and_consumer(broker, tools):
    console_round_trip(broker, tools, "tools-console", 25)


def test_console_producer_defaults(broker, tools):
    """The console producer's defaults are the client's: idempotent. The
    records land once each, and Kafka's kafka-transactions tool lists the
    producer (DescribeProducers)."""
    tools.ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", "tools-default",
             input_text="one\ntwo\n")
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic",
                   "tools-default", "--from-beginning", "--max-messages", "2", "--timeout-ms", "30000")
    assert out.split() == ["one", "two"], out
    out = tools.ok("transactions", "--bootstrap-server", broker.bootstrap, "describe-producers",
                   "--topic", "tools-default", "--partition", "0")
    # ProducerId, epoch 0, coordinator epoch -1 (none), last sequence 1, a
    # timestamp, no transaction.
    assert re.search(r"^\d+\s+0\s+-1\s+1\s+\d+\s+None\s*$", out, re.M), out


def test_consumer_groups_list_describe_reset(broker, tools):
    b = ["--bootstrap-server", broker.bootstrap]
    tools.ok("topics", *b, "--create", "--topic", "tools-cg", "--partitions", "2",
             "--replication-factor", "1")
    console_round_trip(broker, tools, "tools-cg", 10)
    group = "tools-cg-group"
    assert group in tools.ok("consumer-groups", *b, "--list").split()
    out = tools.ok("consumer-groups", *b, "--describe", "--group", group)
    rows = re.findall(rf"^{group}\s+tools-cg\s+(\d)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)
    assert len(rows) == 2 and all(cur == end and lag == "0" for _, cur, end, lag in rows), out
    assert sum(int(end) for _, _, end, _ in rows) == 10
    out = tools.ok("consumer-groups", *b, "--describe", "--group", group, "--state")
    assert re.search(rf"^{group}\s+\S+\s+\(0\)\s+\S+\s+Empty\s+0", out, re.M), out
    reset = ["consumer-groups", *b, "--reset-offsets", "--group", group, "--topic", "tools-cg",
             "--to-earliest"]
    out = tools.ok(*reset, "--dry-run")
    assert sorted(re.findall(rf"^{group}\s+tools-cg\s+(\d)\s+(\d+)", out, re.M)) == [("0", "0"), ("1", "0")], out
    out = tools.ok("consumer-groups", *b, "--describe", "--group", group)
    assert "LAG" in out and not re.search(rf"^{group}\s+tools-cg\s+\d\s+0\s", out, re.M), \
        "--dry-run changed the group's offsets:\n" + out
    tools.ok(*reset, "--execute")
    out = tools.ok("consumer-groups", *b, "--describe", "--group", group)
    lags = re.findall(rf"^{group}\s+tools-cg\s+\d\s+0\s+(\d+)\s+(\d+)", out, re.M)
    assert len(lags) == 2 and all(end == lag for end, lag in lags), out
    out = tools.ok("consumer-groups", *b, "--delete", "--group", group)
    assert "was successful" in out
    assert group not in tools.ok("consumer-groups", *b, "--list").split()


def test_perf_tests_complete_and_report(broker, tools):
    records = 20000
    tools.ok("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "tools-perf",
             "--partitions", "2", "--replication-factor", "1")
    out = tools.ok("producer-perf-test", "--topic", "tools-perf", "--num-records", str(records),
                   "--record-size", "200", "--throughput", "-1", "--producer-props",
                   f"bootstrap.servers={broker.bootstrap}", "acks=1", "enable.idempotence=false",
                   "compression.type=lz4")
    summary = re.search(r"^(\d+) records sent, [\d.]+ records/sec .* ms avg latency", out, re.M)
    assert summary and int(summary.group(1)) == records, out
    print(summary.group(0))
    out = tools.ok("consumer-perf-test", "--bootstrap-server", broker.bootstrap, "--topic",
                   "tools-perf", "--messages", str(records), "--timeout", "30000")
    header, values = [line for line in out.splitlines() if "," in line][-2:]
    row = dict(zip((h.strip() for h in header.split(",")), (v.strip() for v in values.split(","))))
    print(row)
    assert int(row["data.consumed.in.nMsg"]) == records, out


def dump(tools, files, *mode):
    return tools.ok("dump-log", "--files", ",".join(files), *mode)


def assert_clean_dump(out, bases):
    """No complaint from DumpLogSegments; the one it prints for any multi-file
    dump, Kafka's own included ("-1 is followed by" a later segment's base
    offset), is not a complaint about the files."""
    complaints = [line for line in out.splitlines()
                  if re.search(r"corrupt|mismatch|invalid|out of order|not consecutive|"
                               r"exception|error", line, re.I) and "isvalid: true" not in line]
    assert not complaints, "\n".join(complaints[:20])
    pairs = re.findall(r"^\s+(-?\d+) is followed by (\d+)$", out, re.M)
    assert all(first == "-1" and int(then) in bases for first, then in pairs), pairs


def produce_codecs(tools, bootstrap, topic, per_codec):
    for codec in CODECS:
        tools.ok("producer-perf-test", "--topic", topic, "--num-records", str(per_codec),
                 "--record-size", "300", "--throughput", "-1", "--producer-props",
                 f"bootstrap.servers={bootstrap}", "acks=1", "enable.idempotence=false",
                 f"compression.type={codec}", "linger.ms=5")


def test_dump_log_decodes_sluice_segments(make_broker, tools):
    broker = make_broker()
    tools.ok("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "tools-dump",
             "--partitions", "1", "--replication-factor", "1", "--config", f"segment.bytes={SEGMENT_BYTES}")
    per_codec = 2500
    produce_codecs(tools, broker.bootstrap, "tools-dump", per_codec)
    assert broker.stop() == 0
    part = os.path.join(broker.data_dir, "tools-dump-0")
    logs = sorted(glob.glob(os.path.join(part, "*.log")))
    assert len(logs) >= 3, f"no segment roll: {logs}"
    bases = {int(os.path.basename(p)[:-4]) for p in logs}
    files = [p[:-4] + ext for p in logs for ext in (".log", ".index", ".timeindex")]
    assert all(os.path.exists(f) for f in files), files

    out = dump(tools, files, "--deep-iteration")
    assert_clean_dump(out, bases)
    batches = re.findall(r"^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) .* compresscodec: (\w+) "
                         r"crc: \d+ isvalid: (\w+)", out, re.M)
    assert {v for *_, v in batches} == {"true"}
    assert {c for *_, c, _ in batches} == {"none", "gzip", "snappy", "lz4", "zstd"}
    assert sum(int(n) for _, _, n, _, _ in batches) == per_codec * len(CODECS)
    records = re.findall(r"^\| offset: (\d+) ", out, re.M)
    assert [int(o) for o in records] == list(range(per_codec * len(CODECS)))
    index_entries = re.findall(r"^offset: (\d+) position: (\d+)$", out, re.M)
    assert index_entries, "the offset indexes are empty"
    assert re.search(r"^timestamp: \d+ offset: \d+$", out, re.M), "the time indexes are empty"

    for mode in (["--verify-index-only"], ["--index-sanity-check"]):
        out = dump(tools, files, *mode)
        assert_clean_dump(out, bases)
    assert out.count("passed sanity check") >= 2 * (len(logs) - 1), out


def test_dump_log_decodes_compacted_segments(make_broker, tools):
    """Segments the cleaner rewrote (gaps between offsets, batches emptied
    of records, every codec recompressed) decode in kafka-dump-log, every
    batch's CRC valid and every kept record at its own offset."""
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic
    broker = make_broker({"log.cleaner.backoff.ms": 50, "num.io.threads": 1})
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    config = {"cleanup.policy": "compact", "segment.bytes": "32768",
              "min.cleanable.dirty.ratio": "0.01"}
    for f in a.create_topics([NewTopic("tools-compacted", 1, 1, config=config)]).values():
        f.result(30)
    keys = 200
    for codec in CODECS:
        p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5,
                                      "compression.type": codec})
        for i in range(3000):
            p.produce("tools-compacted", key=b"k%d" % (i % keys), value=os.urandom(40), partition=0)
            p.poll(0)
        assert p.flush(60) == 0
    # Wait on what the cleaner removed, not on its passes: under ASan its
    # first two passes can end while the producers are still writing.
    produced = 3000 * len(CODECS)
    deadline = time.time() + 120
    while time.time() < deadline and \
            broker.metrics().get("sluice_log_cleaner_records_dropped_total", 0) < produced * 0.6:
        time.sleep(0.2)
    assert broker.stop() == 0
    part = os.path.join(broker.data_dir, "tools-compacted-0")
    logs = sorted(glob.glob(os.path.join(part, "*.log")))
    bases = {int(os.path.basename(p)[:-4]) for p in logs}
    files = [p[:-4] + ext for p in logs for ext in (".log", ".index", ".timeindex")]
    out = dump(tools, files, "--deep-iteration")
    assert_clean_dump(out, bases)
    batches = re.findall(r"^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) .* compresscodec: (\w+) "
                         r"crc: \d+ isvalid: (\w+)", out, re.M)
    assert batches and {v for *_, v in batches} == {"true"}
    records = [int(o) for o in re.findall(r"^\| offset: (\d+) ", out, re.M)]
    assert records == sorted(set(records))
    assert len(records) < produced / 2, "nothing was cleaned"


PER_CODEC = 2500


ADOPT_MAX_MESSAGE_BYTES = 2000


@pytest.fixture(scope="module")
def kafka_log_dir(tmp_path_factory, tools):
    """Log dirs of a Kafka 4.x of our own, stopped: topic from-kafka (every
    codec, segment rolls), adopt-me (two records, auto-created), adopt-idem
    (three records from an idempotent producer: Kafka's producer state
    snapshot at its clean shutdown), adopt-cfg
    (three partitions, topic configs) and group g-kafka's committed offsets,
    with what Kafka said of them (a dict beside the path)."""
    peer_dir = str(tmp_path_factory.mktemp("kafka"))
    with kafka_node(peer_dir, own=True) as bootstrap:
        tools.ok("topics", "--bootstrap-server", bootstrap, "--create", "--topic", "from-kafka",
                 "--partitions", "1", "--replication-factor", "1", "--config",
                 f"segment.bytes={SEGMENT_BYTES}")
        produce_codecs(tools, bootstrap, "from-kafka", PER_CODEC)
        tools.ok("console-producer", "--bootstrap-server", bootstrap, "--topic", "adopt-me",
                 *NO_IDEMPOTENCE, input_text="a\nb\n")
        tools.ok("console-producer", "--bootstrap-server", bootstrap, "--topic", "adopt-idem",
                 input_text="x\ny\nz\n")
        tools.ok("topics", "--bootstrap-server", bootstrap, "--create", "--topic", "adopt-cfg",
                 "--partitions", "3", "--replication-factor", "1",
                 "--config", f"max.message.bytes={ADOPT_MAX_MESSAGE_BYTES}",
                 "--config", "message.timestamp.type=LogAppendTime",
                 "--config", "local.retention.ms=-2")
        tools.ok("console-consumer", "--bootstrap-server", bootstrap, "--topic", "adopt-me",
                 "--group", "g-kafka", "--from-beginning", "--max-messages", "2",
                 "--timeout-ms", "30000")
        said = {"g-kafka": group_offsets(tools, bootstrap, "g-kafka"),
                "ids": topic_ids(tools, bootstrap)}
        stop_node(peer_dir)
    return os.path.join(peer_dir, "data"), said


def group_offsets(tools, bootstrap, group):
    """{(topic, partition): committed offset} as kafka-consumer-groups shows it."""
    out = tools.ok("consumer-groups", "--bootstrap-server", bootstrap, "--describe", "--group", group)
    rows = re.findall(rf"^{re.escape(group)}\s+(\S+)\s+(\d+)\s+(\d+|-)\s", out, re.M)
    return {(t, int(p)): c for t, p, c in rows}


def topic_ids(tools, bootstrap):
    """{topic: id} as kafka-topics --describe shows it (Kafka's own tool
    describes configs too, which sluice does not serve yet, so only Kafka is
    asked)."""
    out = tools.ok("topics", "--bootstrap-server", bootstrap, "--describe")
    return dict(re.findall(r"^Topic: (\S+)\s+TopicId: (\S+)", out, re.M))


def test_sluice_serves_partitions_kafka_wrote(kafka_log_dir, make_broker, tools):
    """Kafka's partition directory goes into a sluice whose own metadata
    records the topic (sluice finds topics by that record, not by directory:
    see the test below); sluice recovers it, changing nothing, serves every
    record and appends after them."""
    kafka_part = os.path.join(kafka_log_dir[0], "from-kafka-0")
    assert len(glob.glob(os.path.join(kafka_part, "*.log"))) >= 3, os.listdir(kafka_part)
    broker = make_broker()
    tools.ok("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "from-kafka",
             "--partitions", "1", "--replication-factor", "1", "--config",
             f"segment.bytes={SEGMENT_BYTES}")
    assert broker.stop() == 0
    part = os.path.join(broker.data_dir, "from-kafka-0")
    for name in os.listdir(part):
        if name != "partition.metadata":
            os.remove(os.path.join(part, name))
    # Kafka's segments, indexes, producer snapshots and epoch checkpoint; not
    # its partition.metadata, which names Kafka's topic id, not sluice's.
    for name in os.listdir(kafka_part):
        if name != "partition.metadata":
            shutil.copy2(os.path.join(kafka_part, name), part)
    log_start = len(broker.log_text())
    broker.start()
    recovery = [line for line in broker.log_text()[log_start:].splitlines() if "from-kafka-0" in line]
    assert not [line for line in recovery if re.search(r"truncat|removed|CRC|rebuilt|past the", line)], \
        "sluice changed or distrusted Kafka's files:\n" + "\n".join(recovery)

    total = PER_CODEC * len(CODECS)
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", "from-kafka",
                   "--from-beginning", "--max-messages", str(total), "--timeout-ms", "30000",
                   "--property", "print.offset=true")
    offsets = [int(m) for m in re.findall(r"^Offset:(\d+)", out, re.M)]
    assert offsets == list(range(total)), f"{len(offsets)} records of {total}: {out[-1000:]}"
    tools.ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", "from-kafka",
             *NO_IDEMPOTENCE, input_text="after\n")
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", "from-kafka",
                   "--partition", "0", "--offset", str(total), "--max-messages", "1",
                   "--timeout-ms", "30000", "--property", "print.offset=true")
    assert re.search(rf"^Offset:{total}\s+after$", out, re.M), out


def test_sluice_serves_a_log_dir_kafka_wrote(kafka_log_dir, data_dir, make_broker, tools):
    """Kafka's whole log dir, as it left it, becomes sluice's: every topic
    with Kafka's topic id, partitions and configs (from Kafka's KRaft
    metadata log), its records, and the offsets groups committed."""
    kafka_dir, said = kafka_log_dir
    shutil.copytree(kafka_dir, data_dir)
    broker = make_broker({"node.id": "1", "auto.create.topics.enable": "false"})
    adopted = dict(re.findall(r"adopted topic (\S+) \(id (\S+),", broker.log_text()))
    assert {t: adopted.get(t) for t in said["ids"]} == said["ids"], broker.log_text()[-3000:]
    assert "__cluster_metadata" not in adopted

    total = PER_CODEC * len(CODECS)
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", "from-kafka",
                   "--from-beginning", "--max-messages", str(total), "--timeout-ms", "30000",
                   "--property", "print.offset=true")
    assert len(re.findall(r"^Offset:\d+", out, re.M)) == total
    assert group_offsets(tools, broker.bootstrap, "g-kafka") == said["g-kafka"]

    # adopt-cfg keeps Kafka's configs: records over its max.message.bytes are
    # refused, the others get LogAppendTime; local.retention.ms (tiered
    # storage) is kept and described, and a warning says sluice does not act on it.
    assert re.search(r"topic adopt-cfg: local\.retention\.ms=-2: sluice stores and describes this "
                     r"setting but does not act on it yet", broker.log_text())
    out = tools.ok("configs", "--bootstrap-server", broker.bootstrap, "--describe",
                   "--entity-type", "topics", "--entity-name", "adopt-cfg")
    assert "local.retention.ms=-2" in out, out
    rc, out, err, _ = tools.run("console-producer", "--bootstrap-server", broker.bootstrap,
                                "--topic", "adopt-cfg", *NO_IDEMPOTENCE,
                                "--producer-property", "retries=0",
                                input_text="x" * (2 * ADOPT_MAX_MESSAGE_BYTES) + "\n")
    assert "RecordTooLargeException" in out + err or "MESSAGE_TOO_LARGE" in out + err, out + err
    tools.ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", "adopt-cfg",
             *NO_IDEMPOTENCE, input_text="small\n")
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", "adopt-cfg",
                   "--from-beginning", "--max-messages", "1", "--timeout-ms", "30000",
                   "--property", "print.timestamp=true")
    assert re.search(r"^LogAppendTime:\d+\s+small$", out, re.M), out

    # Kafka's producer state snapshot is loaded: its producer is known, with
    # the last sequence of its three records.
    snapshots = glob.glob(os.path.join(data_dir, "adopt-idem-0", "*.snapshot"))
    assert any(re.search(rf"{re.escape(p)}: loaded 1 producer", broker.log_text()) for p in snapshots), \
        (snapshots, broker.log_text()[-2000:])
    out = tools.ok("transactions", "--bootstrap-server", broker.bootstrap, "describe-producers",
                   "--topic", "adopt-idem", "--partition", "0")
    assert re.search(r"^\d+\s+0\s+-1\s+2\s+\d+\s+None\s*$", out, re.M), out

    # A restart finds them recorded: nothing is adopted twice.
    assert broker.stop() == 0
    log_start = len(broker.log_text())
    broker.start()
    assert "adopted topic" not in broker.log_text()[log_start:]
    assert group_offsets(tools, broker.bootstrap, "g-kafka") == said["g-kafka"]


def test_sluice_adopts_partition_dirs_without_its_record(kafka_log_dir, data_dir, make_broker, tools):
    """A bare partition directory (no metadata log beside it, as a
    ZooKeeper-mode Kafka leaves them) is adopted with the id its
    partition.metadata names."""
    kafka_dir, said = kafka_log_dir
    os.makedirs(data_dir)
    shutil.copytree(os.path.join(kafka_dir, "adopt-me-0"), os.path.join(data_dir, "adopt-me-0"))
    broker = make_broker({"auto.create.topics.enable": "false"})
    assert re.search(rf"adopted topic adopt-me \(id {said['ids']['adopt-me']}, 1 partition",
                     broker.log_text()), broker.log_text()[-2000:]
    out = tools.ok("console-consumer", "--bootstrap-server", broker.bootstrap,
                   "--topic", "adopt-me", "--from-beginning", "--max-messages", "2",
                   "--timeout-ms", "15000")
    assert out.split() == ["a", "b"]
