"""Corruption with the real broker: torn and bit-flipped tails after clean and
unclean (kill -9) stops never reuse offsets or serve old data; a corrupt batch
in an old segment is answered with CORRUPT_MESSAGE for that partition (logged
once), other partitions unharmed; missing or corrupt index files are rebuilt
with the data intact; the recovery point is checkpointed while running, so a
restart after kill -9 re-scans only the active segment."""
import glob
import os
import struct
import time

from kafka_wire import Conn, batches, fetch_v4, list_offsets_v7, produce_v3, record_batch

CORRUPT_MESSAGE = 2
LATEST = -1
BATCHES = 40
PER_BATCH = 5
TS0 = 1_700_000_000_000


def value(batch, i):
    return b"b%03d-r%d-" % (batch, i) + b"x" * 80


def produce_batches(bootstrap, topic, partition, count, first=0):
    c = Conn(bootstrap)
    bases = []
    for k in range(first, first + count):
        vals = [value(k, i) for i in range(PER_BATCH)]
        err, base = produce_v3(c, topic, partition, record_batch(vals, ts=TS0 + 1000 * k))
        assert err == 0, f"produce failed with {err}"
        bases.append(base)
    c.close()
    return bases


def segments(data_dir, topic, partition, ext=".log"):
    return sorted(glob.glob(os.path.join(data_dir, f"{topic}-{partition}", "*" + ext)))


def file_batches(path):
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    for base, total in batches(data):
        out.append((base, pos, total))
        pos += total
    return out


def flip(path, pos):
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x10]))


def latest(bootstrap, topic, partition=0):
    c = Conn(bootstrap)
    err, _, off = list_offsets_v7(c, topic, partition, LATEST)
    c.close()
    assert err == 0
    return off


def fetch_values(bootstrap, topic, partition, offset, max_bytes=1 << 20):
    c = Conn(bootstrap)
    err, hw, records = fetch_v4(c, topic, partition, offset, partition_max_bytes=max_bytes)
    c.close()
    return err, hw, records


def check_tail_damage(make_broker, damage, unclean):
    # Every batch indexed: the last index entry names the damaged batch.
    b = make_broker({"log.index.interval.bytes": 0})
    produce_batches(b.bootstrap, "tail", 0, BATCHES)
    if unclean:
        b.kill9()
    else:
        assert b.stop() == 0
    seg = segments(b.data_dir, "tail", 0)[-1]
    last_base, last_pos, last_len = file_batches(seg)[-1]
    assert last_base == (BATCHES - 1) * PER_BATCH
    damage(seg, last_pos, last_len)
    b.start()
    end = latest(b.bootstrap, "tail")
    assert end == last_base, f"log end {end}, expected the last valid batch's end {last_base}"
    assert "truncating" in b.log_text()
    new = produce_batches(b.bootstrap, "tail", 0, 1, first=500)
    assert new == [last_base], "offsets handed out twice"
    err, _, records = fetch_values(b.bootstrap, "tail", 0, 0)
    assert err == 0 and value(0, 0) in records
    err, _, records = fetch_values(b.bootstrap, "tail", 0, last_base)
    assert err == 0 and value(500, 0) in records and value(BATCHES - 1, 0) not in records


def tear(seg, pos, length):
    os.truncate(seg, pos + length // 2)


def bit_flip(seg, pos, length):
    flip(seg, pos + length - 10)


def test_bit_flip_in_last_batch_after_clean_stop(make_broker):
    check_tail_damage(make_broker, bit_flip, unclean=False)


def test_torn_last_batch_after_clean_stop(make_broker):
    check_tail_damage(make_broker, tear, unclean=False)


def test_bit_flip_in_last_batch_after_kill9(make_broker):
    check_tail_damage(make_broker, bit_flip, unclean=True)


def test_torn_last_batch_after_kill9(make_broker):
    check_tail_damage(make_broker, tear, unclean=True)


def test_corrupt_old_segment_answers_error(make_broker):
    b = make_broker({"log.segment.bytes": 4096, "num.partitions": 2})
    produce_batches(b.bootstrap, "old", 0, BATCHES)
    produce_batches(b.bootstrap, "old", 1, BATCHES)
    assert b.stop() == 0
    first = segments(b.data_dir, "old", 0)[0]
    assert len(segments(b.data_dir, "old", 0)) > 3
    bad_base, bad_pos, _ = file_batches(first)[3]
    with open(first, "r+b") as f:
        f.seek(bad_pos + 16)
        f.write(b"\x07")  # magic
    b.start()
    for _ in range(3):
        err, hw, records = fetch_values(b.bootstrap, "old", 0, bad_base)
        assert err == CORRUPT_MESSAGE, f"fetch at the corrupt batch answered {err}"
        assert records == b""
    assert hw == -1  # an error partition carries no high watermark, as in Kafka
    text = b.log_text()
    assert text.count("cannot read the batch at byte %d" % bad_pos) == 1
    assert os.path.basename(first) in text
    err, _, records = fetch_values(b.bootstrap, "old", 0, 0)
    assert err == 0 and [base for base, _ in batches(records)] == [0, 5, 10]
    err, _, records = fetch_values(b.bootstrap, "old", 1, bad_base)
    assert err == 0 and batches(records)[0][0] == bad_base
    later = segments(b.data_dir, "old", 0)[2]
    later_base = int(os.path.basename(later)[:20])
    err, _, records = fetch_values(b.bootstrap, "old", 0, later_base)
    assert err == 0 and batches(records)[0][0] == later_base


def test_missing_and_corrupt_indexes_rebuilt(make_broker):
    b = make_broker({"log.segment.bytes": 4096, "log.index.interval.bytes": 600})
    produce_batches(b.bootstrap, "idx", 0, BATCHES)
    assert b.stop() == 0
    logs = segments(b.data_dir, "idx", 0)
    assert len(logs) > 3
    os.unlink(logs[0][:-4] + ".index")
    os.unlink(logs[1][:-4] + ".timeindex")
    with open(logs[2][:-4] + ".index", "r+b") as f:
        f.write(struct.pack(">ii", 3, 7777) * 2)
    with open(logs[-1][:-4] + ".timeindex", "wb") as f:
        f.write(b"\xff" * 24)
    b.start()
    c = Conn(b.bootstrap)
    for k in range(BATCHES):
        for i in (0, PER_BATCH - 1):
            err, _, records = fetch_v4(c, "idx", 0, k * PER_BATCH + i, partition_max_bytes=1)
            assert err == 0, f"fetch at {k * PER_BATCH + i} answered {err}"
            assert value(k, i) in records
        err, ts, off = list_offsets_v7(c, "idx", 0, TS0 + 1000 * k)
        assert err == 0 and off == k * PER_BATCH and ts == TS0 + 1000 * k
    c.close()


def read_checkpoint(data_dir, topic, partition=0):
    path = os.path.join(data_dir, "recovery-point-offset-checkpoint")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f.read().splitlines()[2:]:
            t, p, off = line.split()
            if t == topic and int(p) == partition:
                return int(off)
    return None


def test_recovery_point_checkpointed_and_unclean_restart_rescans_active_only(make_broker):
    b = make_broker({"log.segment.bytes": 4096, "log.flush.offset.checkpoint.interval.ms": 100})
    produce_batches(b.bootstrap, "rp", 0, BATCHES)
    logs = segments(b.data_dir, "rp", 0)
    active_base = int(os.path.basename(logs[-1])[:20])
    deadline = time.time() + 10
    while read_checkpoint(b.data_dir, "rp") != active_base and time.time() < deadline:
        time.sleep(0.05)
    assert read_checkpoint(b.data_dir, "rp") == active_base, \
        "the recovery point did not move with the rolls"
    b.kill9()
    _, pos, length = file_batches(logs[0])[2]
    flip(logs[0], pos + length - 10)  # flushed: not re-read at start
    b.start()
    assert "CRC" not in b.log_text()
    assert latest(b.bootstrap, "rp") == BATCHES * PER_BATCH
    assert os.path.getsize(logs[0]) == sum(n for _, _, n in file_batches(logs[0]))
    assert all(os.path.exists(p) for p in logs)
