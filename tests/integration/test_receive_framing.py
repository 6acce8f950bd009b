"""Receive framing: requests larger than the connection's receive buffer are
received straight into their own buffer, whatever the pieces their bytes
arrive in; frames pipelined back to back, large and small, split anywhere,
are each answered in order; and a frame above the size whose buffer is
taken whole at once still grows its buffer as its bytes arrive. Every
record comes back as sent, and the request-byte budget is given back whole
(a small budget would otherwise stall the later frames)."""
import random
import socket
import struct
import time

from kafka_wire import Conn, batch_values, metadata_v4, partition_batches, produce_v3_answer, \
    record_batch, string

RECV_BUF_BYTES = 64 * 1024             # CONN_RECV_BUF_BYTES
RESERVE_MAX_BYTES = 8 * 1024 * 1024    # CONN_FRAME_RESERVE_MAX_BYTES


def produce_frame(topic, partition, corr, records):
    """A whole Produce v3 frame (size included) of one partition."""
    body = string(None) + struct.pack(">hii", 1, 10000, 1) + string(topic)
    body += struct.pack(">ii", 1, partition) + struct.pack(">i", len(records)) + records
    frame = struct.pack(">hhi", 0, 3, corr) + string("rf") + body
    return struct.pack(">i", len(frame)) + frame


def values_of(tag, count, size):
    return [(b"%s-%d-" % (tag, i)).ljust(size, b"v") for i in range(count)]


def nodelay(conn):
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def send_in_pieces(conn, payload, sizes, pause_every=0):
    """Sends payload in pieces of the given sizes (cycled), pausing now and
    then so that the pieces reach the broker as separate receives."""
    pos, i = 0, 0
    while pos < len(payload):
        n = sizes[i % len(sizes)]
        conn.send_raw(payload[pos:pos + n])
        pos += n
        i += 1
        if pause_every and i % pause_every == 0:
            time.sleep(0.002)


def fetched_values(bootstrap, topic, partition):
    return [v for batch in partition_batches(bootstrap, topic, partition)
            for v in batch_values(batch)]


def test_large_frame_split_across_many_receives(make_broker):
    b = make_broker({})
    conn = Conn(b.bootstrap)
    nodelay(conn)
    assert metadata_v4(conn, "rf-split") == 0
    values = values_of(b"split", 600, 1000)
    frame = produce_frame("rf-split", 0, 1, record_batch(values))
    assert len(frame) > 8 * RECV_BUF_BYTES
    # Single bytes across the size field and header, then uneven pieces.
    send_in_pieces(conn, frame[:40], [1], pause_every=1)
    send_in_pieces(conn, frame[40:], [1, 7, 4093, 65536, 3, 200_000], pause_every=1)
    assert produce_v3_answer(conn) == (0, 0)
    assert fetched_values(b.bootstrap, "rf-split", 0) == values
    assert b.alive()


def test_pipelined_frames_large_and_small_split_anywhere(make_broker):
    # A budget of a few frames: charges not given back whole would stall.
    b = make_broker({"queued.max.request.bytes": 3 << 20})
    conn = Conn(b.bootstrap)
    nodelay(conn)
    assert metadata_v4(conn, "rf-pipe") == 0
    rng = random.Random(15)
    sent, payload = [], b""
    for corr in range(1, 25):
        count, size = rng.choice([(1, 10), (3, 2000), (120, 1000), (900, 1000)])
        values = values_of(b"p%d" % corr, count, size)
        sent.append(values)
        payload += produce_frame("rf-pipe", 0, corr, record_batch(values))
    sizes = [rng.choice([1, 5, 61, 4096, 65535, 65536, 65537, 300_000]) for _ in range(64)]
    send_in_pieces(conn, payload, sizes, pause_every=4)
    offset = 0
    for values in sent:
        assert produce_v3_answer(conn) == (0, offset)
        offset += len(values)
    assert fetched_values(b.bootstrap, "rf-pipe", 0) == [v for vs in sent for v in vs]
    # The same bytes in one send, twice over: every frame answered in order.
    again = b"".join(produce_frame("rf-pipe", 0, 100 + i, record_batch(vs))
                     for i, vs in enumerate(sent * 2))
    conn.send_raw(again)
    for values in sent * 2:
        assert produce_v3_answer(conn) == (0, offset)
        offset += len(values)
    assert b.alive()


def test_frame_above_the_whole_buffer_size_grows(make_broker):
    b = make_broker({"message.max.bytes": 16 << 20, "socket.request.max.bytes": 32 << 20})
    conn = Conn(b.bootstrap)
    nodelay(conn)
    assert metadata_v4(conn, "rf-huge") == 0
    values = values_of(b"huge", 10, 1 << 20)
    frame = produce_frame("rf-huge", 0, 1, record_batch(values))
    assert len(frame) > RESERVE_MAX_BYTES
    send_in_pieces(conn, frame, [1 << 20, 12345], pause_every=1)
    small = values_of(b"after", 3, 100)
    conn.send_raw(produce_frame("rf-huge", 0, 2, record_batch(small)))
    assert produce_v3_answer(conn) == (0, 0)
    assert produce_v3_answer(conn) == (0, 10)
    assert fetched_values(b.bootstrap, "rf-huge", 0) == values + small
    assert b.alive()
