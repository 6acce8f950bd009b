"""Harness for integration tests: starts the built broker on a free loopback
port with its own data directory, waits until it is ready, and stops it (by
PID) afterwards. Every wait is bounded."""
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

SLUICE_BIN = os.environ.get("SLUICE_BIN", "build/sluice")
SANITIZED = os.environ.get("SLUICE_TEST_SANITIZED") == "1"
# kafka-python probes the broker's API versions with a 2 s deadline by default,
# which a loaded CI machine can miss (NoBrokersAvailable): give it 20 s.
KAFKA_PYTHON_PROBE = {"api_version_auto_timeout_ms": 20000}
# "N+M": every broker a test starts without its own layout runs N network and
# M io shards (scripts/test.sh runs the suite under several layouts).
LAYOUT = os.environ.get("SLUICE_TEST_LAYOUT", "")
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


# Below Linux's ephemeral range, so a client's outgoing connection cannot take
# a port the broker must bind again after a restart.
PORT_RANGE = (20000, 32000)


# Every port free_port has returned in this process: a broker binds its
# ports only once it starts, so a port handed out for its listener is still
# free when its metrics port is chosen, and must not be chosen again.
_handed_out = set()


def free_port():
    for _ in range(1000):
        port = random.randrange(*PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


class Broker:
    """One sluice process; restartable on the same data directory."""

    def __init__(self, data_dir, settings=None):
        self.data_dir = data_dir
        self.port = free_port()
        self.metrics_port = free_port()
        self.settings = dict(settings or {})
        self.proc = None
        self.log_path = data_dir + ".log"
        self.log_file = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        args = [SLUICE_BIN,
                "--set", f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "--set", f"log.dirs={self.data_dir}",
                "--set", f"sluice.metrics.port={self.metrics_port}"]
        settings = dict(self.settings)
        if LAYOUT and "num.network.threads" not in settings and "num.io.threads" not in settings:
            network, io = LAYOUT.split("+")
            settings.update({"num.network.threads": network, "num.io.threads": io})
        for k, v in settings.items():
            args += ["--set", f"{k}={v}"]
        self.log_file = open(self.log_path, "ab")
        log_start = self.log_file.tell()
        self.proc = subprocess.Popen(args, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + READY_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}:\n{self.log_tail()}")
            if "sluice ready" in self.log_text()[log_start:]:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"broker not ready in {READY_TIMEOUT_S}s:\n{self.log_tail()}")

    def stop(self, sig=signal.SIGTERM):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise RuntimeError(f"broker ignored signal {sig}:\n{self.log_tail()}")
        self.log_file.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log_file.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def metrics(self):
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=5).read().decode()
        values = {}
        for line in body.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            base = name.split("{", 1)[0]
            values[base] = values.get(base, 0) + float(value)
        return values


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="sluice-it-") as d:
        yield os.path.join(d, "data")


BROKER_LOG_LINES_ON_FAILURE = 60


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, so that a fixture's
    teardown knows whether the test failed."""
    outcome = yield
    setattr(item, "report_" + call.when, outcome.get_result())


@pytest.fixture
def make_broker(data_dir, request):
    """Factory: make_broker(settings) -> a started Broker; all are stopped after.
    When the test failed, each broker's log tail is printed (pytest shows it
    under the test's captured output): the log dies with the data directory."""
    started = []

    def make(settings=None):
        b = Broker(data_dir, settings).start()
        started.append(b)
        return b

    yield make
    errors = []
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for b in started:
            print(f"--- broker on port {b.port}, last {BROKER_LOG_LINES_ON_FAILURE} log lines ---")
            print(b.log_tail(BROKER_LOG_LINES_ON_FAILURE))
    for b in started:
        if b.alive():
            rc = b.stop()
            if rc != 0:
                errors.append(f"broker exited with {rc} at shutdown:\n{b.log_tail()}")
        text = b.log_text()
        if "AddressSanitizer" in text or "ThreadSanitizer" in text or "runtime error:" in text:
            errors.append(f"sanitizer report:\n{b.log_tail(80)}")
    assert not errors, "\n".join(errors)


@pytest.fixture
def broker(make_broker):
    return make_broker()


def run(cmd, timeout=120, input_bytes=None, check=True):
    """Runs a client command, bounded; returns stdout bytes."""
    p = subprocess.run(cmd, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    return p.stdout


def scaled(n):
    """Message counts are kept, except under sanitizers where they shrink 4x
    for the slowest loops (callers say which)."""
    return n // 4 if SANITIZED else n
