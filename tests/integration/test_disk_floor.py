"""A small loop-mounted ext4 filesystem as log.dirs, filled by produce.
With the free-space floor (sluice.log.dir.min.free.bytes) produce is refused
with KAFKA_STORAGE_ERROR before the disk is full (no ENOSPC is ever met);
without it (floor 0) the real ENOSPC answers the same. Either way the broker
stays up, serves fetches and metadata, keeps every acknowledged record, and
once a topic is deleted produce resumes without a restart. Needs root (mount);
skipped otherwise. The tmpfs case with a filler file is test_disk_full.py."""
import os
import subprocess
import tempfile
import time

import pytest
from confluent_kafka.admin import AdminClient

from conftest import Broker
from kafka_wire import Conn, api_versions, batches, fetch_v4, produce_v3, record_batch

KAFKA_STORAGE_ERROR = 56
IMAGE_BYTES = 64 << 20
FLOOR_BYTES = 16 << 20
VALUE_BYTES = 64 << 10
PRODUCE_MAX = 2000
RESUME_TIMEOUT_S = 20

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting an ext4 image needs root")


@pytest.fixture
def ext4_fs():
    with tempfile.TemporaryDirectory(prefix="sluice-floor-") as d:
        image = os.path.join(d, "fs.img")
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        with open(image, "wb") as f:
            f.truncate(IMAGE_BYTES)
        # -m 0: no blocks reserved for root, so the broker (root here) meets
        # ENOSPC where statvfs says the space ends.
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", image], check=True, timeout=60)
        try:
            subprocess.run(["mount", "-o", "loop", image, mnt], check=True, timeout=30)
        except subprocess.CalledProcessError:
            pytest.skip("cannot loop-mount an ext4 image here")
        try:
            yield d, mnt
        finally:
            subprocess.run(["umount", mnt], timeout=30)


def value(topic, i):
    return (b"%s-%08d-" % (topic.encode(), i)).ljust(VALUE_BYTES, b"v")


def read_back(c, topic, upto):
    got = {}
    offset = 0
    while offset <= upto:
        err, hw, records = fetch_v4(c, topic, 0, offset)
        assert err == 0 and records, f"fetch {topic} at {offset} answered {err}"
        pos = 0
        for base, total in batches(records):
            got[base] = records[pos:pos + total]
            pos += total
            offset = base + 1
    return got


def fill_until_refused(c, acked):
    """Produces to "filler" until refused; returns the error."""
    for i in range(PRODUCE_MAX):
        err, base = produce_v3(c, "filler", 0, record_batch([value("filler", i)]))
        if err != 0:
            return err
        acked[base] = value("filler", i)
    return 0


@pytest.mark.parametrize("floor", [FLOOR_BYTES, 0], ids=["floor", "enospc"])
def test_small_ext4_fills_refuses_and_resumes(ext4_fs, floor):
    outside, mnt = ext4_fs
    b = Broker(os.path.join(mnt, "data"), {"log.segment.bytes": 4 << 20,
                                           "sluice.log.dir.min.free.bytes": floor})
    b.log_path = os.path.join(outside, "broker.log")  # not on the small filesystem
    b.start()
    try:
        run_fill(b, mnt, floor)
        assert b.alive(), "the broker died"
    finally:
        rc = b.stop()
        text = b.log_text()
        print(b.log_tail(40))  # shown by pytest when the test fails
    assert rc == 0, f"broker exited with {rc}"
    assert "AddressSanitizer" not in text and "runtime error:" not in text
    assert not [f for f in os.listdir(outside) if f.startswith("core")]


def run_fill(b, mnt, floor):
    c = Conn(b.bootstrap)
    keep = {}
    for i in range(4):
        err, base = produce_v3(c, "keep", 0, record_batch([value("keep", i)]))
        assert err == 0
        keep[base] = value("keep", i)
    filler = {}
    assert fill_until_refused(c, filler) == KAFKA_STORAGE_ERROR, "produce never refused"
    text = b.log_text()
    if floor:
        assert "below sluice.log.dir.min.free.bytes" in text
        assert "No space left on device" not in text, "the floor did not trigger before ENOSPC"
        st = os.statvfs(mnt)
        assert st.f_bavail * st.f_frsize > 0
        assert b.metrics()["sluice_log_dir_refusing"] == 1
    else:
        assert "No space left on device" in text
    # The floor refuses every partition; a real ENOSPC only those whose
    # writes fail (a small batch may still fit another's last block).
    err, base = produce_v3(c, "keep", 0, record_batch([b"more"]))
    if floor:
        assert err == KAFKA_STORAGE_ERROR
    elif err == 0:
        keep[base] = b"more"
    # Served throughout: metadata, fetches, every acknowledged record.
    other = Conn(b.bootstrap)
    assert api_versions(other)[0] == 0
    for topic, acked in (("keep", keep), ("filler", filler)):
        got = read_back(other, topic, max(acked))
        for off, v in acked.items():
            assert v in got[off], f"acknowledged {topic} offset {off} missing"
    other.close()

    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    for f in admin.delete_topics(["filler"], operation_timeout=10).values():
        f.result(timeout=30)
    deadline = time.time() + RESUME_TIMEOUT_S
    while True:
        err, base = produce_v3(c, "keep", 0, record_batch([value("keep", 99)]))
        if err == 0 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert err == 0, "produce did not resume after the topic was deleted"
    assert base == max(keep) + 1
    keep[base] = value("keep", 99)
    if floor:
        assert b.log_text().count("below sluice.log.dir.min.free.bytes") == 1
        assert b.log_text().count("produce accepted") == 1
    got = read_back(c, "keep", max(keep))
    for off, v in keep.items():
        assert v in got[off], f"acknowledged keep offset {off} missing"
    c.close()
