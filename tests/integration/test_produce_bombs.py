"""Decompression bombs at Produce and the shard's loop (issue 10, defect 8's
Produce side): a compressed batch whose records inflate past the inline
budget (1 MiB) is validated on the owning shard's offload helper, with the
full sluice.batch.inflated.max.bytes bound, so that bombs refused at that
bound (MESSAGE_TOO_LARGE, nothing stored) cost other clients nothing: a
Metadata request sent after a produce of twenty bombs is answered before it,
and round trips stay short while connections keep sending bombs. Offsets
still follow the order in which produce requests arrive, a topic deleted
under waiting batches leaves the broker serving, and a stop with
validations queued ends promptly."""
import select
import signal
import struct
import threading
import time
import zlib

from kafka_wire import Conn, fetch_v4, metadata_v4, record_batch, string
from test_bad_batches import batch, compress, record

MESSAGE_TOO_LARGE = 10
UNKNOWN_TOPIC_OR_PARTITION = 3
BOUND = 64 << 20            # sluice.batch.inflated.max.bytes for these brokers
BOMB_PARTITIONS = 20        # bombs in one request
LARGE_RECORDS = 3           # a large batch: records of a MiB each, past the inline budget
LARGE_RECORD_BYTES = 1 << 20
DOOMED_RECORDS = 32         # the batches under deletion: a tenth of a second each on the helper
WAIT_S = 120                # any one response, however slow the machine


def one_shard(**extra):
    settings = {"num.network.threads": 1, "num.io.threads": 1,
                "sluice.batch.inflated.max.bytes": BOUND}
    settings.update(extra)
    return settings


def bomb():
    """One gzip record of zeros, a byte past the bound once inflated."""
    return batch("gzip", compress("gzip", record(0, bytes(BOUND + 1))), 1)


def large_batch(tag, count=LARGE_RECORDS):
    """A legitimate gzip batch of `count` records of a MiB each: within the
    bound, past what the loop validates itself."""
    recs = b"".join(record(i, b"%s/%d:" % (tag, i) + bytes(LARGE_RECORD_BYTES))
                    for i in range(count))
    return batch("gzip", compress("gzip", recs), count)


def send_produce(conn, topic, parts, acks=1):
    """Sends Produce v3 with parts [(partition, records)]; returns the
    correlation id without waiting for the response."""
    body = string(None) + struct.pack(">hii", acks, 60000, 1) + string(topic)
    body += struct.pack(">i", len(parts))
    for partition, records in parts:
        body += struct.pack(">ii", partition, len(records)) + records
    return conn.request(0, 3, body)


def read_produce(conn):
    """The next Produce v3 response: [(partition, error, base offset)]."""
    r = conn.response()
    pos = 4 + 4
    (tlen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + tlen
    (count,) = struct.unpack(">i", r[pos:pos + 4])
    pos += 4
    out = []
    for _ in range(count):
        out.append(struct.unpack(">ihq", r[pos:pos + 14]))
        pos += 22
    return out


def metadata_round_trip_s(conn):
    start = time.monotonic()
    conn.request(3, 1, struct.pack(">i", 0))
    conn.response()
    return time.monotonic() - start


def read_varint(buf, pos):
    value, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def stored_records(conn, topic, partition):
    """(offset, value) of every record of the partition, reading its batches
    (gzip ones inflated) up to the high watermark."""
    out, offset = [], 0
    while True:
        err, hw, records = fetch_v4(conn, topic, partition, offset)
        assert err == 0
        pos = 0
        while pos + 61 <= len(records):
            base, length = struct.unpack(">qi", records[pos:pos + 12])
            if pos + 12 + length > len(records):
                break
            (attributes,) = struct.unpack(">h", records[pos + 21:pos + 23])
            payload = records[pos + 61:pos + 12 + length]
            if attributes & 7:
                assert attributes & 7 == 1
                payload = zlib.decompress(payload, 16 + zlib.MAX_WBITS)
            rp = 0
            while rp < len(payload):
                size, rp = read_varint(payload, rp)
                end = rp + size
                rp += 1
                _, rp = read_varint(payload, rp)
                delta, rp = read_varint(payload, rp)
                klen, rp = read_varint(payload, rp)
                rp += max(klen, 0)
                vlen, rp = read_varint(payload, rp)
                out.append((base + delta, payload[rp:rp + 16].split(b"\x00")[0]))
                rp = end
            offset = base + struct.unpack(">i", records[pos + 23:pos + 27])[0] + 1
            pos += 12 + length
        if offset >= hw:
            return out


def assert_nothing_stored(conn, topic, partitions):
    for p in range(partitions):
        err, hw, records = fetch_v4(conn, topic, p, 0)
        assert (err, hw, records) == (0, 0, b"")


def create_topic(bootstrap, name, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(60)


def answered_first(conn, other):
    """Whether conn's response comes before other's."""
    ready, _, _ = select.select([conn.sock, other.sock], [], [], WAIT_S)
    return conn.sock in ready and other.sock not in ready


def test_others_answered_before_a_produce_of_bombs(make_broker):
    """Twenty bombs in one request used to hold the shard for twenty times
    the bound's inflation (seconds at 64 MiB): a Metadata request sent on
    another connection while it ran was answered only after it, and so was
    a produce to another topic."""
    b = make_broker(one_shard())
    create_topic(b.bootstrap, "bombs", BOMB_PARTITIONS)
    c = Conn(b.bootstrap, timeout=WAIT_S)
    probe = Conn(b.bootstrap, timeout=WAIT_S)
    metadata_round_trip_s(probe)
    victim = Conn(b.bootstrap, timeout=WAIT_S)
    assert metadata_v4(victim, "victim") == 0  # creates it, as a client's Metadata does
    send_produce(victim, "victim", [(0, record_batch([b"before"]))])
    assert read_produce(victim) == [(0, 0, 0)]
    payload = bomb()
    send_produce(c, "bombs", [(p, payload) for p in range(BOMB_PARTITIONS)])
    time.sleep(0.2)  # the produce has reached the shard
    probe.request(3, 1, struct.pack(">i", 0))
    metadata_first = answered_first(probe, c)
    probe.response()
    send_produce(victim, "victim", [(0, record_batch([b"during"]))])
    victim_first = answered_first(victim, c)
    assert read_produce(victim) == [(0, 0, 1)]
    answers = read_produce(c)
    assert metadata_first, "the Metadata response waited for the bombs' validation"
    assert victim_first, "a produce to another topic waited for the bombs' validation"
    assert [(p, err) for p, err, _ in answers] == [(p, MESSAGE_TOO_LARGE)
                                                   for p in range(BOMB_PARTITIONS)]
    assert_nothing_stored(probe, "bombs", BOMB_PARTITIONS)
    c.close()
    probe.close()
    assert b.alive()


def test_round_trips_stay_short_under_bombs(make_broker):
    """Two connections keep sending requests of twenty bombs each; forty
    Metadata round trips on a third stay well under a second (each used to
    wait for the request being validated: seconds at most, a second on
    average)."""
    b = make_broker(one_shard())
    create_topic(b.bootstrap, "bombs", BOMB_PARTITIONS)
    payload = bomb()
    stop = threading.Event()
    refused, errors = [], []

    def bomber():
        try:
            c = Conn(b.bootstrap, timeout=WAIT_S)
            while not stop.is_set():
                send_produce(c, "bombs", [(p, payload) for p in range(BOMB_PARTITIONS)])
                refused.extend(err for _, err, _ in read_produce(c))
            c.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=bomber) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1)
    probe = Conn(b.bootstrap, timeout=WAIT_S)
    round_trips = []
    for _ in range(40):
        round_trips.append(metadata_round_trip_s(probe))
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join(WAIT_S)
    print(f"metadata round trips under bombs (s): max {max(round_trips):.3f}, "
          f"median {sorted(round_trips)[20]:.3f}; bombs refused {len(refused)}")
    assert not errors, errors
    assert refused and set(refused) == {MESSAGE_TOO_LARGE}
    assert_nothing_stored(probe, "bombs", BOMB_PARTITIONS)
    probe.close()
    assert max(round_trips) < 1.0, round_trips


def test_offsets_follow_request_order(make_broker):
    """Pipelined on one connection, large batches (validated on the helper)
    and small plain ones (validated on the loop) to two partitions, some
    requests naming both, and large ones to another topic (which go past the
    requests waiting, then wait themselves): each partition hands out its
    offsets in request order and stores every record once, where its
    request's offsets say."""
    b = make_broker(one_shard())
    create_topic(b.bootstrap, "order", 2)
    create_topic(b.bootstrap, "side", 1)
    c = Conn(b.bootstrap, timeout=WAIT_S)

    def large(tag):
        return (tag, LARGE_RECORDS, large_batch(tag))

    def small(tag):
        return (tag, 2, record_batch([tag + b"/0:", tag + b"/1:"]))

    requests = []
    for i in range(24):
        kind = i % 4
        if kind == 0:
            requests.append(("order", [(0, large(b"L%d" % i))]))
        elif kind == 1:
            requests.append(("order", [(0, small(b"S%d" % i)), (1, small(b"T%d" % i))]))
        elif kind == 2:
            requests.append(("order", [(1, large(b"M%d" % i)), (0, small(b"U%d" % i))]))
        else:
            requests.append(("side", [(0, large(b"X%d" % i))]))
    for topic, parts in requests:
        send_produce(c, topic, [(p, records) for p, (_, _, records) in parts])
    offsets, expected = {}, {}
    for topic, parts in requests:
        answers = read_produce(c)
        for (p, (tag, count, _)), (partition, err, base) in zip(parts, answers):
            at = offsets.get((topic, p), 0)
            assert (partition, err, base) == (p, 0, at), (topic, tag, answers)
            expected.setdefault((topic, p), []).extend(
                (at + k, b"%s/%d:" % (tag, k)) for k in range(count))
            offsets[(topic, p)] = at + count
    for (topic, p), records in expected.items():
        assert stored_records(c, topic, p) == records
    c.close()


def test_topic_deleted_while_batches_wait(make_broker):
    """Large batches on the helper and small ones queued behind them, and the
    topic is deleted: each produce is answered (stored, or
    UNKNOWN_TOPIC_OR_PARTITION for a topic that is gone), the broker goes
    on, and the name can be created anew, empty."""
    from confluent_kafka.admin import AdminClient
    b = make_broker(one_shard(**{"auto.create.topics.enable": "false"}))
    create_topic(b.bootstrap, "doomed", 2)
    large = [large_batch(b"D%d" % i, DOOMED_RECORDS) for i in range(4)]
    answers, errors = [], []

    def producer(k):
        try:
            c = Conn(b.bootstrap, timeout=WAIT_S)
            for i in range(24):
                records = large[i % 4] if i % 2 == 0 else record_batch([b"small"])
                send_produce(c, "doomed", [(k, records), (1 - k, records)])
            for i in range(24):
                answers.extend(read_produce(c))
            c.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.delete_topics(["doomed"])["doomed"].result(60)
    del admin
    for t in threads:
        t.join(WAIT_S)
    assert not errors, errors
    assert len(answers) == 2 * 24 * 2
    codes = [err for _, err, _ in answers]
    print(f"answers: {codes.count(0)} stored, {codes.count(UNKNOWN_TOPIC_OR_PARTITION)} unknown")
    assert set(codes) <= {0, UNKNOWN_TOPIC_OR_PARTITION}, codes
    assert codes.count(UNKNOWN_TOPIC_OR_PARTITION) > 0, "the deletion came after every produce"
    assert b.alive()
    create_topic(b.bootstrap, "doomed", 1)
    c = Conn(b.bootstrap, timeout=WAIT_S)
    send_produce(c, "doomed", [(0, large_batch(b"again"))])
    assert read_produce(c) == [(0, 0, 0)]
    assert stored_records(c, "doomed", 0) == [(k, b"again/%d:" % k) for k in range(LARGE_RECORDS)]
    c.close()


def test_stop_with_validations_queued(make_broker):
    """Hundreds of bomb validations queued for the helper (a minute of
    inflating) and SIGTERM: the broker refuses what has not started and
    exits cleanly, well within its stop timeout."""
    b = make_broker(one_shard(**{"num.partitions": BOMB_PARTITIONS}))
    payload = bomb()
    conns = [Conn(b.bootstrap, timeout=WAIT_S) for _ in range(3)]
    for c in conns:
        for _ in range(8):
            send_produce(c, "bombs", [(p, payload) for p in range(BOMB_PARTITIONS)])
    probe = Conn(b.bootstrap, timeout=WAIT_S)
    time.sleep(1)
    metadata_round_trip_s(probe)  # every request has been read by now
    probe.close()
    start = time.monotonic()
    rc = b.stop(signal.SIGTERM)
    took = time.monotonic() - start
    for c in conns:
        c.close()
    print(f"stopped in {took:.2f} s")
    assert rc == 0, b.log_tail()
    assert "stopped" in b.log_tail(5)
    assert took < 10, took
