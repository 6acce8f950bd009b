"""scripts/kafka-peer.sh gives a real Apache Kafka node on loopback: the 4.x
KRaft peer answers ApiVersions with KRaft's finalized metadata.version and
Metadata with itself at 127.0.0.1; the 3.9 ZooKeeper-mode peer starts beside
its own ZooKeeper and stops leaving no process; a peer that cannot start says
why and leaves no process either."""
import json
import os
import struct
import subprocess

import pytest

from kafka_wire import Conn, read_uvarint as uvarint

SOURCE_DIR = os.environ.get("SLUICE_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
PEER = os.path.join(SOURCE_DIR, "scripts", "kafka-peer.sh")
# The script bounds its own waits (60 s to serve, 30 s to stop); these bound
# the script, with room for the JVM's start on a busy machine.
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 90
API_VERSIONS = 18


def peer(*args, env=None):
    return subprocess.run(["bash", PEER, *args], capture_output=True, text=True,
                          timeout=START_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL)


def stop(peer_dir):
    subprocess.run(["bash", PEER, "stop", "--dir", peer_dir], check=True,
                   timeout=STOP_TIMEOUT_S, stdin=subprocess.DEVNULL)


def processes_naming(text):
    """PIDs of live processes whose command line contains text."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def started(peer_dir, *args):
    result = peer("start", "--dir", peer_dir, *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("KAFKA_BOOTSTRAP=127.0.0.1:"), result.stdout
    bootstrap = lines[0].split("=", 1)[1]
    with open(os.path.join(peer_dir, "bootstrap")) as f:
        assert f.read().strip() == bootstrap
    return bootstrap


@pytest.fixture(scope="module")
def kraft_bootstrap(tmp_path_factory):
    """The suite's peer when scripts/test.sh started one, else one of our own."""
    if os.environ.get("SLUICE_KAFKA_BOOTSTRAP"):
        yield os.environ["SLUICE_KAFKA_BOOTSTRAP"]
        return
    peer_dir = str(tmp_path_factory.mktemp("kafka-peer"))
    try:
        yield started(peer_dir)
    finally:
        stop(peer_dir)


def compact_string(buf, pos):
    n, pos = uvarint(buf, pos)
    return buf[pos:pos + n - 1].decode(), pos + n - 1


def skip_tagged_fields(buf, pos):
    count, pos = uvarint(buf, pos)
    for _ in range(count):
        _, pos = uvarint(buf, pos)
        size, pos = uvarint(buf, pos)
        pos += size
    return pos


def finalized_features(bootstrap):
    """ApiVersions v3: the error code and the FinalizedFeatures tagged field
    (tag 2) as {name: max_version_level}."""
    conn = Conn(bootstrap)
    try:
        name, version = b"sluice-tests", b"1"
        body = bytes([len(name) + 1]) + name + bytes([len(version) + 1]) + version + b"\x00"
        conn.request(API_VERSIONS, 3, body, flexible=True)
        r = conn.response()
    finally:
        conn.close()
    err, = struct.unpack(">h", r[4:6])
    n, pos = uvarint(r, 6)
    for _ in range(n - 1):
        pos = skip_tagged_fields(r, pos + 6)
    pos += 4  # throttle_time_ms
    features = {}
    tags, pos = uvarint(r, pos)
    for _ in range(tags):
        tag, pos = uvarint(r, pos)
        size, pos = uvarint(r, pos)
        end = pos + size
        if tag == 2:
            count, pos = uvarint(r, pos)
            for _ in range(count - 1):
                fname, pos = compact_string(r, pos)
                level_max, _level_min = struct.unpack(">hh", r[pos:pos + 4])
                pos = skip_tagged_fields(r, pos + 4)
                features[fname] = level_max
        pos = end
    return err, features


def kcat_metadata(bootstrap):
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-m", "10"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


def test_kraft_peer_is_a_kafka_node_on_loopback(kraft_bootstrap):
    err, features = finalized_features(kraft_bootstrap)
    assert err == 0
    assert features.get("metadata.version", 0) >= 1, features
    metadata = kcat_metadata(kraft_bootstrap)
    assert [b["name"] for b in metadata["brokers"]] == [kraft_bootstrap], metadata
    assert metadata["controllerid"] == metadata["brokers"][0]["id"], metadata


def test_zookeeper_peer_starts_and_stops_leaving_no_process(tmp_path):
    peer_dir = str(tmp_path)
    try:
        bootstrap = started(peer_dir, "--mode", "zookeeper")
        pids = [int(open(os.path.join(peer_dir, f)).read()) for f in ("kafka.pid", "zookeeper.pid")]
        assert all(pid in processes_naming(peer_dir + "/") for pid in pids)
        with open(os.path.join(peer_dir, "version")) as f:
            assert f.read().startswith("3.9.")
        brokers = kcat_metadata(bootstrap)["brokers"]
        assert [b["name"] for b in brokers] == [bootstrap], brokers
    finally:
        stop(peer_dir)
    assert processes_naming(peer_dir + "/") == []
    assert not os.path.exists(os.path.join(peer_dir, "kafka.pid"))
    assert not os.path.exists(os.path.join(peer_dir, "zookeeper.pid"))


def test_a_peer_that_cannot_start_says_why_and_leaves_no_process(tmp_path):
    peer_dir = str(tmp_path)
    env = dict(os.environ, SLUICE_KAFKA_HEAP="-Xms2G -Xmx1G")
    try:
        result = peer("start", "--dir", peer_dir, "--mode", "zookeeper", env=env)
    finally:
        stop(peer_dir)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Initial heap size set to a larger value than the maximum heap size" in result.stderr
    assert processes_naming(peer_dir + "/") == []
