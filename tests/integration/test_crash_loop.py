"""Crash loop: the broker is killed with SIGKILL, again and again, while
several producers write with acks=all as fast as they can to small segments
(so that kills land during segment rolls with writes in flight), then
restarted; after every restart a checker reads every partition whole with raw
fetches and requires:

- every acknowledged record present exactly once, at the offset its
  acknowledgement gave (no acknowledged offset handed out twice);
- a record that was never acknowledged present at most once (the producers
  never retry, so nothing may appear twice);
- offsets contiguous from the log start to the high watermark: every batch
  starts where the one before ended, and holds as many records as its
  offset range.

After the last kill the broker is also stopped cleanly and started again
(the clean-start path) and checked once more. Restart times are printed
(min/median/max).

The producers write to topic crash-<r>, a new one every ROTATE_CYCLES cycles;
a topic that has been checked through KEEP_ROTATIONS later rotations is
deleted, so that the data, the descriptors and the checker's work stay
bounded however long the run.

SLUICE_CRASH_CYCLES sets the number of kills (default 5; e.g. 100 for a long
run), SLUICE_CRASH_SEED the seed of the kill times and payload sizes (default:
random, printed, so that a failing run can be repeated)."""
import os
import random
import re
import resource
import statistics
import struct
import threading
import time

import pytest

import kafka_wire as kw
from conftest import SANITIZED

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CYCLES = int(os.environ.get("SLUICE_CRASH_CYCLES", "5"))
SEED = int(os.environ.get("SLUICE_CRASH_SEED", str(random.randrange(1 << 32))))
PARTITIONS = 4
PRODUCERS = 3
SEGMENT_BYTES = 64 * 1024
# Each producer's cap: as fast as the machine goes (several segment rolls per
# second on every partition), gentler under the sanitizers.
RATE_PER_PRODUCER = 5000 if SANITIZED else 30000
LOAD_SECONDS = (0.3, 1.5)       # load before the kill, drawn per cycle
FIRST_ACK_TIMEOUT_S = 20
PAYLOAD_BYTES = (40, 400)
ROTATE_CYCLES = 5
KEEP_ROTATIONS = 2
FETCH_BYTES = 4 << 20
BATCH_HEADER_BYTES = 61
REPORT_LIMIT = 10               # problems listed per kind
# A record's value is "<cycle>-p<producer>-<seq>|" and filler without digits.
ID_RE = re.compile(rb"(\d+-p\d+-\d+)\|")


def topic_of(cycle):
    return f"crash-{cycle // ROTATE_CYCLES}"


class Producer(threading.Thread):
    """One producer: unique ids, no retries (a record is sent at most once),
    every acknowledgement recorded with its partition and offset."""

    def __init__(self, bootstrap, name, cycle, rng):
        super().__init__(daemon=True)
        self.topic = topic_of(cycle)
        self.name_prefix = f"{cycle}-{name}-"
        self.rng = random.Random(rng.random())
        self.stop = threading.Event()
        self.acked = {}      # id -> (partition, offset)
        self.sent = set()
        self.failed = 0
        self.p = confluent_kafka.Producer({
            "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
            "message.send.max.retries": 0, "enable.idempotence": False,
            "compression.codec": "none", "message.timeout.ms": 5000,
            "socket.timeout.ms": 5000, "reconnect.backoff.max.ms": 200,
        })

    def on_delivery(self, err, msg):
        if err is None:
            rid = msg.value().split(b"|", 1)[0].decode()
            self.acked[rid] = (msg.partition(), msg.offset())
        else:
            self.failed += 1

    def run(self):
        seq = 0
        started = time.monotonic()
        while not self.stop.is_set():
            if seq > (time.monotonic() - started) * RATE_PER_PRODUCER:
                self.p.poll(0.005)
                continue
            rid = f"{self.name_prefix}{seq}"
            value = rid.encode() + b"|" + b"x" * self.rng.randrange(*PAYLOAD_BYTES)
            try:
                self.p.produce(self.topic, value=value, partition=seq % PARTITIONS,
                               on_delivery=self.on_delivery)
            except BufferError:
                self.p.poll(0.01)
                continue
            self.sent.add(rid)
            seq += 1
            self.p.poll(0)

    def finish(self):
        """After the broker died: nothing still queued or in flight counts
        as acknowledged, and nothing is sent to the next incarnation."""
        self.stop.set()
        self.join(30)
        self.p.purge(in_queue=True, in_flight=True)
        self.p.flush(10)


def read_batch(records, pos, problems, where):
    """(base offset, last offset, [(offset, id)], end position) of the batch
    at pos, or None when it is not whole in the buffer. The records are
    uncompressed and their ids are found in record order."""
    if pos + BATCH_HEADER_BYTES > len(records):
        return None
    base, length = struct.unpack_from(">qi", records, pos)
    end = pos + 12 + length
    if end > len(records):
        return None
    attrs, last_delta = struct.unpack_from(">hi", records, pos + 21)
    count = struct.unpack_from(">i", records, pos + 57)[0]
    if attrs & 0x7:
        problems["format"].append(f"{where}: compressed batch at {base}")
    if count != last_delta + 1:
        problems["offsets"].append(f"{where}: batch at {base} has {count} records but last "
                                   f"offset delta {last_delta}")
    ids = ID_RE.findall(records, pos + BATCH_HEADER_BYTES, end)
    if len(ids) != count:
        problems["format"].append(f"{where}: batch at {base} claims {count} records, holds "
                                  f"{len(ids)} ids")
    return base, base + last_delta, [(base + i, rid.decode()) for i, rid in enumerate(ids)], end


def read_partition(conn, topic, partition, problems):
    """Every (offset, id) of the partition, from offset 0 to its high
    watermark, checking that offsets are contiguous."""
    found, offset, hw = [], 0, None
    where = f"{topic}-{partition}"
    while True:
        err, hw, records = kw.fetch_v4(conn, topic, partition, offset, max_bytes=FETCH_BYTES,
                                       partition_max_bytes=FETCH_BYTES)
        if err != 0:
            problems["fetch"].append(f"{where}: fetch at {offset} answered error {err}")
            return found, hw
        if offset >= hw:
            return found, hw
        pos = 0
        moved = False
        while True:
            batch = read_batch(records, pos, problems, where)
            if batch is None:
                break
            base, last, recs, pos = batch
            if base != offset:
                problems["gaps"].append(f"{where}: expected a batch at offset {offset}, "
                                        f"found one at {base} (high watermark {hw})")
                if base < offset:
                    return found, hw
            found.extend(recs)
            offset = last + 1
            moved = True
        if not moved:
            problems["gaps"].append(f"{where}: nothing readable at offset {offset} below the "
                                    f"high watermark {hw}")
            return found, hw


def check(broker, producers, label):
    """Reads every live topic back and returns the problems found (empty:
    none) and a summary line; producers: topic -> its producers."""
    problems = {k: [] for k in ("lost", "duplicated", "moved", "unknown", "gaps", "offsets",
                                "fetch", "format", "reused")}
    conn = kw.Conn(broker.bootstrap, timeout=30)
    total_acked = total_seen = 0
    hws = {}
    for topic, group in producers.items():
        acked, sent = {}, set()
        for p in group:
            acked.update(p.acked)
            sent |= p.sent
        by_slot = {}
        for rid, slot in acked.items():
            if slot in by_slot:
                problems["reused"].append(f"{topic}-{slot[0]} offset {slot[1]} acknowledged for "
                                          f"both {by_slot[slot]} and {rid}")
            by_slot[slot] = rid
        seen = {}
        hws[topic] = []
        for partition in range(PARTITIONS):
            found, hw = read_partition(conn, topic, partition, problems)
            hws[topic].append(hw)
            for offset, rid in found:
                seen.setdefault(rid, []).append((partition, offset))
        for rid, slots in seen.items():
            if rid not in sent:
                problems["unknown"].append(f"{topic}: {rid} at {slots}: never sent")
            elif len(slots) > 1:
                state = "acknowledged" if rid in acked else "not acknowledged"
                problems["duplicated"].append(f"{topic}: {rid} ({state}) at {slots}")
        for rid, slot in acked.items():
            if rid not in seen:
                problems["lost"].append(f"{rid} acknowledged at {topic}-{slot[0]} offset {slot[1]}")
            elif slot not in seen[rid]:
                problems["moved"].append(f"{topic}: {rid} acknowledged at {slot}, found at "
                                         f"{seen[rid]}")
        total_acked += len(acked)
        total_seen += len(seen)
    conn.close()
    summary = (f"{label}: {total_acked} acknowledged, {total_seen} distinct ids read, "
               f"high watermarks {hws}")
    return {k: v for k, v in problems.items() if v}, summary


def describe(problems):
    lines = []
    for kind, items in problems.items():
        lines.append(f"  {kind}: {len(items)}")
        lines.extend(f"    {item}" for item in items[:REPORT_LIMIT])
    return "\n".join(lines)


def raise_nofile_limit():
    """Brokers inherit the limit; many small segments take many descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def test_crash_loop(make_broker, capsys):
    rng = random.Random(SEED)
    raise_nofile_limit()
    t0 = time.monotonic()
    b = make_broker({"log.segment.bytes": SEGMENT_BYTES})
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    producers, restarts, log = {}, [], []
    failure = None
    for cycle in range(CYCLES):
        topic = topic_of(cycle)
        if topic not in producers:
            admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
            producers[topic] = []
            # Checked through enough rotations: its files go.
            rotation = cycle // ROTATE_CYCLES
            for old in [t for t in producers if int(t.split("-")[1]) < rotation - KEEP_ROTATIONS]:
                admin.delete_topics([old])[old].result(30)
                del producers[old]
        load_s = rng.uniform(*LOAD_SECONDS)
        batch = [Producer(b.bootstrap, f"p{i}", cycle, rng) for i in range(PRODUCERS)]
        for p in batch:
            p.start()
        # A new client takes up to a second to get going: the kill comes
        # load_s after every producer's first acknowledgement.
        deadline = time.monotonic() + FIRST_ACK_TIMEOUT_S
        while not all(p.acked for p in batch) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(p.acked for p in batch), f"cycle {cycle}: a producer got no acknowledgement"
        time.sleep(load_s)
        b.kill9()
        for p in batch:
            p.finish()
        producers[topic].extend(batch)
        started = time.monotonic()
        b.start()
        restarts.append(time.monotonic() - started)
        problems, summary = check(b, producers, f"cycle {cycle} (killed after {load_s:.2f} s)")
        log.append(summary)
        if problems:
            failure = f"seed {SEED}, cycle {cycle}:\n{describe(problems)}"
            break
    if failure is None:
        assert b.stop() == 0
        started = time.monotonic()
        b.start()
        restarts.append(time.monotonic() - started)
        problems, summary = check(b, producers, "after a clean stop")
        log.append(summary)
        if problems:
            failure = f"seed {SEED}, clean restart after {CYCLES} cycles:\n{describe(problems)}"
    with capsys.disabled():
        print(f"\ncrash loop: seed {SEED}, {len(restarts)} restart(s) in "
              f"{time.monotonic() - t0:.1f} s; restart time min {min(restarts):.3f} s, "
              f"median {statistics.median(restarts):.3f} s, max {max(restarts):.3f} s")
        for line in log:
            print(f"  {line}")
    assert failure is None, failure
