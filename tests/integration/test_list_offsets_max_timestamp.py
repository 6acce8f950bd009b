"""ListOffsets MAX_TIMESTAMP (-3) over the wire: the first record that carries
the partition's largest timestamp, inside its batch (plain and gzip), over
several segments; a batch whose header max timestamp its records do not bear
out is stored with theirs (as Kafka's LogValidator writes it, CRC and all);
the answer is the same after a clean stop and after kill -9, when the largest
timestamps come back from the time indexes and the recovered tail; and after
DeleteRecords removed the segment that held it."""
import os
import struct
import time

import pytest

from kafka_wire import (Conn, crc32c, list_offsets_v7, partition_batches, produce_v3,
                        record_batch_timed, string)

MAX_TIMESTAMP = -3
TOPIC = "maxts"
# A minute in the past: neither retention nor the future bound touches it.
BASE_TS = (int(time.time()) - 60) * 1000
# Small segments: the batches below spread over several of them.
SETTINGS = {"log.segment.bytes": "300"}
# An index entry after every batch, or Kafka's default (4096: the active
# segment's largest timestamp is then in no entry until the segment is sealed).
INDEX_INTERVALS = ["1", "4096"]


def timed(deltas, **kw):
    return record_batch_timed([b"v%d" % i for i in range(len(deltas))],
                              [BASE_TS + d for d in deltas], **kw)


# (timestamp deltas of a batch's records, how it is made, the answer after it
# was appended: (timestamp delta, offset)).
APPENDS = [
    ([0, 30, 10], {}, (30, 1)),
    ([5, 70, 70, 20], {"gzip_records": True}, (70, 4)),
    ([70], {}, (70, 4)),                                   # a tie in a later batch
    ([1, 2], {}, (70, 4)),
    ([5, 90, 1], {"max_ts": BASE_TS}, (90, 11)),           # header below its records
    ([90, 3], {"max_ts": BASE_TS + 500}, (90, 11)),        # above: the first 90 stays
    ([6, 95, 95, 4], {"gzip_records": True, "max_ts": BASE_TS + 7}, (95, 16)),
]


def max_timestamp(conn):
    err, ts, off = list_offsets_v7(conn, TOPIC, 0, MAX_TIMESTAMP)
    assert err == 0, err
    return (ts - BASE_TS, off)


@pytest.mark.parametrize("interval", INDEX_INTERVALS)
def test_max_timestamp_inside_batches_and_across_restarts(make_broker, interval):
    b = make_broker({**SETTINGS, "log.index.interval.bytes": interval})
    c = Conn(b.bootstrap)
    offset = 0
    for deltas, kw, want in APPENDS:
        assert produce_v3(c, TOPIC, 0, timed(deltas, **kw)) == (0, offset)
        offset += len(deltas)
        assert max_timestamp(c) == want, f"after the batch {deltas} {kw}"
    c.close()
    want = APPENDS[-1][2]
    segments = [f for f in os.listdir(os.path.join(b.data_dir, f"{TOPIC}-0")) if f.endswith(".log")]
    assert len(segments) >= 3, f"the batches should span several segments: {segments}"

    stored = partition_batches(b.bootstrap, TOPIC, 0)
    assert len(stored) == len(APPENDS)
    for (deltas, kw, _), got in zip(APPENDS, stored):
        assert struct.unpack(">q", got[35:43])[0] == BASE_TS + max(deltas), f"{deltas} {kw}"
        assert struct.unpack(">I", got[17:21])[0] == crc32c(got[21:]), f"CRC of {deltas} {kw}"

    for restart in ("clean", "kill -9"):
        assert max_timestamp_after_restart(b, restart) == want, f"after a {restart} restart"


def max_timestamp_after_restart(b, restart):
    """Restarts b after a clean stop or a kill -9 and asks again."""
    if restart == "clean":
        assert b.stop() == 0
    else:
        b.kill9()
    b.start()
    c = Conn(b.bootstrap)
    try:
        return max_timestamp(c)
    finally:
        c.close()


@pytest.mark.parametrize("restart", ["clean", "kill -9"])
def test_max_timestamp_of_the_active_segment_after_restart(make_broker, restart):
    """One segment whose largest timestamp came after its only index entry
    (Kafka's default interval): a clean stop seals it into the time index, a
    kill -9 leaves it to the recovery's scan; either way it answers after."""
    b = make_broker()
    c = Conn(b.bootstrap)
    for deltas in ([0], [10, 50, 20], [5], [50]):
        assert produce_v3(c, TOPIC, 0, timed(deltas))[0] == 0
    assert max_timestamp(c) == (50, 2)
    c.close()
    assert max_timestamp_after_restart(b, restart) == (50, 2)


def delete_records_v0(conn, topic, partition, offset):
    """DeleteRecords v0 -> (error, low watermark)."""
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">iiqi", 1, partition, offset, 30000)
    conn.request(21, 0, body)
    r = conn.response()
    pos = 4 + 4 + 4               # correlation id, throttle time, topics count
    pos += 2 + struct.unpack(">h", r[pos:pos + 2])[0] + 4  # name, partitions count
    _part, low, err = struct.unpack(">iqh", r[pos:pos + 14])
    return err, low


def segment_bases(b):
    d = os.path.join(b.data_dir, f"{TOPIC}-0")
    return sorted(int(f[:-4]) for f in os.listdir(d) if f.endswith(".log"))


def test_max_timestamp_after_delete_records(make_broker):
    """Once DeleteRecords removed the segment holding the largest timestamp,
    the largest of the segments left answers; while the log start is only
    inside that segment, its record still answers (below the log start), as
    Kafka's: its segments, not its log start, bound the search."""
    b = make_broker({**SETTINGS, "log.retention.check.interval.ms": "200"})
    c = Conn(b.bootstrap)
    deltas = [[100, 7], [1], [2], [50, 60, 60], [3], [4], [40, 45], [5], [6]]
    timestamps = [d for batch in deltas for d in batch]
    for batch in deltas:
        assert produce_v3(c, TOPIC, 0, timed(batch))[0] == 0
    assert max_timestamp(c) == (100, 0)
    assert delete_records_v0(c, TOPIC, 0, 1) == (0, 1)
    assert max_timestamp(c) == (100, 0)
    bases = segment_bases(b)
    assert len(bases) >= 3, bases
    start = bases[1]
    assert delete_records_v0(c, TOPIC, 0, start) == (0, start)
    deadline = time.time() + 30
    while segment_bases(b)[0] < start and time.time() < deadline:
        time.sleep(0.05)
    assert segment_bases(b)[0] == start, "the first segment outlived the retention check"
    left = timestamps[start:]
    want = (max(left), start + left.index(max(left)))
    assert max_timestamp(c) == want
    c.close()
    assert max_timestamp_after_restart(b, "clean") == want


def init_producer_id(conn):
    conn.request(22, 0, struct.pack(">hi", -1, 60000))
    r = conn.response()
    return struct.unpack(">hqh", r[8:20])


def test_max_timestamp_in_a_batch_the_cleaner_emptied(make_broker):
    """An idempotent producer's only batch holds the largest timestamp; a
    later record of its key replaces it, and the cleaner keeps the batch
    empty with its max timestamp (as Kafka's writeEmptyHeader does). Kafka
    then answers none: the first batch with that max timestamp has no record
    carrying it (UnifiedLog's MAX_TIMESTAMP lookup takes offsetOfMaxTimestamp
    of that batch alone)."""
    from test_compaction import CLEANER, TOPIC_CONFIG, create, segment_bases as bases, wait_cleaned
    b = make_broker(CLEANER)
    topic = f"maxts-empty-{os.getpid()}"
    create(b.bootstrap, topic, dict(TOPIC_CONFIG, **{"segment.bytes": "4096"}))
    c = Conn(b.bootstrap)
    err, pid, epoch = init_producer_id(c)
    assert err == 0
    first = record_batch_timed([b"first"], [BASE_TS + 100], key=b"k", producer=(pid, epoch, 0))
    assert produce_v3(c, topic, 0, first, acks=-1) == (0, 0)
    second = record_batch_timed([b"second"], [BASE_TS + 1], key=b"k")
    assert produce_v3(c, topic, 0, second, acks=-1) == (0, 1)
    while len(bases(b, topic)) < 2:
        filler = record_batch_timed([os.urandom(1500)], [BASE_TS], key=b"f")
        assert produce_v3(c, topic, 0, filler, acks=-1)[0] == 0
    err, ts, off = list_offsets_v7(c, topic, 0, MAX_TIMESTAMP)
    assert (err, ts, off) == (0, BASE_TS + 100, 0)
    wait_cleaned(b, topic, bases(b, topic)[-1])
    stored = partition_batches(b.bootstrap, topic, 0)
    assert struct.unpack(">i", stored[0][57:61])[0] == 0, "the first batch should be kept empty"
    assert struct.unpack(">q", stored[0][35:43])[0] == BASE_TS + 100
    assert list_offsets_v7(c, topic, 0, MAX_TIMESTAMP) == (0, -1, -1)
    c.close()
