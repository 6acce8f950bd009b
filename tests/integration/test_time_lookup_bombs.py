"""Decompression bombs and the shard's loop: ListOffsets by timestamp must
decompress a stored batch to find the record, and gzip batches whose records
inflate to 60 MiB of zeros (legitimate ones, within what Produce accepts) cost
a lookup a tenth of a second or more. Forty of them at once must not stall the
shard: a Metadata round trip on another connection to the same (single) shard
completes quickly meanwhile (a generous bound: it used to wait for every
lookup, seconds), and every lookup still gets its right answer."""
import gzip
import os
import struct
import threading
import time

from kafka_wire import Conn, crc32c, list_offsets_v7, produce_v3, read_uvarint, uvarint, varint

BATCHES = 4
LOOKUPS = 40
MANY = 200                 # partitions named in one request: past a shard's searches in flight
ZEROS = 60 << 20           # each batch's first record: inflates to this, under INFLATED_MAX
INFLATED_MAX = 64 << 20    # sluice.batch.inflated.max.bytes for these brokers (default 16 MiB)
T0 = 1_700_000_000_000
ROUND_TRIP_MAX_S = 2.0     # generous: it took seconds before the lookups left the loop
LOOKUPS_DEADLINE_S = 240


def record(ts_delta, offset_delta, value):
    body = b"\x00" + varint(ts_delta) + varint(offset_delta) + varint(-1)
    body += varint(len(value)) + value + varint(0)
    return varint(len(body)) + body


def gzip_bomb_batch(base_ts, zeros=ZEROS):
    """Two records: `zeros` zero bytes at base_ts, then b"here" at base_ts + 1.
    A lookup of base_ts + 1 has to inflate the zeros to reach the second."""
    payload = gzip.compress(record(0, 0, bytes(zeros)) + record(1, 1, b"here"), 9)
    attributes = 1  # gzip, CreateTime
    after_crc = struct.pack(">hiqqqhii", attributes, 1, base_ts, base_ts + 1, -1, -1, -1, 2)
    after_crc += payload
    after_len = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def list_offsets_many(conn, topic, timestamps):
    """ListOffsets v7 naming partition 0 once per timestamp: [(error, ts, offset)]."""
    body = struct.pack(">ib", -1, 0) + uvarint(2) + uvarint(len(topic) + 1) + topic.encode()
    body += uvarint(len(timestamps) + 1)
    for ts in timestamps:
        body += struct.pack(">iiq", 0, -1, ts) + b"\x00"
    body += b"\x00" + b"\x00"
    conn.request(2, 7, body, flexible=True)
    r = conn.response()
    pos = 4 + 1 + 4 + 1          # correlation id, header tags, throttle time, topics
    name_len, pos = read_uvarint(r, pos)
    count, pos = read_uvarint(r, pos + name_len - 1)
    assert count - 1 == len(timestamps)
    out = []
    for _ in timestamps:
        _, err, ts, off, _ = struct.unpack(">ihqqi", r[pos:pos + 26])
        out.append((err, ts, off))
        pos += 26 + 1
    return out


def metadata_round_trip_s(conn):
    """Metadata v1 asking for no topic: the brokers and the controller."""
    start = time.monotonic()
    conn.request(3, 1, struct.pack(">i", 0))
    conn.response()
    return time.monotonic() - start


def test_bomb_lookups_leave_the_loop_free(make_broker):
    b = make_broker({"num.network.threads": 1, "num.io.threads": 1,
                     "sluice.batch.inflated.max.bytes": INFLATED_MAX})
    c = Conn(b.bootstrap, timeout=60)
    for i in range(BATCHES):
        assert produce_v3(c, "bombs", 0, gzip_bomb_batch(T0 + 10 * i)) == (0, 2 * i)
    # Each batch's second record is what a lookup of its time finds.
    assert list_offsets_v7(c, "bombs", 0, T0 + 1) == (0, T0 + 1, 1)
    c.close()

    answers, errors = [], []
    conns = [Conn(b.bootstrap, timeout=LOOKUPS_DEADLINE_S) for _ in range(LOOKUPS)]
    go = threading.Barrier(LOOKUPS + 1)

    def lookup(k):
        batch = k % BATCHES
        go.wait()
        try:
            got = list_offsets_v7(conns[k], "bombs", 0, T0 + 10 * batch + 1)
            answers.append((got, (0, T0 + 10 * batch + 1, 2 * batch + 1)))
        except Exception as e:  # reported below, with the rest
            errors.append(repr(e))

    probe = Conn(b.bootstrap, timeout=LOOKUPS_DEADLINE_S)
    metadata_round_trip_s(probe)
    threads = [threading.Thread(target=lookup, args=(k,)) for k in range(LOOKUPS)]
    for t in threads:
        t.start()
    go.wait()
    time.sleep(0.3)  # the lookups have reached the shard
    round_trips = []
    while any(t.is_alive() for t in threads) and len(round_trips) < 20:
        round_trips.append(metadata_round_trip_s(probe))
        time.sleep(0.05)
    for t in threads:
        t.join(LOOKUPS_DEADLINE_S)
    probe.close()
    for conn in conns:
        conn.close()
    print(f"metadata round trips under {LOOKUPS} bomb lookups (s): "
          f"max {max(round_trips):.3f}, first {round_trips[0]:.3f}, n {len(round_trips)}")
    assert not errors, errors
    assert len(answers) == LOOKUPS
    for got, want in answers:
        assert got == want
    assert max(round_trips) < ROUND_TRIP_MAX_S, round_trips


def test_more_searches_than_a_shard_runs_at_once(make_broker):
    """Requests naming one partition hundreds of times: more searches than a
    shard holds in flight; the rest wait their turn and every one is answered
    in its place."""
    b = make_broker({"num.network.threads": 1, "num.io.threads": 1,
                     "sluice.batch.inflated.max.bytes": INFLATED_MAX})
    c = Conn(b.bootstrap, timeout=60)
    for i in range(BATCHES):
        assert produce_v3(c, "many", 0, gzip_bomb_batch(T0 + 10 * i, 1 << 20)) == (0, 2 * i)
    targets = [T0 + 10 * (k % BATCHES) + 1 for k in range(MANY)]
    want = [(0, T0 + 10 * (k % BATCHES) + 1, 2 * (k % BATCHES) + 1) for k in range(MANY)]
    results = [None] * 3

    def ask(k):
        conn = Conn(b.bootstrap, timeout=LOOKUPS_DEADLINE_S)
        results[k] = list_offsets_many(conn, "many", targets)
        conn.close()

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOOKUPS_DEADLINE_S)
    assert results == [want] * len(results)
    c.close()


def test_topic_deleted_under_bomb_lookups(make_broker):
    """The searches hold their own descriptors and the lookups waiting for
    room look their partition up again: deleting the topic while they run
    costs nothing, each lookup is answered (with its offset, or as for a
    topic that no longer exists) and the broker goes on."""
    from confluent_kafka.admin import AdminClient
    b = make_broker({"num.network.threads": 1, "num.io.threads": 1,
                     "sluice.batch.inflated.max.bytes": INFLATED_MAX})
    c = Conn(b.bootstrap, timeout=60)
    for i in range(BATCHES):
        assert produce_v3(c, "doomed", 0, gzip_bomb_batch(T0 + 10 * i)) == (0, 2 * i)
    c.close()
    targets = [T0 + 10 * (k % BATCHES) + 1 for k in range(MANY // 2)]
    results, errors = [], []

    def ask():
        try:
            conn = Conn(b.bootstrap, timeout=LOOKUPS_DEADLINE_S)
            results.append(list_offsets_many(conn, "doomed", targets))
            conn.close()
        except Exception as e:  # reported below, with the rest
            errors.append(repr(e))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.delete_topics(["doomed"])["doomed"].result(60)
    del admin
    for t in threads:
        t.join(LOOKUPS_DEADLINE_S)
    assert not errors, errors
    assert len(results) == 2
    unknown = 0
    for answers in results:
        for k, got in enumerate(answers):
            batch = k % BATCHES
            assert got in ((0, T0 + 10 * batch + 1, 2 * batch + 1), (3, -1, -1)), got
            unknown += got[0] == 3
    assert unknown > 0, "the deletion came after every lookup: nothing was tested"
    c = Conn(b.bootstrap)
    assert produce_v3(c, "after", 0, gzip_bomb_batch(T0, 1 << 20)) == (0, 0)
    assert list_offsets_v7(c, "after", 0, T0 + 1) == (0, T0 + 1, 1)
    c.close()


def test_stored_batch_that_does_not_inflate(make_broker):
    """A batch on disk whose CRC holds but whose gzip payload is damaged (as a
    log written elsewhere may have): its search fails on the helper, the
    lookup answers CORRUPT_MESSAGE, and the shard logs it once per interval."""
    b = make_broker({"num.network.threads": 1, "num.io.threads": 1,
                     "sluice.batch.inflated.max.bytes": INFLATED_MAX})
    c = Conn(b.bootstrap, timeout=60)
    assert produce_v3(c, "damaged", 0, gzip_bomb_batch(T0, 1 << 20)) == (0, 0)
    c.close()
    assert b.stop() == 0
    seg = os.path.join(b.data_dir, "damaged-0", "%020d.log" % 0)
    with open(seg, "r+b") as f:
        batch = bytearray(f.read())
        middle = 61 + (len(batch) - 61) // 2
        batch[middle:middle + 16] = b"\xff" * 16
        batch[17:21] = struct.pack(">I", crc32c(bytes(batch[21:])))
        f.seek(0)
        f.write(batch)
    b.start()
    c = Conn(b.bootstrap, timeout=60)
    for _ in range(3):
        assert list_offsets_v7(c, "damaged", 0, T0 + 1) == (2, -1, -1)  # CORRUPT_MESSAGE
    assert list_offsets_v7(c, "damaged", 0, -1) == (0, -1, 2)
    c.close()
    assert b.log_text().count("cannot be searched by time") == 1
