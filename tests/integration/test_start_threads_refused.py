"""A start that cannot create its threads: inside a cgroup whose pids.max lets
the broker create none of its shard or helper threads, the start fails with one
log line naming the shard and the reason and exits 1 (it used to crash with
SIGSEGV stopping timers of shards never set up, and a shard thread that could
not be spawned left the process exiting 0). Skipped without root or cgroup v1's
pids controller."""
import os
import subprocess

import pytest

from conftest import SLUICE_BIN, free_port

PIDS_ROOT = "/sys/fs/cgroup/pids"
START_TIMEOUT_S = 60


@pytest.fixture
def pids_cgroup():
    if os.geteuid() != 0 or not os.path.isdir(PIDS_ROOT):
        pytest.skip("needs root and the pids cgroup controller")
    path = os.path.join(PIDS_ROOT, f"sluice-test-{os.getpid()}")
    os.mkdir(path)
    yield path
    with open(os.path.join(path, "pids.max"), "w") as f:
        f.write("max")
    os.rmdir(path)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_start_without_threads_fails_cleanly(pids_cgroup, tmp_path, limit):
    with open(os.path.join(pids_cgroup, "pids.max"), "w") as f:
        f.write(str(limit))

    def enter_cgroup():
        with open(os.path.join(pids_cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    env = dict(os.environ)
    if limit == 1:
        # LeakSanitizer needs a thread of its own to check at exit.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    p = subprocess.run(
        [SLUICE_BIN, "--set", f"listeners=PLAINTEXT://127.0.0.1:{free_port()}",
         "--set", f"log.dirs={tmp_path / 'data'}",
         "--set", "num.network.threads=4", "--set", "num.io.threads=4"],
        preexec_fn=enter_cgroup, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=START_TIMEOUT_S)
    log = p.stderr.decode(errors="replace")
    assert p.returncode == 1, f"exit {p.returncode}: {log[-3000:]}"
    assert "Resource temporarily unavailable" in log
    assert "stopped" in log
