"""Compressed record batches are validated at Produce (issue 10, defects 1
and 7): for each codec, a garbage payload, a record count that lies (more
records, 2^31-1), an inner record of length -1 and a decompression bomb above
sluice.batch.inflated.max.bytes are each answered with their Kafka error code
for that partition, nothing is stored, and the broker keeps serving. Real
clients' compressed batches are still accepted."""
import ctypes
import struct
import time
import zlib

import pytest

from kafka_wire import Conn, crc32c, fetch_v4, list_offsets_v7, produce_v3, varint

CORRUPT_MESSAGE = 2
MESSAGE_TOO_LARGE = 10
INVALID_RECORD = 87

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BOUND = 1 << 20  # the brokers' sluice.batch.inflated.max.bytes here, to keep bombs small

_zstd = ctypes.CDLL("libzstd.so.1")
_lz4 = ctypes.CDLL("liblz4.so.1")
_snappy = ctypes.CDLL("libsnappy.so.1")
for fn in (_zstd.ZSTD_compressBound, _zstd.ZSTD_compress, _lz4.LZ4F_compressFrameBound,
           _lz4.LZ4F_compressFrame, _snappy.snappy_max_compressed_length):
    fn.restype = ctypes.c_size_t
_zstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
_zstd.ZSTD_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.c_size_t, ctypes.c_int]
_lz4.LZ4F_compressFrameBound.argtypes = [ctypes.c_size_t, ctypes.c_void_p]
_lz4.LZ4F_compressFrame.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                    ctypes.c_size_t, ctypes.c_void_p]
_snappy.snappy_max_compressed_length.argtypes = [ctypes.c_size_t]
_snappy.snappy_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                    ctypes.POINTER(ctypes.c_size_t)]


def compress(codec, data):
    """data compressed as a Kafka client does, by the codec's own library."""
    if codec == "gzip":
        z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return z.compress(data) + z.flush()
    if codec == "zstd":
        out = ctypes.create_string_buffer(_zstd.ZSTD_compressBound(len(data)))
        n = _zstd.ZSTD_compress(out, len(out), data, len(data), 3)
    elif codec == "lz4":
        out = ctypes.create_string_buffer(_lz4.LZ4F_compressFrameBound(len(data), None))
        n = _lz4.LZ4F_compressFrame(out, len(out), data, len(data), None)
    else:
        out = ctypes.create_string_buffer(_snappy.snappy_max_compressed_length(len(data)))
        size = ctypes.c_size_t(len(out))
        assert _snappy.snappy_compress(data, len(data), out, ctypes.byref(size)) == 0
        n = size.value
    assert n < len(out)
    return out.raw[:n]


def record(i, value, length=None):
    body = b"\x00" + varint(i) + varint(i) + varint(-1) + varint(len(value)) + value + varint(0)
    return varint(len(body) if length is None else length) + body


def batch(codec, payload, count, ts=None, max_ts=None):
    """A v2 batch around an already compressed payload, claiming `count`
    records (lastOffsetDelta count - 1), with a valid CRC."""
    ts = int(time.time() * 1000) if ts is None else ts
    max_ts = ts if max_ts is None else max_ts
    after_crc = struct.pack(">hiqqqhii", CODECS[codec], count - 1, ts, max_ts, -1, -1, -1, count)
    after_crc += payload
    after_len = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def metadata_round_trip(bootstrap):
    """Metadata v1 for all topics completes on a fresh connection."""
    c = Conn(bootstrap, timeout=10)
    corr = c.request(3, 1, struct.pack(">i", -1))
    r = c.response()
    c.close()
    assert struct.unpack(">i", r[:4])[0] == corr


def assert_nothing_stored(broker, topic):
    c = Conn(broker.bootstrap)
    err, _, latest = list_offsets_v7(c, topic, 0, -1)
    assert (err, latest) == (0, 0)
    err, hw, records = fetch_v4(c, topic, 0, 0)
    assert (err, hw, records) == (0, 0, b"")
    c.close()
    metadata_round_trip(broker.bootstrap)
    assert broker.alive()


def bad_batches(codec):
    """(name, batch, expected error) for one codec."""
    three = b"".join(record(i, b"value-%d" % i) for i in range(3))
    junk = bytes((i * 131 + 17) & 0xFF for i in range(600))
    minus_one = record(0, b"first") + record(1, b"x" * 40, length=-1)
    bomb = record(0, b"\x00" * (2 * BOUND))
    return [
        ("garbage", batch(codec, junk, 3), CORRUPT_MESSAGE),
        ("cut short", batch(codec, compress(codec, three)[:-4], 3), CORRUPT_MESSAGE),
        ("million claimed", batch(codec, compress(codec, three), 1_000_000), INVALID_RECORD),
        ("2^31-1 claimed", batch(codec, compress(codec, three), 2**31 - 1), INVALID_RECORD),
        ("length -1", batch(codec, compress(codec, minus_one), 2), INVALID_RECORD),
        ("bomb", batch(codec, compress(codec, bomb), 1), MESSAGE_TOO_LARGE),
    ]


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_bad_compressed_batches_refused(make_broker, codec):
    b = make_broker({"sluice.batch.inflated.max.bytes": BOUND})
    c = Conn(b.bootstrap)
    for name, records, expected in bad_batches(codec):
        topic = f"bad-{codec}-{name.replace(' ', '-').replace('^', '')}"
        err, base = produce_v3(c, topic, 0, records)
        assert err == expected, f"{codec} {name}: error {err}, expected {expected}"
        assert base == -1, f"{codec} {name}: a refused batch answered base offset {base}"
        assert_nothing_stored(b, topic)
    good = batch(codec, compress(codec, b"".join(record(i, b"ok") for i in range(5))), 5)
    assert produce_v3(c, f"good-{codec}", 0, good) == (0, 0)
    c.close()


def test_default_bound_refuses_bombs(broker):
    """With the default bound (16 MiB), zstd and gzip bombs just above it."""
    c = Conn(broker.bootstrap)
    bomb = record(0, b"\x00" * ((16 << 20) + 1))
    for codec in ("zstd", "gzip"):
        records = batch(codec, compress(codec, bomb), 1)
        assert len(records) < 300_000
        err, _ = produce_v3(c, f"bomb-{codec}", 0, records)
        assert err == MESSAGE_TOO_LARGE
        assert_nothing_stored(broker, f"bomb-{codec}")
    c.close()


def test_length_minus_one_then_list_offsets_by_time(make_broker):
    """Defect 1: a zstd batch whose inner record has length -1 was stored, and
    ListOffsets by timestamp then walked it in a 64 MiB buffer. Here the
    records inflate to exactly 64 MiB and the -1 is their last byte, so the
    walk read past that buffer (ASan: heap-buffer-overflow in rc_int8 from
    log_walk_for_time; Release: a timestamp of stray bytes). It is refused at
    Produce now: the records are within the bound set here, the record is not."""
    size = 64 << 20
    broker = make_broker({"sluice.batch.inflated.max.bytes": size})
    value = size - 14
    while len(record(0, b"")) + value + 1 > size:
        value -= 1
    first = record(0, b"\x00" * value)
    assert len(first) + 1 == size
    ts = int(time.time() * 1000)
    records = batch("zstd", compress("zstd", first + varint(-1)), 2, ts=ts, max_ts=ts + 1)
    c = Conn(broker.bootstrap)
    err, _ = produce_v3(c, "minus-one", 0, records)
    # Looked up whatever Produce answered: where the batch was stored, this
    # is the lookup that read past the buffer.
    found = list_offsets_v7(c, "minus-one", 0, ts + 1)
    c.close()
    assert err == INVALID_RECORD
    assert found == (0, -1, -1)
    assert_nothing_stored(broker, "minus-one")


confluent_kafka = pytest.importorskip("confluent_kafka")


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_confluent_kafka_batches_accepted(broker, codec):
    """librdkafka's own batches of 1 KiB records, up to 1 MB each, with
    every codec: none refused, all read back."""
    topic = f"ck-{codec}"
    count = 3000
    delivered = []
    p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                                  "linger.ms": 50, "batch.size": 1_000_000,
                                  "compression.type": codec})
    for i in range(count):
        value = (b"%06d-" % i) * 146 + b"%d" % (i % 7)
        p.produce(topic, key=b"%d" % i, value=value, partition=0, headers={"i": str(i)},
                  on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(60) == 0
    assert delivered == [None] * count
    c = confluent_kafka.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                                  "enable.auto.commit": False})
    c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    seen = []
    deadline = time.time() + 60
    while len(seen) < count and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            seen.append((m.offset(), m.key()))
    c.close()
    assert seen == [(i, b"%d" % i) for i in range(count)]
