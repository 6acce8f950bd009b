"""Fetches of segments that are not in the page cache (KAFKA-7504) and hot
fetches spliced on the shard's loop: a range dropped with
posix_fadvise(DONTNEED) is served whole and counted; with
sluice.fetch.cold.reads.max=1 no shard runs two cold reads at once, the
reads over the limit queue, and several cold consumers all get their data; a hot fetch returns the segment's bytes
exactly, without a splice in io_uring's workers; a slow reader with a full
socket gets a whole response while the shard serves others."""
import glob
import os
import socket
import struct
import subprocess
import threading
import time
import urllib.request

import pytest

from kafka_wire import Conn, batches, batches_end, fetch_v4, fetch_v4_partitions, metadata_v4, produce_v3, \
    record_batch

BATCH_VALUES = 8
VALUE_BYTES = 1000


def fill(conn, topic, partition, count, tag=b""):
    for i in range(count):
        values = [tag + b"%d-%d-" % (i, k) + b"c" * VALUE_BYTES for k in range(BATCH_VALUES)]
        err, _ = produce_v3(conn, topic, partition, record_batch(values))
        assert err == 0


def segment_files(broker, topic, partition):
    return sorted(glob.glob(os.path.join(broker.data_dir, f"{topic}-{partition}", "*.log")))


def resident_bytes(paths):
    out = subprocess.run(["fincore", "-b", "-n", "-o", "RES"] + paths, capture_output=True,
                         check=True).stdout.split()
    return sum(int(v) for v in out)


def drop_from_page_cache(broker, topic, partitions):
    """Every segment of the partitions out of the page cache; skips where
    the filesystem keeps them (tmpfs)."""
    paths = []
    for p in partitions:
        paths += segment_files(broker, topic, p)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    left = resident_bytes(paths)
    if left > len(paths) * 3 * 4096:  # each segment's last pages may stay mapped
        pytest.skip(f"the page cache keeps {left} bytes of the segments here")


def metric_samples(broker, name):
    body = urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                  timeout=5).read().decode()
    return [float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
            if line.startswith(name + "{") or line.startswith(name + " ")]


def read_all(bootstrap, topic, partition, max_wait_ms=5000):
    """Every batch's bytes from offset 0 to the high watermark, fetching as a
    consumer does (long polls)."""
    conn = Conn(bootstrap, timeout=30)
    out, offset = b"", 0
    deadline = time.time() + 60
    while time.time() < deadline:
        err, hw, records = fetch_v4(conn, topic, partition, offset, max_wait_ms=max_wait_ms,
                                    min_bytes=1)
        assert err == 0, err
        got = batches(records)
        if got:
            whole = sum(n for _, n in got)
            out += records[:whole]
            last = records[whole - got[-1][1]:whole]
            offset = got[-1][0] + struct.unpack(">i", last[23:27])[0] + 1
        if offset >= hw:
            conn.close()
            return out
    raise AssertionError(f"{topic}-{partition}: stuck at offset {offset}")


def batches_in_file(path):
    """A segment file's batches, without the zeros after them (see batches())."""
    data = open(path, "rb").read()
    return data[:batches_end(data)]


def on_disk(broker, topic, partition):
    return b"".join(batches_in_file(p) for p in segment_files(broker, topic, partition))


def test_cold_range_served_and_counted(make_broker):
    b = make_broker({"log.segment.bytes": 1 << 20})
    c = Conn(b.bootstrap)
    fill(c, "cold", 0, 400)
    c.close()
    expected = on_disk(b, "cold", 0)
    drop_from_page_cache(b, "cold", [0])
    before = b.metrics()
    assert read_all(b.bootstrap, "cold", 0) == expected
    after = b.metrics()
    for name in ("sluice_fetch_cold_fetches_total", "sluice_fetch_cold_reads_total",
                 "sluice_fetch_cold_bytes_total"):
        assert after[name] > before[name], name
    assert after["sluice_fetch_cold_failures_total"] == 0


def test_cold_limit_holds_with_several_consumers(make_broker):
    b = make_broker({"sluice.fetch.cold.reads.max": 1, "num.io.threads": 1,
                     "num.partitions": 4, "log.segment.bytes": 1 << 20})
    c = Conn(b.bootstrap)
    metadata_v4(c, "many")
    partitions = list(range(4))
    for p in partitions:
        fill(c, "many", p, 150, tag=b"p%d-" % p)
    expected = {p: on_disk(b, "many", p) for p in partitions}
    drop_from_page_cache(b, "many", partitions)

    # One long poll of the four cold partitions: one read runs, three queue.
    out = fetch_v4_partitions(c, "many", [(p, 0) for p in partitions], max_wait_ms=5000,
                              min_bytes=1)
    assert all(out[p][0] == 0 for p in partitions)
    m = b.metrics()
    assert m["sluice_fetch_cold_queued_total"] >= 1
    assert max(metric_samples(b, "sluice_fetch_cold_reads_running")) <= 1

    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max([peak[0]] + metric_samples(b, "sluice_fetch_cold_reads_running"))
            time.sleep(0.002)

    results, errors = {}, []

    def consume(p):
        try:
            results[p] = read_all(b.bootstrap, "many", p)
        except Exception as e:  # reported below, with the partition
            errors.append((p, e))

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=consume, args=(p,)) for p in partitions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    stop.set()
    sampler.join()
    c.close()
    assert not errors, errors
    for p in partitions:
        assert results[p] == expected[p], f"partition {p} differs"
    assert peak[0] <= 1, f"{peak[0]} cold reads ran at once on a shard"
    assert b.metrics()["sluice_fetch_cold_reads_total"] >= len(partitions)


def test_hot_fetch_is_the_segment_bytes_on_the_loop(make_broker):
    b = make_broker()
    c = Conn(b.bootstrap)
    fill(c, "hot", 0, 300)
    expected = on_disk(b, "hot", 0)
    before = b.metrics()
    assert read_all(b.bootstrap, "hot", 0) == expected
    after = b.metrics()
    assert after["sluice_fetch_splices_offloaded_total"] == before["sluice_fetch_splices_offloaded_total"]
    assert after["sluice_fetch_cold_fetches_total"] == before["sluice_fetch_cold_fetches_total"]
    assert after["sluice_fetch_bytes_zero_copy_total"] - before["sluice_fetch_bytes_zero_copy_total"] \
        >= len(expected)
    c.close()


def test_full_socket_slow_reader(make_broker):
    b = make_broker()
    c = Conn(b.bootstrap)
    fill(c, "slow", 0, 1000)  # about 8 MiB, one fetch
    expected = on_disk(b, "slow", 0)
    assert len(expected) > 4 << 20
    host, port = b.bootstrap.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.connect((host, int(port)))
    slow = Conn.__new__(Conn)
    slow.sock, slow.corr, slow.topics_seen = s, 0, set()
    body = struct.pack(">iiiib", -1, 0, 0, 64 << 20, 0) + struct.pack(">i", 1)
    body += struct.pack(">h", 4) + b"slow" + struct.pack(">i", 1)
    body += struct.pack(">iqi", 0, 0, 64 << 20)
    slow.request(1, 4, body)
    time.sleep(1)  # the broker's sends meet a full socket: EAGAIN, then a poll
    t0 = time.time()
    for i in range(20):  # the shard serves others meanwhile
        assert produce_v3(c, "other", 0, record_batch([b"x%d" % i]))[0] == 0
    assert time.time() - t0 < 5
    size = struct.unpack(">i", slow._read(4))[0]
    got = b""
    while len(got) < size:
        got += slow.sock.recv(min(65536, size - len(got)))
        if len(got) < 1 << 20:
            time.sleep(0.001)
    rlen_at = len(got) - len(expected) - 4
    assert struct.unpack(">i", got[rlen_at:rlen_at + 4])[0] == len(expected)
    assert got[-len(expected):] == expected
    slow.close()
    c.close()
