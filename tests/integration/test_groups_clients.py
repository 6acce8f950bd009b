"""Consumer groups with real clients: kafka-python members sharing, leaving
and dying; committed offsets resumed exactly after a broker restart;
confluent-kafka with cooperative-sticky; kcat -G; a sarama consumer group."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import KAFKA_PYTHON_PROBE, run

HERE = os.path.dirname(os.path.abspath(__file__))
SESSION_S = 6.0


def create_topic(bootstrap, name, partitions):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()


def produce(bootstrap, topic, n, partitions, start=0):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(start, start + n):
        p.send(topic, str(i).encode(), partition=i % partitions)
    p.flush()
    p.close()


class Member:
    """A group_member.py process and the assignments it reported."""

    def __init__(self, bootstrap, topic, group):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "group_member.py"),
                                      bootstrap, topic, group], stdout=subprocess.PIPE)
        self.events = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def parts(self):
        with self.lock:
            for e in reversed(self.events):
                if "parts" in e:
                    return e["parts"], e["t"]
        return None, None

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=30)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kafka_python_members_share_leave_and_die(make_broker):
    b = make_broker({"group.initial.rebalance.delay.ms": "0"})
    create_topic(b.bootstrap, "shared", 6)
    members = [Member(b.bootstrap, "shared", "trio") for _ in range(3)]
    try:
        def spread(ms, each):
            got = [m.parts()[0] for m in ms]
            return all(p is not None and len(p) == each for p in got) and \
                sorted(x for p in got for x in p) == list(range(6))
        wait_for(lambda: spread(members, 2), 60, "three members with two partitions each")

        t0 = time.time()
        members[2].stop()
        wait_for(lambda: spread(members[:2], 3), SESSION_S, "two members taking over after a leave")
        leave_rebalance_s = time.time() - t0

        t0 = time.time()
        members[1].stop(signal.SIGKILL)
        wait_for(lambda: spread(members[:1], 6), SESSION_S + 15, "the survivor taking everything")
        evict_s = time.time() - t0
        # Evicted by its session timeout, not before.
        assert evict_s >= SESSION_S - 1.0, evict_s
        print(f"rebalance after LeaveGroup: {leave_rebalance_s:.2f} s; "
              f"eviction after kill -9: {evict_s:.2f} s")
    finally:
        for m in members:
            m.stop(signal.SIGKILL)
    assert "session timeout expired" in b.log_text()


def test_committed_offsets_resume_exactly_after_restart(make_broker):
    from kafka import KafkaConsumer
    b = make_broker({"group.initial.rebalance.delay.ms": "0"})
    create_topic(b.bootstrap, "resume", 3)
    produce(b.bootstrap, "resume", 1000, 3)

    def consumer():
        return KafkaConsumer("resume", group_id="resumers", bootstrap_servers=b.bootstrap,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             max_poll_records=50)
    seen = []
    c = consumer()
    while len(seen) < 400:
        for records in c.poll(timeout_ms=1000).values():
            seen.extend(int(r.value) for r in records)
    c.commit()
    c.close()
    b.stop()
    b.start()
    c = consumer()
    deadline = time.time() + 60
    while len(seen) < 1000 and time.time() < deadline:
        for records in c.poll(timeout_ms=1000).values():
            seen.extend(int(r.value) for r in records)
    c.close()
    assert len(seen) == 1000 and sorted(seen) == list(range(1000))


def test_confluent_kafka_cooperative_sticky(make_broker):
    from confluent_kafka import Consumer
    b = make_broker({"group.initial.rebalance.delay.ms": "0"})
    create_topic(b.bootstrap, "coop", 6)
    conf = {"bootstrap.servers": b.bootstrap, "group.id": "coop",
            "partition.assignment.strategy": "cooperative-sticky",
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500}
    consumers = [Consumer(conf), Consumer(conf)]
    for c in consumers:
        c.subscribe(["coop"])
    values = []
    try:
        def balanced():
            for c in consumers:
                m = c.poll(0.05)
                assert m is None or m.error() is None or m.error().code() < 0
            sizes = [len(c.assignment()) for c in consumers]
            return sizes == [3, 3]
        wait_for(balanced, 60, "cooperative-sticky spreading 3+3")
        owned = [{tp.partition for tp in c.assignment()} for c in consumers]
        assert owned[0] | owned[1] == set(range(6))
        produce(b.bootstrap, "coop", 600, 6)
        deadline = time.time() + 60
        while len(values) < 600 and time.time() < deadline:
            for c in consumers:
                m = c.poll(0.05)
                if m is not None and m.error() is None:
                    values.append(int(m.value()))
    finally:
        for c in consumers:
            c.close()
    assert sorted(values) == list(range(600))


def test_kcat_balanced_consumer_commits(make_broker):
    from kafka.admin import KafkaAdminClient
    b = make_broker({"group.initial.rebalance.delay.ms": "0"})
    create_topic(b.bootstrap, "kg", 3)
    produce(b.bootstrap, "kg", 300, 3)
    out = run(["kcat", "-b", b.bootstrap, "-G", "kcat-group", "-o", "beginning", "-e",
               "-f", "%p %o\n", "kg"], timeout=120).decode()
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 300
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, **KAFKA_PYTHON_PROBE)
    committed = admin.list_consumer_group_offsets("kcat-group")
    admin.close()
    assert {tp.partition: om.offset for tp, om in committed.items()} == {0: 100, 1: 100, 2: 100}


def test_sarama_consumer_group(make_broker, tmp_path):
    go = shutil.which("go")
    assert go, "go missing: scripts/install-deps.sh --tests installs golang-go"
    src = os.path.join(HERE, "sarama_group", "main.go")
    binary = tmp_path / "sarama_group"
    env = dict(os.environ, GO111MODULE="off", GOPATH=f"{tmp_path}/gopath:/usr/share/gocode",
               GOCACHE=os.environ.get("GOCACHE", "/tmp/sluice-gocache"))
    subprocess.run([go, "build", "-o", str(binary), src], check=True, env=env, timeout=600)
    b = make_broker({"group.initial.rebalance.delay.ms": "0"})
    create_topic(b.bootstrap, "sg", 4)
    produce(b.bootstrap, "sg", 400, 4)
    out = run([str(binary), "-brokers", b.bootstrap, "-topic", "sg", "-group", "sarama",
               "-count", "400"], timeout=120).decode()
    assert "consumed 400 distinct 400" in out, out
    # A second run of the group finds everything committed: nothing is left.
    produce(b.bootstrap, "sg", 4, 4, start=400)
    out = run([str(binary), "-brokers", b.bootstrap, "-topic", "sg", "-group", "sarama",
               "-count", "4"], timeout=120).decode()
    assert "consumed 4 distinct 4" in out and "min 400" in out, out
