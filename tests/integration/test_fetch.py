"""Fetch: log bytes leave by zero-copy, long polls wake on appends, KIP-74's
first-batch rule, OFFSET_OUT_OF_RANGE, and many segments."""
import os
import threading
import time
import urllib.request

from conftest import run
from kafka_wire import Conn, batches, fetch_v4, produce_v3, record_batch

OFFSET_OUT_OF_RANGE = 1


def test_log_bytes_go_zero_copy(broker, tmp_path):
    src = tmp_path / "in.txt"
    with open(src, "wb") as f:
        for i in range(20000):
            f.write(b"%d-" % i + b"z" * 1000 + b"\n")
    run(["kcat", "-b", broker.bootstrap, "-t", "zc", "-P", "-l", str(src)])
    # The log's own count of its bytes: the active segment's file is longer
    # while it is written (preallocated for mapped appends).
    body = urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                  timeout=5).read().decode()
    log_bytes = float(next(line.rsplit(" ", 1)[1] for line in body.splitlines()
                           if line.startswith('sluice_log_size_bytes{topic="zc",partition="0"}')))
    assert log_bytes > 20000 * 1000
    before = broker.metrics()
    out = run(["kcat", "-b", broker.bootstrap, "-t", "zc", "-C", "-e", "-o", "beginning"])
    assert out.count(b"\n") == 20000
    after = broker.metrics()
    sent = after["sluice_fetch_bytes_zero_copy_total"] - before["sluice_fetch_bytes_zero_copy_total"]
    assert sent >= log_bytes, f"only {sent} of {log_bytes} log bytes went zero-copy"
    assert after["sluice_fetch_bytes_copied_total"] == 0


def test_long_poll_wakes_on_append(broker):
    c = Conn(broker.bootstrap)
    assert produce_v3(c, "lp", 0, record_batch([b"first"]))[0] == 0
    start = time.time()
    err, hw, records = fetch_v4(c, "lp", 0, 1, max_wait_ms=500, min_bytes=1)
    assert err == 0 and records == b"" and time.time() - start >= 0.4

    result = {}

    def waiter():
        w = Conn(broker.bootstrap)
        t0 = time.time()
        result["fetch"] = fetch_v4(w, "lp", 0, 1, max_wait_ms=10000, min_bytes=1)
        result["elapsed"] = time.time() - t0
        w.close()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    assert produce_v3(c, "lp", 0, record_batch([b"second"]))[0] == 0
    t.join(15)
    err, hw, records = result["fetch"]
    assert err == 0 and hw == 2 and batches(records)[0][0] == 1
    assert result["elapsed"] < 5, "long poll was not woken by the append"
    c.close()


def test_first_batch_always_whole_and_limits(broker):
    c = Conn(broker.bootstrap)
    sizes = []
    for i in range(5):
        rb = record_batch([b"%d" % i + b"y" * 3000])
        sizes.append(len(rb))
        assert produce_v3(c, "kip74", 0, rb) == (0, i)
    err, _, records = fetch_v4(c, "kip74", 0, 0, partition_max_bytes=100)
    assert err == 0 and batches(records) == [(0, sizes[0])]
    err, _, records = fetch_v4(c, "kip74", 0, 0, partition_max_bytes=sum(sizes[:3]) + 10)
    assert [b for b, _ in batches(records)] == [0, 1, 2]
    err, _, records = fetch_v4(c, "kip74", 0, 3, partition_max_bytes=1 << 20)
    assert [b for b, _ in batches(records)] == [3, 4]
    err, _, _ = fetch_v4(c, "kip74", 0, 6)
    assert err == OFFSET_OUT_OF_RANGE
    err, hw, records = fetch_v4(c, "kip74", 0, 5)
    assert err == 0 and hw == 5 and records == b""
    c.close()


def test_many_segments(make_broker, tmp_path):
    b = make_broker({"log.segment.bytes": 1048576, "log.index.interval.bytes": 4096})
    src = tmp_path / "in.txt"
    lines = [b"%d-" % i + b"s" * (i % 500) for i in range(40000)]
    with open(src, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    run(["kcat", "-b", b.bootstrap, "-t", "seg", "-P", "-X", "batch.size=65536", "-l", str(src)])
    files = sorted(os.listdir(os.path.join(b.data_dir, "seg-0")))
    logs = [f for f in files if f.endswith(".log")]
    assert len(logs) >= 5
    for f in logs:
        stem = f[:-4]
        assert len(stem) == 20 and stem.isdigit()
        assert stem + ".index" in files and stem + ".timeindex" in files
    out = run(["kcat", "-b", b.bootstrap, "-t", "seg", "-C", "-e", "-o", "beginning"])
    assert out.split(b"\n")[:-1] == lines
    b.stop()
    b.start()
    out = run(["kcat", "-b", b.bootstrap, "-t", "seg", "-C", "-e", "-o", "-100"])
    assert out.split(b"\n")[:-1] == lines[-100:]
    idx = open(os.path.join(b.data_dir, "seg-0", logs[1][:-4] + ".index"), "rb").read()
    assert len(idx) % 8 == 0 and len(idx) >= 8
