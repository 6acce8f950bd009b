"""Apache Kafka beside sluice, through scripts/kafka-peer.sh: the classpath of
Kafka's jars (its tools and Java client) and a running Kafka node (the suite's
peer when scripts/test.sh started one, else one of our own, stopped after)."""
import contextlib
import os
import subprocess

SOURCE_DIR = os.environ.get("SLUICE_SOURCE_DIR",
                            os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PEER = os.path.join(SOURCE_DIR, "scripts", "kafka-peer.sh")
# The script bounds its own waits (60 s to serve, 30 s to stop); these bound
# the script, with room for the JVM's start on a busy machine.
PEER_START_TIMEOUT_S = 180
PEER_STOP_TIMEOUT_S = 90


def version_args():
    version = os.environ.get("SLUICE_KAFKA_VERSION")
    return ["--version", version] if version else []


def classpath():
    """SLUICE_KAFKA_CLASSPATH, else what the peer script names (it fails
    when Kafka's jars are not fetched yet, and says so)."""
    if os.environ.get("SLUICE_KAFKA_CLASSPATH"):
        return os.environ["SLUICE_KAFKA_CLASSPATH"]
    p = subprocess.run(["bash", PEER, "classpath", *version_args()], capture_output=True,
                       text=True, timeout=PEER_START_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"scripts/kafka-peer.sh classpath: {p.stderr}"
    return p.stdout.strip()


def stop_node(peer_dir):
    subprocess.run(["bash", PEER, "stop", "--dir", peer_dir], timeout=PEER_STOP_TIMEOUT_S,
                   stdin=subprocess.DEVNULL, check=True)


@contextlib.contextmanager
def kafka_node(peer_dir, own=False, settings=None):
    """Yields the bootstrap address of the suite's peer, or (own, or no suite
    peer) of a Kafka of our own in peer_dir, its log.dirs in peer_dir/data,
    started with `settings` ({key: value}, on top of the script's), stopped
    after (stop_node may stop it earlier)."""
    if os.environ.get("SLUICE_KAFKA_BOOTSTRAP") and not own:
        yield os.environ["SLUICE_KAFKA_BOOTSTRAP"]
        return
    sets = [a for k, v in (settings or {}).items() for a in ("--set", f"{k}={v}")]
    p = subprocess.run(["bash", PEER, "start", "--dir", peer_dir, *version_args(), *sets],
                       capture_output=True, text=True, timeout=PEER_START_TIMEOUT_S,
                       stdin=subprocess.DEVNULL)
    try:
        assert p.returncode == 0, f"scripts/kafka-peer.sh start: {p.stderr[-2000:]}"
        yield p.stdout.strip().split("=", 1)[1]
    finally:
        subprocess.run(["bash", PEER, "stop", "--dir", peer_dir], timeout=PEER_STOP_TIMEOUT_S,
                       stdin=subprocess.DEVNULL, check=False)
