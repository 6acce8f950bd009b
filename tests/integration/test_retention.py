"""Retention with real clients: tiny segments under retention.bytes and
retention.ms lose their oldest segments (renamed .deleted, then removed),
the log start offset moves, a kafka-python consumer from the beginning starts
there, the start survives a restart; and a fetch whose response is still
being spliced from a segment when that segment is deleted completes with the
right bytes."""
import glob
import os
import socket
import struct
import time

import pytest

import kafka_wire

kafka = pytest.importorskip("kafka")
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from conftest import KAFKA_PYTHON_PROBE  # noqa: E402

# kafka-python probes the broker's versions with a 2 s deadline, which a
# sanitized broker on a busy machine can miss.

CHECK_INTERVAL = {"log.retention.check.interval.ms": "200"}
WAIT_S = 30


def create(bootstrap, topic, configs):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
    admin.close()


def produce(bootstrap, topic, count, size=100):
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0, batch_size=size * 2,
                      **KAFKA_PYTHON_PROBE)
    futures = [p.send(topic, value=b"%06d" % i + b"x" * (size - 6), partition=0)
               for i in range(count)]
    placed = [f.get(30).offset for f in futures]
    p.close()
    return placed


def offsets(bootstrap, topic):
    c = KafkaConsumer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    tp = TopicPartition(topic, 0)
    start = c.beginning_offsets([tp])[tp]
    end = c.end_offsets([tp])[tp]
    c.close()
    return start, end


def partition_dir(broker, topic):
    return os.path.join(broker.data_dir, f"{topic}-0")


def files(broker, topic, pattern):
    return glob.glob(os.path.join(partition_dir(broker, topic), pattern))


def wait_for(cond, what):
    deadline = time.time() + WAIT_S
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def consume_from_beginning(bootstrap, topic, expect):
    c = KafkaConsumer(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE, group_id=f"g-{topic}-{time.time()}",
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    c.subscribe([topic])
    got = []
    deadline = time.time() + WAIT_S
    while len(got) < expect and time.time() < deadline:
        for m in c:
            got.append(m)
            if len(got) >= expect:
                break
    c.close()
    return got


def test_retention_bytes(make_broker):
    broker = make_broker(CHECK_INTERVAL)
    topic = "ret-bytes"
    create(broker.bootstrap, topic, {"segment.bytes": "2000", "retention.bytes": "6000",
                                     "file.delete.delay.ms": "300"})
    produce(broker.bootstrap, topic, 300)
    wait_for(lambda: offsets(broker.bootstrap, topic)[0] > 0, "the log start to move")
    wait_for(lambda: not files(broker, topic, "*.deleted"), ".deleted files to go")
    start, end = offsets(broker.bootstrap, topic)
    assert end == 300 and 0 < start < end
    logs = files(broker, topic, "*.log")
    assert sum(os.path.getsize(f) for f in logs) <= 6000 + 2000
    assert os.path.basename(min(logs)) == "%020d.log" % start
    m = broker.metrics()
    assert m["sluice_log_retention_deleted_segments_total"] >= 1
    assert m["sluice_log_start_offset"] == start
    assert m["sluice_log_segments"] == len(logs)

    got = consume_from_beginning(broker.bootstrap, topic, end - start)
    assert [r.offset for r in got] == list(range(start, end))
    assert got[0].value.startswith(b"%06d" % start)

    # An assigned consumer positioned below the start is told
    # OFFSET_OUT_OF_RANGE and resets to the new start.
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, **KAFKA_PYTHON_PROBE, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=5000)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    first = next(iter(c))
    c.close()
    assert first.offset == start

    assert broker.stop() == 0
    broker.start()
    assert offsets(broker.bootstrap, topic) == (start, end)


def test_retention_ms_rolls_the_active_segment(make_broker):
    broker = make_broker(CHECK_INTERVAL)
    topic = "ret-ms"
    create(broker.bootstrap, topic, {"segment.bytes": "3000", "retention.ms": "1500",
                                     "file.delete.delay.ms": "0"})
    produce(broker.bootstrap, topic, 100)
    # Every segment expires, the active one too (non-empty: the log rolls).
    wait_for(lambda: offsets(broker.bootstrap, topic) == (100, 100), "every record to expire")
    wait_for(lambda: not files(broker, topic, "*.deleted"), ".deleted files to go")
    assert [os.path.basename(f) for f in files(broker, topic, "*.log")] == ["%020d.log" % 100]
    # The log goes on from its end, and the new records expire in turn.
    assert produce(broker.bootstrap, topic, 5) == list(range(100, 105))
    wait_for(lambda: offsets(broker.bootstrap, topic) == (105, 105), "the new records to expire")
    # Killed before any checkpoint: the start is the first segment's base.
    broker.kill9()
    broker.start()
    assert offsets(broker.bootstrap, topic) == (105, 105)


def delete_records_v0(conn, topic, offset):
    body = struct.pack(">i", 1) + kafka_wire.string(topic) + struct.pack(">iiq", 1, 0, offset)
    body += struct.pack(">i", 30000)
    conn.request(21, 0, body)
    r = conn.response()
    pos = 4 + 4 + 4
    (tlen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + tlen + 4
    part, low, err = struct.unpack(">iqh", r[pos:pos + 14])
    return err, low


SPLICE_BATCH_VALUES = 500
SPLICE_VALUE_BYTES = 1000
SPLICE_SEGMENT_BYTES = 8 << 20


# retention.ms trigger: the records are stamped this much older than
# retention.ms allows, so they expire a few seconds after they are written.
SPLICE_RETENTION_MS = 60000
SPLICE_EXPIRES_AFTER_MS = 6000


@pytest.mark.parametrize("trigger", ["delete-records", "retention-ms"])
def test_fetch_spliced_from_a_deleted_segment_completes(make_broker, trigger):
    """The response (the whole first segment, 8 MiB) is held back by a reader
    that does not read; the segment is deleted under it (by DeleteRecords to
    the end, or by retention.ms, with no delete delay) and its files are gone
    from the directory before the reader drains the response, which must then
    be complete."""
    broker = make_broker(CHECK_INTERVAL)
    topic = f"ret-splice-{trigger}"
    configs = {"segment.bytes": str(SPLICE_SEGMENT_BYTES), "file.delete.delay.ms": "0"}
    ts = None
    if trigger == "retention-ms":
        configs["retention.ms"] = str(SPLICE_RETENTION_MS)
        ts = int(time.time() * 1000) - SPLICE_RETENTION_MS + SPLICE_EXPIRES_AFTER_MS
    create(broker.bootstrap, topic, configs)
    w = kafka_wire.Conn(broker.bootstrap)
    kafka_wire.metadata_v4(w, topic)
    values = [b"%08d" % i + b"v" * (SPLICE_VALUE_BYTES - 8) for i in range(SPLICE_BATCH_VALUES)]
    batch = kafka_wire.record_batch(values, ts=ts)
    per_segment = SPLICE_SEGMENT_BYTES // len(batch)
    for _ in range(per_segment + 2):
        assert kafka_wire.produce_v3(w, topic, 0, batch, acks=-1)[0] == 0
    first_log = os.path.join(partition_dir(broker, topic), "%020d.log" % 0)
    assert len(files(broker, topic, "*.log")) == 2

    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.settimeout(30)
    slow.connect(("127.0.0.1", broker.port))
    reader = kafka_wire.Conn.__new__(kafka_wire.Conn)
    reader.sock, reader.corr, reader.topics_seen = slow, 0, set()
    body = struct.pack(">iiiib", -1, 0, 0, 64 << 20, 0) + struct.pack(">i", 1)
    body += kafka_wire.string(topic) + struct.pack(">iiqi", 1, 0, 0, 64 << 20)
    reader.request(1, 4, body)
    time.sleep(0.5)  # the broker fills the socket and waits

    end = (per_segment + 2) * SPLICE_BATCH_VALUES
    if trigger == "delete-records":
        assert delete_records_v0(w, topic, -1) == (0, end)
    wait_for(lambda: not os.path.exists(first_log) and not files(broker, topic, "*.deleted"),
             "the first segment's files to be removed")
    # The response in flight still holds the deleted file open.
    fd_dir = f"/proc/{broker.proc.pid}/fd"
    held = [os.readlink(os.path.join(fd_dir, f)) for f in os.listdir(fd_dir)]
    assert any(t.startswith(first_log) and t.endswith("(deleted)") for t in held), held

    r = reader.response()
    pos = 4 + 4 + 4
    (tlen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + tlen + 4
    part, ferr, hw, lso = struct.unpack(">ihqq", r[pos:pos + 22])
    pos += 22 + 4
    (rlen,) = struct.unpack(">i", r[pos:pos + 4])
    records = r[pos + 4:pos + 4 + rlen]
    assert ferr == 0
    got = kafka_wire.batches(records)
    assert [b[0] for b in got] == [k * SPLICE_BATCH_VALUES for k in range(per_segment)]
    for k, (base, size) in enumerate(got):
        chunk = records[k * len(batch):(k + 1) * len(batch)]
        # baseOffset and partitionLeaderEpoch are the broker's; the rest is as sent
        assert base == k * SPLICE_BATCH_VALUES and size == len(batch)
        assert chunk[16:] == batch[16:]
    reader.close()
    w.close()
