"""The metrics endpoint as Prometheus sees it: Debian's prometheus, started
here on loopback with its own storage, scrapes the broker; promtool accepts a
scrape; a PromQL query returns the lag of a group that consumed half a topic.
Also the endpoint's own contract: /health, the per-partition switch, the
request and topic series. Every wait is bounded."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
TOPIC = "orders"
PARTITIONS = 2
PER_PARTITION = 100
GROUP = "billing"
WAIT_S = 60


def scrape(broker, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}{path}", timeout=10) as r:
        return r.status, r.read().decode()


def samples(body, name):
    """{labels-string: value} of one metric's samples."""
    out = {}
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, value = line.rsplit(" ", 1)
            out[series[len(name):]] = float(value)
    return out


def half_consumed(bootstrap):
    """A topic of PARTITIONS x PER_PARTITION records; GROUP commits half of
    each partition."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)]).values():
        f.result(20)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(PARTITIONS * PER_PARTITION):
        p.produce(TOPIC, value=b"v%d" % i, partition=i % PARTITIONS)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, i, 0) for i in range(PARTITIONS)])
    seen = {i: 0 for i in range(PARTITIONS)}
    deadline = time.time() + WAIT_S
    while min(seen.values()) < PER_PARTITION // 2 and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            seen[m.partition()] += 1
    half = PER_PARTITION // 2
    c.commit(offsets=[TopicPartition(TOPIC, i, half) for i in range(PARTITIONS)],
             asynchronous=False)
    c.close()
    return PARTITIONS * (PER_PARTITION - half)


class Prometheus:
    """Debian's prometheus on a free loopback port, scraping one target
    every second, its storage in a temporary directory."""

    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="sluice-prom-")
        self.port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: sluice\n    static_configs:\n"
                    f"      - targets: ['{target}']\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())

    def query_until(self, promql, want):
        """The query's scalar value once it equals want (or the last one
        seen when WAIT_S runs out)."""
        deadline = time.time() + WAIT_S
        value = None
        while time.time() < deadline:
            try:
                result = self.api("query", query=promql)["data"]["result"]
            except OSError:
                result = []
            if result:
                value = float(result[0]["value"][1])
                if value == want:
                    return value
            time.sleep(0.5)
        return value

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()
        with open(os.path.join(self.dir, "prometheus.log"), "rb") as f:
            tail = f.read()[-3000:].decode(errors="replace")
        shutil.rmtree(self.dir, ignore_errors=True)
        return tail


@pytest.mark.skipif(not PROMETHEUS or not PROMTOOL, reason="Debian's prometheus is not installed")
def test_prometheus_scrapes_and_queries_group_lag(broker):
    lag = half_consumed(broker.bootstrap)
    status, body = scrape(broker)
    assert status == 200
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert check.returncode == 0, check.stdout.decode()
    prom = Prometheus(f"127.0.0.1:{broker.metrics_port}")
    try:
        got = prom.query_until(f'sum(sluice_consumer_group_lag{{group="{GROUP}",topic="{TOPIC}"}})',
                               lag)
        per_topic = prom.query_until(
            f'sluice_consumer_group_topic_lag{{group="{GROUP}",topic="{TOPIC}"}}', lag)
        assert per_topic == lag
        up = prom.query_until('up{job="sluice"}', 1)
        assert up == 1
    finally:
        tail = prom.stop()
    assert got == lag, tail


def test_request_topic_and_process_series(broker):
    half_consumed(broker.bootstrap)
    _, body = scrape(broker)
    records_in = samples(body, "sluice_topic_records_in_total")
    assert records_in[f'{{topic="{TOPIC}"}}'] == PARTITIONS * PER_PARTITION
    assert samples(body, "sluice_topic_bytes_in_total")[f'{{topic="{TOPIC}"}}'] > 0
    assert samples(body, "sluice_topic_records_out_total")[f'{{topic="{TOPIC}"}}'] >= \
        PARTITIONS * PER_PARTITION // 2
    produce = samples(body, "sluice_request_latency_seconds_count")['{api="Produce"}']
    assert produce >= 1
    assert samples(body, "sluice_request_latency_seconds_bucket")[
        '{api="Produce",le="+Inf"}'] == produce
    assert sum(samples(body, "sluice_request_queue_seconds_count").values()) >= produce
    clients = samples(body, "sluice_connections_by_client")
    assert any('client_software_name="confluent-kafka-python"' in k for k in clients), clients
    assert samples(body, "sluice_offline_partitions")[""] == 0
    assert samples(body, "sluice_under_replicated_partitions")[""] == 0
    assert samples(body, "process_resident_memory_bytes")[""] > 0
    # The broker's descriptors as its /proc/<pid>/fd lists them (the scrape's
    # own socket may be one more).
    fds = len(os.listdir(f"/proc/{broker.proc.pid}/fd"))
    assert fds - 2 <= samples(body, "process_open_fds")[""] <= fds + 2
    assert len(samples(body, "sluice_build_info")) == 1
    assert len(samples(body, "sluice_reactor_utilization")) >= 1
    assert len(samples(body, "sluice_shard_mailbox_depth")) >= 1
    lags = samples(body, "sluice_consumer_group_lag")
    assert lags[f'{{group="{GROUP}",topic="{TOPIC}",partition="0"}}'] == PER_PARTITION // 2


def test_unsupported_versions_are_counted_apart_from_unknown_apis(broker):
    import socket
    import struct
    # ApiVersions v127: answered with UNSUPPORTED_VERSION, counted as such.
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        body = struct.pack(">hhih", 18, 127, 7, 1) + b"x"
        s.sendall(struct.pack(">i", len(body)) + body)
        assert len(s.recv(4)) == 4
    # An API key nobody serves: the connection closes.
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        body = struct.pack(">hhih", 999, 0, 8, 1) + b"x"
        s.sendall(struct.pack(">i", len(body)) + body)
        assert s.recv(4) == b""
    _, text = scrape(broker)
    errors = samples(text, "sluice_request_errors_total")
    assert errors['{api="ApiVersions",error="UNSUPPORTED_VERSION"}'] == 1
    assert sum(samples(text, "sluice_requests_unserved_api_total").values()) == 1


def test_handlers_error_codes_are_counted_by_api_and_name(broker):
    """Every error code a response carries counts once (per topic here),
    under its API and Kafka's name; NONE is not counted."""
    from confluent_kafka import KafkaException
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for f in admin.create_topics([NewTopic("counted", 3, 1)]).values():
        f.result(20)
    before = samples(scrape(broker)[1], "sluice_request_errors_total")
    assert not any("error=\"NONE\"" in k for k in before)
    for f in admin.create_topics([NewTopic("counted", 3, 1)]).values():
        with pytest.raises(KafkaException):
            f.result(20)
    for f in admin.delete_topics(["absent-1", "absent-2"]).values():
        with pytest.raises(KafkaException):
            f.result(20)
    after = samples(scrape(broker)[1], "sluice_request_errors_total")

    def grew(api, error):
        key = f'{{api="{api}",error="{error}"}}'
        return after.get(key, 0) - before.get(key, 0)
    assert grew("CreateTopics", "TOPIC_ALREADY_EXISTS") == 1
    assert grew("DeleteTopics", "UNKNOWN_TOPIC_OR_PARTITION") == 2
    assert grew("CreateTopics", "UNKNOWN_TOPIC_OR_PARTITION") == 0
    assert all(v >= 0 for v in after.values())
    # The request layer's two codes are there for every served API.
    assert after['{api="Produce",error="INVALID_REQUEST"}'] == 0
    assert '{api="Fetch",error="UNSUPPORTED_VERSION"}' in after


def test_partition_level_off_keeps_topic_series(make_broker):
    b = make_broker({"sluice.metrics.partition.level": "false"})
    half_consumed(b.bootstrap)
    _, body = scrape(b)
    assert not samples(body, "sluice_log_end_offset")
    assert not samples(body, "sluice_consumer_group_lag")
    assert samples(body, "sluice_consumer_group_topic_lag")[
        f'{{group="{GROUP}",topic="{TOPIC}"}}'] == PARTITIONS * PER_PARTITION // 2
    assert samples(body, "sluice_topic_partitions")[f'{{topic="{TOPIC}"}}'] == PARTITIONS


def test_health(broker):
    status, body = scrape(broker, "/health")
    assert (status, body) == (200, "OK\n")
