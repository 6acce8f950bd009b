"""Seeds for the request fuzz target (tests/fuzz/fuzz_request.c), taken from
real clients: a loopback proxy between the clients and a built broker keeps
every request frame (the bytes after the 4-byte size, as request_dispatch gets
them), one file each.

The broker advertises the proxy's port, so the connections a client opens
after its bootstrap (to the "leader", to the group coordinator) come through
the proxy too. Frames that differ only in correlation id are one seed; at most
SEEDS_PER_VERSION frames are kept per API version and none over
SEED_BYTES_MAX, so the corpus stays small.

    /usr/bin/python3 tests/integration/capture_proxy.py \\
        --broker build/sluice --out tests/fuzz/corpus/request

runs the client session (kcat, confluent-kafka, kafka-python, and the tests'
wire helpers for what no client sends) once. Debian's clients speak older
versions; for the flexible ones run it again, into the same directory, with a
virtualenv's python that has PyPI's (`python3 -m venv --system-site-packages
V && V/bin/pip install confluent-kafka kafka-python`). The committed seeds come
from both: confluent-kafka 1.7.0 and kafka-python 2.0.2 (Debian), 2.16.1 and
3.0.12 (PyPI), kcat 1.7.1. Not a test: pytest does not collect it."""
import argparse
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest  # noqa: E402

SEEDS_PER_VERSION = 12
SEED_BYTES_MAX = 64 * 1024
FRAME_BYTES_MAX = 100 * 1024 * 1024  # the broker's socket.request.max.bytes
CLIENT_TIMEOUT_S = 120
SOCKET_TIMEOUT_S = 60


class CaptureProxy:
    """Forwards loopback connections to `upstream`; records request frames."""

    def __init__(self, upstream_port, out_dir):
        self.upstream_port = upstream_port
        self.out_dir = out_dir
        self.lock = threading.Lock()
        self.seen = set()
        self.per_version = {}
        self.kept = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = False

    def start(self):
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        self.listener.close()

    def _accept_loop(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            client.settimeout(SOCKET_TIMEOUT_S)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port),
                                                    timeout=SOCKET_TIMEOUT_S)
            except OSError:
                client.close()
                continue
            self._serve(client, upstream)

    def _serve(self, client, upstream):
        """Starts the threads that carry one connection both ways."""
        frames = FrameSplitter(self._record)
        for src, dst, seen in ((client, upstream, frames.feed), (upstream, client, None)):
            threading.Thread(target=_pump, args=(src, dst, seen), daemon=True).start()

    def _record(self, frame):
        if len(frame) < 8 or len(frame) > SEED_BYTES_MAX:
            return
        key, version = struct.unpack(">hh", frame[:4])
        # Correlation ids count up: a frame that differs only there is no news.
        digest = hashlib.sha1(frame[:4] + frame[8:]).hexdigest()
        with self.lock:
            if digest in self.seen or self.per_version.get((key, version), 0) >= SEEDS_PER_VERSION:
                return
            self.seen.add(digest)
            self.per_version[(key, version)] = self.per_version.get((key, version), 0) + 1
            self.kept += 1
        name = f"key{key:02d}-v{version}-{digest[:16]}"
        with open(os.path.join(self.out_dir, name), "wb") as f:
            f.write(frame)


class FrameSplitter:
    """Cuts a request stream into frames (4-byte size, then the frame)."""

    def __init__(self, on_frame):
        self.on_frame = on_frame
        self.buf = b""

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 4:
            (size,) = struct.unpack(">i", self.buf[:4])
            if size < 0 or size > FRAME_BYTES_MAX:
                self.buf = b""
                return
            if len(self.buf) < 4 + size:
                return
            self.on_frame(self.buf[4:4 + size])
            self.buf = self.buf[4 + size:]


def _pump(src, dst, seen):
    """Copies src to dst until either side closes, showing each read to seen."""
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
            if seen:
                seen(data)
    except OSError:
        pass
    finally:
        _shutdown(dst)


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def run(cmd, input_bytes=None):
    subprocess.run(cmd, input=input_bytes, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=CLIENT_TIMEOUT_S, check=True)


def kcat_session(bootstrap):
    lines = b"".join(b"key-%d\tvalue-%d-%s\n" % (i, i, b"x" * (i % 97)) for i in range(200))
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        run(["kcat", "-b", bootstrap, "-t", f"kcat-{codec}", "-P", "-K", "\t", "-z", codec,
             "-H", "source=kcat", "-X", "acks=all"], input_bytes=lines)
    run(["kcat", "-b", bootstrap, "-L"])
    run(["kcat", "-b", bootstrap, "-t", "kcat-none", "-C", "-e", "-o", "beginning"])
    run(["kcat", "-b", bootstrap, "-t", "kcat-zstd", "-C", "-e", "-o", "-5"])
    run(["kcat", "-b", bootstrap, "-t", "kcat-none", "-C", "-e", "-o", "s@0"])
    # A balanced consumer: join, sync, heartbeat, commit, leave.
    run(["kcat", "-b", bootstrap, "-G", "kcat-group", "kcat-gzip", "-e", "-o", "beginning",
         "-X", "auto.commit.interval.ms=100"])


def confluent_session(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = ["ck-a", "ck-b"]
    for f in admin.create_topics([NewTopic(t, 3, 1) for t in topics]).values():
        f.result(30)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                      "linger.ms": 5, "acks": "all", "enable.idempotence": False})
        for i in range(300):
            p.produce("ck-a", key=b"k%d" % i, value=b"v%d-%s" % (i, codec.encode()),
                      headers=[("h", b"%d" % i)], partition=i % 3)
        assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ck-group",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000})
    c.subscribe(["ck-a"])
    got, deadline = 0, time.time() + 60
    while got < 1500 and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got += 1
            if got % 200 == 0:
                c.commit(m, asynchronous=False)
    c.committed([TopicPartition("ck-a", p) for p in range(3)], timeout=10)
    c.offsets_for_times([TopicPartition("ck-a", p, int(time.time() * 1000) - 60000)
                         for p in range(3)], timeout=10)
    c.get_watermark_offsets(TopicPartition("ck-a", 0), timeout=10)
    c.close()
    admin.list_groups(timeout=10)
    # confluent-kafka 2.x (librdkafka 2.x) only: the group admin APIs.
    if hasattr(admin, "describe_consumer_groups"):
        from confluent_kafka import ConsumerGroupTopicPartitions
        admin.list_consumer_groups().result(30)
        for f in admin.describe_consumer_groups(["ck-group"]).values():
            f.result(30)
        group = [ConsumerGroupTopicPartitions("ck-group")]
        for f in admin.list_consumer_group_offsets(group).values():
            f.result(30)
        for f in admin.delete_consumer_groups(["ck-group"]).values():
            f.result(30)
    for f in admin.delete_topics(["ck-b"]).values():
        f.result(30)


def kafka_python_session(bootstrap):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **conftest.KAFKA_PYTHON_PROBE)
    admin.create_topics([NewTopic("kp-a", 2, 1), NewTopic("kp-b", 1, 1)])
    for codec in (None, "gzip"):
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec)
        for i in range(200):
            p.send("kp-a", key=b"k%d" % i, value=b"v%d" % i, headers=[("n", b"%d" % i)])
        p.flush(30)
        p.close()
    c = KafkaConsumer("kp-a", bootstrap_servers=bootstrap, group_id="kp-group",
                      auto_offset_reset="earliest", consumer_timeout_ms=5000,
                      enable_auto_commit=True, auto_commit_interval_ms=200)
    for _ in c:
        pass
    c.commit()
    c.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, consumer_timeout_ms=3000)
    parts = [TopicPartition("kp-a", p) for p in range(2)]
    c.offsets_for_times({tp: 0 for tp in parts})
    c.beginning_offsets(parts)
    c.end_offsets(parts)
    c.close()
    # kafka-python 3 renamed the group calls (list_groups, ...) and added more.
    call = lambda old, new, *a: getattr(admin, new if hasattr(admin, new) else old)(*a)
    call("list_consumer_groups", "list_groups")
    call("describe_consumer_groups", "describe_groups", ["kp-group"])
    call("list_consumer_group_offsets", "list_group_offsets", "kp-group")
    if hasattr(admin, "delete_group_offsets"):
        admin.delete_group_offsets("kp-group", [TopicPartition("kp-a", 1)])
    call("delete_consumer_groups", "delete_groups", ["kp-group"])
    admin.delete_topics(["kp-b"])
    admin.close()


def wire_session(bootstrap):
    """The versions no client above sends (OffsetDelete, OffsetFetch for
    several groups, DeleteGroups v1), in the tests' own wire helpers."""
    import group_wire
    import kafka_wire
    conn = kafka_wire.Conn(bootstrap)
    try:
        kafka_wire.api_versions(conn, 0)
        group_wire.offset_fetch_v8(conn, {"ck-group": [("ck-a", 0), ("ck-a", 1)], "kp-group": None})
        group_wire.offset_delete_v0(conn, "kcat-group", [("kcat-gzip", 0)])
        group_wire.list_groups_v4(conn, ["Empty"])
        group_wire.describe_groups_v4(conn, ["kcat-group"])
        group_wire.delete_groups_v1(conn, ["kcat-group", "nonexistent"])
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", required=True, help="the sluice binary")
    ap.add_argument("--out", required=True, help="directory for the captured frames")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    conftest.SLUICE_BIN = args.broker
    with tempfile.TemporaryDirectory(prefix="sluice-capture-") as d:
        broker = conftest.Broker(os.path.join(d, "data"))
        proxy = CaptureProxy(broker.port, args.out)
        broker.settings["advertised.listeners"] = f"PLAINTEXT://127.0.0.1:{proxy.port}"
        broker.settings["group.initial.rebalance.delay.ms"] = "0"
        broker.start()
        proxy.start()
        bootstrap = f"127.0.0.1:{proxy.port}"
        try:
            kcat_session(bootstrap)
            confluent_session(bootstrap)
            kafka_python_session(bootstrap)
            wire_session(bootstrap)
        finally:
            proxy.stop()
            rc = broker.stop()
    print(f"kept {proxy.kept} frames in {args.out}; broker exited with {rc}")
    for (key, version), n in sorted(proxy.per_version.items()):
        print(f"  api {key} v{version}: {n}")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
