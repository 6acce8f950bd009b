"""A request-byte budget far below the load: connections pause and resume,
large frames in flight always complete, and every record arrives."""
import struct
import threading
import time

import confluent_kafka

from conftest import run
from kafka_wire import Conn, metadata_v4, record_batch, string

BUDGET_BYTES = 1 << 20
FRAMES = 8
FRAME_RECORD_BYTES = 900_000
HELD_BACK_BYTES = 300_000
PAUSE_WAIT_S = 30


def test_budget_smaller_than_the_load(make_broker):
    b = make_broker({"queued.max.request.bytes": 1048576, "num.partitions": 4})
    acked = []
    errors = []

    def producer(n):
        p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 20,
                                      "batch.size": 900000, "acks": "1"})
        for i in range(3000):
            p.produce("bp", value=(b"%d-%d-" % (n, i)) + b"w" * 900,
                      on_delivery=lambda err, msg: (errors if err else acked).append(msg.value()))
            p.poll(0)
        p.flush(60)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(acked) == 18000
    out = run(["kcat", "-b", b.bootstrap, "-t", "bp", "-C", "-e", "-o", "beginning", "-q"], timeout=120)
    got = sorted(out.split(b"\n")[:-1])
    assert got == sorted(acked)
    assert b.alive()


def produce_frame(topic, corr, value):
    """A whole Produce v3 request frame with one record."""
    records = record_batch([value])
    body = string(None) + struct.pack(">hii", 1, 10000, 1) + string(topic)
    body += struct.pack(">ii", 1, 0) + struct.pack(">i", len(records)) + records
    frame = struct.pack(">hhi", 0, 3, corr) + string("bp") + body
    return struct.pack(">i", len(frame)) + frame


def test_frames_over_the_budget_pause_then_all_complete(make_broker):
    """Frames that together hold more than the budget, each held back
    before its end: the broker must pause receiving (whatever the timing,
    since the bytes that would free the budget are not sent yet), then,
    once the rest is sent, answer every one."""
    b = make_broker({"queued.max.request.bytes": BUDGET_BYTES})
    setup = Conn(b.bootstrap)
    assert metadata_v4(setup, "bp-frames") == 0
    setup.close()
    conns, frames = [], []
    for i in range(FRAMES):
        c = Conn(b.bootstrap, timeout=60)
        frame = produce_frame("bp-frames", 1, b"%d-" % i + b"v" * FRAME_RECORD_BYTES)
        c.send_raw(frame[:-HELD_BACK_BYTES])
        conns.append(c)
        frames.append(frame)
    deadline = time.time() + PAUSE_WAIT_S
    while b.metrics()["sluice_receive_pauses_total"] == 0 and time.time() < deadline:
        time.sleep(0.1)
    assert b.metrics()["sluice_receive_pauses_total"] > 0, "the budget was never reached"
    senders = [threading.Thread(target=c.send_raw, args=(f[-HELD_BACK_BYTES:],))
               for c, f in zip(conns, frames)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(60)
    for c in conns:
        r = c.response()
        pos = 4 + 4
        (tlen,) = struct.unpack(">h", r[pos:pos + 2])
        pos += 2 + tlen + 4
        _, err, _ = struct.unpack(">ihq", r[pos:pos + 14])
        assert err == 0
        c.close()
    assert b.alive() 
