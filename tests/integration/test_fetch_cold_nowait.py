"""A fetch that may not wait (max_wait_ms=0, or min_bytes=0) of data out of
the page cache gets the data, as from Kafka, which answers what exists
whatever max_wait_ms says: never an empty answer because the range was cold.
Also the last batch of a segment on a filesystem of 1 KiB blocks, whose last
page the kernel never calls up to date (mincore says not resident though it
is cached): it is not taken for cold. The long-poll cold path is
test_fetch_cold.py."""
import os

import pytest

from conftest import Broker
from kafka_wire import Conn, batches, fetch_v4, produce_v3, record_batch
from test_disk_floor import ext4_fs  # noqa: F401 (a fixture: a 64 MiB ext4, 1 KiB blocks)
from test_fetch_cold import drop_from_page_cache, fill, on_disk

BATCHES = 400
TAIL_BATCHES = 4
TAIL_VALUE_BYTES = 64 << 10
RESIDENCY_PAGE_BYTES = 4096


def test_cold_range_answered_at_once_with_its_records(make_broker):
    b = make_broker({"log.segment.bytes": 1 << 20})
    # One topic per offset: the pages a read touched stay mapped by the
    # broker, which posix_fadvise cannot drop.
    # (max_wait_ms, min_bytes): both answer after their first plan.
    cases = ((0, 0, 0), (8 * (BATCHES // 2), 0, 1), (8 * (BATCHES - 1), 0, 0),
             (8 * (BATCHES // 3), 5000, 0))
    c = Conn(b.bootstrap, timeout=30)
    for k in range(len(cases)):
        fill(c, f"nowait-{k}", 0, BATCHES)
    for k, (offset, max_wait_ms, min_bytes) in enumerate(cases):
        topic = f"nowait-{k}"
        expected = on_disk(b, topic, 0)
        drop_from_page_cache(b, topic, [0])
        before = b.metrics()["sluice_fetch_cold_unwaited_total"]
        err, hw, records = fetch_v4(c, topic, 0, offset, max_wait_ms=max_wait_ms,
                                    min_bytes=min_bytes)
        assert err == 0 and hw == 8 * BATCHES
        got = batches(records)
        assert got, f"fetch at {offset} of a cold range answered empty"
        assert got[0][0] <= offset
        whole = sum(n for _, n in got)
        assert records[:whole] in expected
        assert b.metrics()["sluice_fetch_cold_unwaited_total"] > before
    c.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting an ext4 image needs root")
def test_last_batch_on_small_blocks_is_not_cold(ext4_fs):
    outside, mnt = ext4_fs
    if os.statvfs(mnt).f_bsize >= RESIDENCY_PAGE_BYTES:
        pytest.skip("mkfs.ext4 made blocks of a page here")
    b = Broker(os.path.join(mnt, "data"), {"log.segment.bytes": 4 << 20})
    b.log_path = os.path.join(outside, "broker.log")
    b.start()
    try:
        c = Conn(b.bootstrap)
        for i in range(TAIL_BATCHES):
            value = (b"%d-" % i).ljust(TAIL_VALUE_BYTES, b"t")
            assert produce_v3(c, "tail", 0, record_batch([value]))[0] == 0
        for offset in range(TAIL_BATCHES):
            err, _, records = fetch_v4(c, "tail", 0, offset, max_wait_ms=0)
            assert err == 0
            assert [base for base, _ in batches(records)] == list(range(offset, TAIL_BATCHES))
        assert b.metrics()["sluice_fetch_cold_fetches_total"] == 0
        c.close()
    finally:
        rc = b.stop()
    assert rc == 0
