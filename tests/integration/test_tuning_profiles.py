"""The config profiles in tuning/profiles/: the broker starts with each one
(`sluice --config FILE`, listeners and log.dirs given with --set on free
ports), names none of its keys unknown or unused in its log, and a real
client (Debian's confluent-kafka) produces through it and consumes the
records back."""
import os
import pathlib
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer

from conftest import SLUICE_BIN, free_port

SOURCE = pathlib.Path(os.environ.get("SLUICE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
PROFILES = ["throughput", "latency", "durable"]
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
CLIENT_TIMEOUT_S = 30
RECORDS = 200


def profile_keys(path):
    keys = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            keys.append(line.split("=", 1)[0].strip())
    return keys


def start(path, tmp_path):
    """A broker on `--config path` and free ports; waits (bounded) until it
    is ready or has exited."""
    port = free_port()
    log_path = tmp_path / f"{path.stem}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [SLUICE_BIN, "--config", str(path),
         "--set", f"listeners=PLAINTEXT://127.0.0.1:{port}",
         "--set", f"log.dirs={tmp_path / path.stem}",
         "--set", f"sluice.metrics.port={free_port()}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.time() + READY_TIMEOUT_S
    while time.time() < deadline:
        if proc.poll() is not None or "sluice ready" in log_path.read_text(errors="replace"):
            break
        time.sleep(0.05)
    return proc, log, log_path, f"127.0.0.1:{port}"


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_loads_and_serves(profile, tmp_path):
    path = SOURCE / "tuning/profiles" / f"{profile}.properties"
    assert profile_keys(path), f"{path} sets no key"
    proc, log, log_path, bootstrap = start(path, tmp_path)
    try:
        text = log_path.read_text(errors="replace")
        assert proc.poll() is None and "sluice ready" in text, text[-2000:]
        assert "unknown setting" not in text and "does not use yet" not in text, text[-2000:]
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        for i in range(RECORDS):
            producer.produce("profile", value=b"v%d" % i)
        assert producer.flush(CLIENT_TIMEOUT_S) == 0
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "profile",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe(["profile"])
        got = []
        deadline = time.time() + CLIENT_TIMEOUT_S
        while len(got) < RECORDS and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m.value())
        consumer.close()
        assert sorted(got) == sorted(b"v%d" % i for i in range(RECORDS))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
    assert proc.returncode == 0, log_path.read_text(errors="replace")[-2000:]


def test_unknown_key_is_caught(tmp_path):
    """The check above can fail: a profile with a key sluice does not know
    leaves the warning it looks for."""
    typo = tmp_path / "typo.properties"
    typo.write_text("num.io.thread=2\n")
    proc, log, log_path, _ = start(typo, tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(STOP_TIMEOUT_S)
    log.close()
    assert "unknown setting num.io.thread" in log_path.read_text(errors="replace")
