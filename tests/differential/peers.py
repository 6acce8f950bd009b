"""The two brokers of a differential run and a client for each: Apache Kafka
(SLUICE_KAFKA_BOOTSTRAP, or one started with scripts/kafka-peer.sh) and a
sluice started the way the integration tests start it. A scenario is a
function of one Client; it runs once against each broker, every call it makes
lands in that client's transcript, and the two transcripts are compared by
differ.py. Every wait is bounded."""
import concurrent.futures
import importlib.util
import os
import secrets
import socket
import struct
import subprocess
import tempfile
import time

import pytest

import kafka_codec as codec

REPO = codec.REPO
PEER_SCRIPT = os.path.join(REPO, "scripts", "kafka-peer.sh")
PEER_START_TIMEOUT_S = 240
PEER_STOP_TIMEOUT_S = 60
CALL_TIMEOUT_S = 30
METADATA_WAIT_S = 30


def integration_module(name):
    """tests/integration/<name>.py, imported under its own name
    (sluice_integration_<name>), so that its conftest does not shadow this
    folder's."""
    path = os.path.join(REPO, "tests", "integration", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"sluice_integration_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


integration = integration_module("conftest")


# Both sides join groups without the initial rebalance delay (Kafka's 3 s)
# and look for timed-out transactions every 500 ms (Kafka's 10 s): only how
# long a join or a timeout abort takes depends on them, never what the
# answers say. scripts/test.sh starts the suite's peer with the same.
SHARED_SETTINGS = {"group.initial.rebalance.delay.ms": "0",
                   "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"}


class KafkaPeer:
    """A Kafka broker started for this session with the peer script; stopped by
    the same script (by PID) at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-diff-kafka-")
        self.bootstrap = None

    def start(self):
        sets = [a for k, v in SHARED_SETTINGS.items() for a in ("--set", f"{k}={v}")]
        p = subprocess.run(["bash", PEER_SCRIPT, "start", "--dir", self.dir, *sets],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=PEER_START_TIMEOUT_S)
        for line in p.stdout.decode().splitlines():
            if line.startswith("KAFKA_BOOTSTRAP="):
                self.bootstrap = line.split("=", 1)[1].strip()
        if p.returncode != 0 or not self.bootstrap:
            raise RuntimeError(f"kafka-peer.sh start failed ({p.returncode}):\n"
                               f"{p.stdout.decode()[-2000:]}\n{p.stderr.decode()[-2000:]}")
        return self

    def stop(self):
        subprocess.run(["bash", PEER_SCRIPT, "stop", "--dir", self.dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=PEER_STOP_TIMEOUT_S)
        subprocess.run(["rm", "-rf", self.dir], timeout=PEER_STOP_TIMEOUT_S)


class Closed(Exception):
    pass


class Client:
    """One connection to one broker, with the transcript of what it saw."""

    def __init__(self, side, bootstrap):
        self.side, self.bootstrap = side, bootstrap
        self.transcript = []
        self.sock = None
        self.corr = 0
        self.reconnect()

    def reconnect(self):
        if self.sock:
            self.sock.close()
        host, port = self.bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=CALL_TIMEOUT_S)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def recv_frame(self):
        size = struct.unpack(">i", self._read(4))[0]
        return self._read(size)

    def send_frame(self, frame):
        self.sock.sendall(frame)

    def call(self, api, version, body=None, label=None, record=True, client_id="differential",
             answer_within_s=None):
        """Sends one request and returns the decoded response; a connection the
        broker closes instead of answering returns {"closed": True}, and with
        answer_within_s, one silent that long {"no answer": True} (both
        reconnect). Recorded in the transcript unless record=False."""
        a = codec.api(api)
        self.corr += 1
        try:
            self.send_frame(codec.encode_request(a.key, version, self.corr, body, client_id))
            if answer_within_s:
                self.sock.settimeout(answer_within_s)
            frame = self.recv_frame()
            self.sock.settimeout(CALL_TIMEOUT_S)
        except (Closed, BrokenPipeError):
            self.reconnect()
            resp = {"closed": True}
        except socket.timeout:
            if not answer_within_s:
                raise
            self.reconnect()
            resp = {"no answer": True}
        else:
            corr, resp = self._decode(a, version, frame)
            assert corr == self.corr, f"{self.side}: correlation id {corr}, expected {self.corr}"
        if record:
            self.note(label or f"{a.name} v{version}", resp, a.name)
        return resp

    def call_raw(self, api, version, frame, label, record=True):
        """Sends a hand-made frame; returns the decoded answer or {"closed": True}."""
        a = codec.api(api)
        try:
            self.send_frame(frame)
            out = self.recv_frame()
        except (Closed, BrokenPipeError):
            self.reconnect()
            resp = {"closed": True}
        else:
            resp = self._decode(a, version, out)[1]
        if record:
            self.note(label, resp, a.name)
        return resp

    def _decode(self, a, version, frame):
        """A response that breaks the schema is recorded as such (it differs
        from any well-formed answer), not raised."""
        try:
            return codec.decode_response(a.key, version, frame)
        except codec.CodecError as e:
            return self.corr, {"undecodable": str(e), "bytes": frame.hex()}

    def note(self, label, value, api_name="-"):
        self.transcript.append((label, api_name, value))

    # ---- setup helpers (not recorded) ----

    def create_topic(self, name, partitions=1, configs=None):
        body = {"topics": [{"name": name, "num_partitions": partitions, "replication_factor": 1,
                            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}],
                "timeout_ms": 30000}
        r = self.call("CreateTopics", 5, body, record=False)
        err = r["topics"][0]["error_code"]
        assert err == 0, f"{self.side}: CreateTopics {name}: error {err} {r['topics'][0]['error_message']}"
        self.wait_leaders(name, partitions)

    def wait_leaders(self, name, partitions):
        """Kafka's CreateTopics answers before the partitions have a leader on
        the broker: wait (bounded) until Metadata shows them all led
        (partitions=None: however many there are)."""
        deadline = time.time() + METADATA_WAIT_S
        while time.time() < deadline:
            r = self.call("Metadata", 9, {"topics": [{"name": name}],
                                          "allow_auto_topic_creation": False}, record=False)
            t = r["topics"][0]
            count_ok = len(t["partitions"]) == partitions if partitions else t["partitions"]
            if t["error_code"] == 0 and count_ok and \
                    all(p["error_code"] == 0 and p["leader_id"] >= 0 for p in t["partitions"]) \
                    and self._partitions_serve(name, len(t["partitions"])):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.side}: {name} has no leaders after {METADATA_WAIT_S}s")

    def _partitions_serve(self, name, count):
        """Kafka's Metadata shows a leader before the leader's replica serves
        (Produce still answers NOT_LEADER_OR_FOLLOWER): ask ListOffsets."""
        r = self.call("ListOffsets", 7, {"replica_id": -1, "topics": [
            {"name": name, "partitions": [{"partition_index": i, "timestamp": -1}
                                          for i in range(count)]}]}, record=False)
        return all(p["error_code"] == 0 for p in r["topics"][0]["partitions"])

    def produce(self, topic, batches, partition=0, version=9, acks=-1):
        """Appends record batches (bytes each); returns the base offsets."""
        out = []
        for b in batches:
            r = self.call("Produce", version, {"acks": acks, "timeout_ms": 30000, "topic_data": [
                {"name": topic, "partition_data": [{"index": partition, "records": b}]}]}, record=False)
            p = r["responses"][0]["partition_responses"][0]
            assert p["error_code"] == 0, f"{self.side}: produce to {topic}: error {p['error_code']}"
            out.append(p["base_offset"])
        return out


class Peers:
    """Both brokers of the session; run(fn) plays a scenario on each."""

    def __init__(self, kafka_bootstrap, sluice_bootstrap):
        self.bootstraps = {"kafka": kafka_bootstrap, "sluice": sluice_bootstrap}
        self.token = secrets.token_hex(4)
        self.ranges = {}
        for side, bootstrap in self.bootstraps.items():
            c = Client(side, bootstrap)
            r = c.call("ApiVersions", 0, record=False)
            c.close()
            self.ranges[side] = {k["api_key"]: (k["min_version"], k["max_version"])
                                 for k in r["api_keys"]}

    def name(self, scenario):
        """A topic or group name unique to this scenario and session, the same
        on both brokers (names show in responses)."""
        return f"d-{scenario}-{self.token}".replace("_", "-")

    def versions(self, api):
        """The versions both brokers serve for api (the intersection)."""
        key = codec.api(api).key
        lo = max(self.ranges[s].get(key, (0, -1))[0] for s in self.ranges)
        hi = min(self.ranges[s].get(key, (0, -1))[1] for s in self.ranges)
        return range(lo, hi + 1)

    def require(self, api, version):
        """Skips the calling test unless both brokers serve api at version."""
        if version not in self.versions(api):
            pytest.skip(f"{api} v{version} is not served by both brokers "
                        f"(both serve {self.versions(api)})")

    def run(self, fn):
        """Plays fn(client) against Kafka and sluice at once (waits such as a
        group's initial rebalance delay then overlap) -> {side: transcript}."""
        def play(side):
            c = Client(side, self.bootstraps[side])
            try:
                fn(c)
            finally:
                c.close()
            return c.transcript
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.bootstraps)) as pool:
            futures = {side: pool.submit(play, side) for side in self.bootstraps}
            return {side: f.result() for side, f in futures.items()}


def schema_versions(api):
    """The versions sluice's schema describes for api: what a scenario is
    parametrized over (Peers.require skips those Kafka does not serve)."""
    a = codec.api(api)
    return list(range(a.lo, a.hi + 1))
