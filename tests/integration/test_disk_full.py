"""A full disk: log.dirs on a size-limited tmpfs, filled by produce until the
broker answers KAFKA_STORAGE_ERROR. The log line names ENOSPC; other requests
and reads below the high watermark keep being served; once a filler file is
removed, produce and fetch resume without a restart, and every acknowledged
record is there. Needs root (mount); skipped otherwise."""
import os
import subprocess
import tempfile
import time

import confluent_kafka
import pytest

from conftest import Broker
from kafka_wire import Conn, api_versions, batches, fetch_v4, list_offsets_v7, produce_v3, record_batch

KAFKA_STORAGE_ERROR = 56
MOUNT_BYTES = 24 << 20
HEADROOM_BYTES = 3 << 20
VALUE_BYTES = 32 << 10
PRODUCE_MAX = 400
RESUME_TIMEOUT_S = 15

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_fs():
    with tempfile.TemporaryDirectory(prefix="sluice-full-") as d:
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={MOUNT_BYTES}", "tmpfs", mnt],
                       check=True, timeout=30)
        try:
            yield d, mnt
        finally:
            subprocess.run(["umount", "-l", mnt], timeout=30)


def value(i):
    return (b"%08d" % i) * (VALUE_BYTES // 8)


def test_full_disk_refuses_then_resumes(small_fs):
    """The broker's own log goes outside the small filesystem."""
    outside, mnt = small_fs
    # No free-space floor: this is the real ENOSPC (the floor is
    # test_disk_floor.py's).
    b = Broker(os.path.join(mnt, "data"), {"log.segment.bytes": 1 << 20,
                                           "sluice.log.dir.min.free.bytes": 0})
    b.log_path = os.path.join(outside, "broker.log")
    b.start()
    try:
        run_full_disk(b, mnt)
    finally:
        b.stop()
        print(b.log_tail(40))  # shown by pytest when the test fails


def run_full_disk(b, mnt):
    c = Conn(b.bootstrap)
    acked = {}
    err, base = produce_v3(c, "full", 0, record_batch([value(0)]))
    assert err == 0
    acked[base] = value(0)
    st = os.statvfs(mnt)
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * (st.f_bavail * st.f_frsize - HEADROOM_BYTES))

    refused = None
    for i in range(1, PRODUCE_MAX):
        err, base = produce_v3(c, "full", 0, record_batch([value(i)]))
        if err == 0:
            acked[base] = value(i)
        else:
            refused = err
            break
    assert refused == KAFKA_STORAGE_ERROR, f"produce never refused (last error {refused})"
    assert "No space left on device" in b.log_text()
    assert "Input/output error" not in b.log_text()

    # Still full: other requests and reads below the high watermark go on.
    other = Conn(b.bootstrap)
    assert api_versions(other)[0] == 0
    err, _, end = list_offsets_v7(other, "full", 0, -1)
    assert err == 0 and end == max(acked) + 1
    err, hw, records = fetch_v4(other, "full", 0, 0)
    assert err == 0 and hw == end and value(0) in records
    assert produce_v3(other, "full", 0, record_batch([b"again"]))[0] == KAFKA_STORAGE_ERROR
    other.close()
    md = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
    assert "full" in md.topics and md.topics["full"].error is None

    os.unlink(filler)
    deadline = time.time() + RESUME_TIMEOUT_S
    while True:
        err, base = produce_v3(c, "full", 0, record_batch([value(10**6)]))
        if err == 0 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert err == 0, "produce did not resume after space was freed"
    assert base == end, "offsets were skipped or reused across the failure"
    acked[base] = value(10**6)
    assert "writes resumed" in b.log_text()

    got = {}
    offset = 0
    while offset <= max(acked):
        err, hw, records = fetch_v4(c, "full", 0, offset)
        assert err == 0 and records, f"fetch at {offset} answered {err}"
        pos = 0
        for batch_base, total in batches(records):
            got[batch_base] = records[pos:pos + total]
            pos += total
            offset = batch_base + 1
    for off, v in acked.items():
        assert v in got[off], f"acknowledged offset {off} missing"
    assert sorted(got) == list(range(len(got)))
    c.close()
