"""The broker as shards: every core layout (network and io shard counts,
more shards than cores) serves produce and fetch exactly, with per-partition
order, over connections the kernel spreads across the network shards and
partitions spread over the io shards; long polls woken by appends on other
shards; deletion while fetches wait; placement kept across restarts and
re-balanced when the layout changes; a few hundred connections at once; the
layout is logged and exported."""
import os
import re
import struct
import threading
import time
import urllib.request

import pytest

import kafka_wire as kw
from conftest import KAFKA_PYTHON_PROBE

PARTITIONS = 6


def metrics_text(broker):
    return urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                  timeout=5).read().decode()


def create_topic(bootstrap, name, partitions):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KAFKA_PYTHON_PROBE)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()


def produce_request(topic, partition, values):
    batch = kw.record_batch(values)
    body = kw.string(None) + struct.pack(">hii", 1, 10000, 1) + kw.string(topic)
    body += struct.pack(">ii", 1, partition) + struct.pack(">i", len(batch)) + batch
    return body


def read_values(records):
    """Values of every record in an uncompressed records blob, in order."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        count = struct.unpack(">i", records[pos + 57:pos + 61])[0]
        r = pos + 61
        for _ in range(count):
            n, r = varint_at(records, r)
            end = r + n
            r += 1
            _, r = varint_at(records, r)   # timestamp delta
            _, r = varint_at(records, r)   # offset delta
            klen, r = varint_at(records, r)
            r += max(klen, 0)
            vlen, r = varint_at(records, r)
            out.append(records[r:r + vlen])
            r = end
        pos += 12 + length
    return out


def varint_at(buf, pos):
    shift = v = 0
    while True:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return (v >> 1) ^ -(v & 1), pos
        shift += 7


def fetch_all(bootstrap, topic, partition):
    c = kw.Conn(bootstrap)
    values, offset = [], 0
    while True:
        err, hw, records = kw.fetch_v4(c, topic, partition, offset, max_bytes=8 << 20,
                                       partition_max_bytes=8 << 20)
        assert err == 0
        got = read_values(records)
        if not got:
            break
        values += got
        offset += len(got)
        if offset >= hw:
            break
    c.close()
    return values


def run_load(bootstrap, topic, connections, requests_each):
    """Each connection pipelines its produce requests to one partition, then
    reads every response; returns the values sent per partition, in order."""
    conns = [kw.Conn(bootstrap, timeout=60) for _ in range(connections)]
    sent = {p: [] for p in range(PARTITIONS)}
    for i, c in enumerate(conns):
        p = i % PARTITIONS
        for k in range(requests_each):
            values = [b"c%d-r%d-%d" % (i, k, j) for j in range(3)]
            c.request(0, 3, produce_request(topic, p, values))
            sent[p].append(values)
    bases = {}
    for i, c in enumerate(conns):
        p = i % PARTITIONS
        last = -1
        for k in range(requests_each):
            r = c.response()
            pos = 4 + 4
            (tlen,) = struct.unpack(">h", r[pos:pos + 2])
            pos += 2 + tlen + 4
            part, err, base = struct.unpack(">ihq", r[pos:pos + 14])
            assert (part, err) == (p, 0)
            assert base > last, "responses on one connection left out of order"
            last = base
            bases[(i, k)] = base
        c.close()
    return sent, bases


def check_exact(bootstrap, topic, connections, requests_each, sent):
    for p in range(PARTITIONS):
        got = fetch_all(bootstrap, topic, p)
        expected = [v for values in sent[p] for v in values]
        assert sorted(got) == sorted(expected), f"partition {p}: lost or duplicated records"
        # Each connection's records keep their order within the partition.
        for i in range(p, connections, PARTITIONS):
            mine = [v for v in got if v.startswith(b"c%d-" % i)]
            assert mine == [v for v in expected if v.startswith(b"c%d-" % i)]


@pytest.mark.parametrize("network,io", [(1, 1), (2, 1), (1, 2), (2, 2), (3, 3), (4, 4)])
def test_layouts_serve_exactly(make_broker, network, io):
    b = make_broker({"num.network.threads": network, "num.io.threads": io})
    log = b.log_text()
    shards = max(network, io)
    layout = re.findall(r"core layout: shard (\d+) on CPU (\d+): (.*)", log)
    assert len(layout) == shards, log
    assert all(("network" in roles) == (int(k) < network) for k, _, roles in layout)
    assert all(("io (partitions)" in roles) == (int(k) < io) for k, _, roles in layout)
    assert metrics_text(b).count("sluice_shard_info{") == shards
    create_topic(b.bootstrap, "spread", PARTITIONS)
    assert partitions_per_shard(b) == balanced(PARTITIONS, io)
    connections = 4 * max(network, 2)
    sent, _ = run_load(b.bootstrap, "spread", connections, 20)
    check_exact(b.bootstrap, "spread", connections, 20, sent)
    text = metrics_text(b)
    appended = re.findall(r'sluice_produce_bytes_total\{shard="(\d+)"\} (\d+)', text)
    # Every io shard appended its partitions' records, and only io shards did.
    assert {k for k, n in appended if int(n) > 0} == {str(k) for k in range(io)}, appended
    accepted = re.findall(r'sluice_connections_accepted_total\{shard="(\d+)"\} (\d+)', text)
    assert sum(int(n) for _, n in accepted) >= connections
    if network > 1:
        # The kernel spread the connections: more than one shard accepted some.
        assert sum(1 for _, n in accepted if int(n) > 0) > 1


def partitions_per_shard(b):
    found = re.findall(r'sluice_partitions\{shard="(\d+)"\} (\d+)', metrics_text(b))
    return [int(n) for _, n in sorted(found, key=lambda kv: int(kv[0]))]


def balanced(partitions, shards):
    return [partitions // shards + (k < partitions % shards) for k in range(shards)]


def long_poll(bootstrap, topic, partition, max_wait_ms, out):
    c = kw.Conn(bootstrap, timeout=30)
    started = time.monotonic()
    err, hw, records = kw.fetch_v4(c, topic, partition, 0, max_wait_ms=max_wait_ms, min_bytes=1)
    out.append((time.monotonic() - started, err, records))
    c.close()


def test_long_poll_is_woken_by_an_append_on_another_shard(make_broker):
    """One network shard, two io shards: a fetch waiting on a partition of
    shard 1 is answered by the append, long before its 20 s wait."""
    b = make_broker({"num.network.threads": 1, "num.io.threads": 2})
    create_topic(b.bootstrap, "poll", 2)
    # A fresh broker places partition k on io shard k mod 2 (least loaded first).
    remote = 1
    out = []
    t = threading.Thread(target=long_poll, args=(b.bootstrap, "poll", remote, 20000, out))
    t.start()
    time.sleep(0.5)
    c = kw.Conn(b.bootstrap)
    assert kw.produce_v3(c, "poll", remote, kw.record_batch([b"wake"]))[0] == 0
    c.close()
    t.join(30)
    waited, err, records = out[0]
    assert err == 0 and read_values(records) == [b"wake"]
    assert waited < 10, f"the fetch waited {waited:.1f} s for an append made after 0.5 s"


def test_delete_topic_answers_fetches_waiting_on_other_shards(make_broker):
    b = make_broker({"num.network.threads": 1, "num.io.threads": 2})
    create_topic(b.bootstrap, "doomed", 2)
    out = []
    threads = [threading.Thread(target=long_poll, args=(b.bootstrap, "doomed", p, 20000, out))
               for p in (0, 1)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, **KAFKA_PYTHON_PROBE)
    admin.delete_topics(["doomed"])
    for t in threads:
        t.join(30)
    assert len(out) == 2
    for waited, err, records in out:
        assert err == 3 and records == b"", (err, records)   # UNKNOWN_TOPIC_OR_PARTITION
        assert waited < 10
    # The directories are gone when DeleteTopics answers: the name is free again.
    assert not [d for d in os.listdir(b.data_dir) if d.startswith("doomed-")]
    admin.create_topics([NewTopic("doomed", 2, 1)])
    admin.close()
    c = kw.Conn(b.bootstrap)
    assert kw.produce_v3(c, "doomed", 1, kw.record_batch([b"again"]))[0] == 0
    err, hw, records = kw.fetch_v4(c, "doomed", 1, 0)
    assert (err, hw, read_values(records)) == (0, 1, [b"again"])
    c.close()


def test_placement_survives_restarts_and_follows_the_layout(make_broker):
    b = make_broker({"num.network.threads": 1, "num.io.threads": 2})
    create_topic(b.bootstrap, "placed", PARTITIONS)
    c = kw.Conn(b.bootstrap)
    for p in range(PARTITIONS):
        assert kw.produce_v3(c, "placed", p, kw.record_batch([b"p%d" % p]))[0] == 0
    c.close()
    assert partitions_per_shard(b) == [3, 3]

    def restart(io):
        b.stop()
        b.settings.update({"num.io.threads": io})
        mark = len(b.log_text())
        b.start()
        return b.log_text()[mark:]

    log = restart(2)
    assert "core layout changed" not in log
    assert partitions_per_shard(b) == [3, 3]
    log = restart(3)
    assert re.search(r"core layout changed from 2 to 3 io shard\(s\): 2 partition\(s\)", log), log
    assert partitions_per_shard(b) == [2, 2, 2]
    log = restart(3)
    assert "core layout changed" not in log
    assert partitions_per_shard(b) == [2, 2, 2]
    log = restart(1)
    assert partitions_per_shard(b) == [6]
    for p in range(PARTITIONS):
        assert fetch_all(b.bootstrap, "placed", p) == [b"p%d" % p]


def test_groups_are_coordinated_by_every_io_shard(make_broker):
    """__consumer_offsets is placed like any topic and each io shard
    coordinates the groups of its partitions: commits land on both shards,
    requests naming groups of both shards (ListGroups, DescribeGroups,
    OffsetFetch v8, DeleteGroups) answer for all of them, and a restart
    replays each shard's groups."""
    from group_wire import (delete_groups_v1, describe_groups_v4, find_coordinator_v2,
                            list_groups_v4, offset_commit_v7, offset_fetch_v5, offset_fetch_v8)
    b = make_broker({"num.network.threads": 1, "num.io.threads": 2,
                     "offsets.topic.num.partitions": 8})
    create_topic(b.bootstrap, "tracked", 2)
    c = kw.Conn(b.bootstrap)
    assert find_coordinator_v2(c, "g0")[0] == 0
    groups = [f"group-{i}" for i in range(16)]
    for i, g in enumerate(groups):
        assert offset_commit_v7(c, g, -1, "", {("tracked", 0): (i, "m"), ("tracked", 1): (100 + i, None)}) \
            == {("tracked", 0): 0, ("tracked", 1): 0}
    assert partitions_per_shard(b) == [5, 5]     # 2 + 8 partitions
    # Placed after "tracked" (one partition on each shard), __consumer_offsets
    # partition k is on shard k mod 2: records were written on both shards.
    written = {k % 2 for k in range(8)
               if os.path.getsize(os.path.join(b.data_dir, f"__consumer_offsets-{k}",
                                               "00000000000000000000.log")) > 0}
    assert written == {0, 1}
    err, listed = list_groups_v4(c)
    assert err == 0 and set(listed) == set(groups)
    described = describe_groups_v4(c, groups + ["nobody"])
    assert all(described[g]["state"] == "Empty" and described[g]["error"] == 0 for g in groups)
    assert described["nobody"]["state"] == "Dead"
    fetched = offset_fetch_v8(c, {g: [("tracked", 0), ("tracked", 1)] for g in groups})
    assert fetched == {g: (0, {("tracked", 0): i, ("tracked", 1): 100 + i})
                       for i, g in enumerate(groups)}
    c.close()
    b.stop()
    b.start()
    c = kw.Conn(b.bootstrap)
    for i, g in enumerate(groups):
        err, offs = offset_fetch_v5(c, g, [("tracked", 0), ("tracked", 1)])
        assert err == 0
        assert offs[("tracked", 0)][:1] == (i,) and offs[("tracked", 1)][:1] == (100 + i,)
    assert delete_groups_v1(c, groups[:8]) == {g: 0 for g in groups[:8]}
    err, listed = list_groups_v4(c)
    assert err == 0 and set(listed) == set(groups[8:])
    c.close()
    assert partitions_per_shard(b) == [5, 5]


def test_hundreds_of_connections(make_broker):
    b = make_broker({"num.network.threads": 2, "num.io.threads": 2})
    create_topic(b.bootstrap, "crowd", PARTITIONS)
    sent, _ = run_load(b.bootstrap, "crowd", 300, 5)
    check_exact(b.bootstrap, "crowd", 300, 5, sent)
    assert b.alive()


def test_bad_cpu_affinity_stops_the_start(make_broker):
    with pytest.raises(RuntimeError) as e:
        make_broker({"cpu.affinity": "0-x"})
    assert "cpu.affinity" in str(e.value)


def vm_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def test_flooded_shards_stay_bounded(make_broker):
    """Forty connections push 200 MiB of produce requests as fast as the
    sockets take them into a broker with a 4 MiB request budget (2 MiB per
    network shard), their partitions on both io shards: its peak resident
    memory grows by far less than the load, and every record is written."""
    import threading
    from conftest import SANITIZED
    b = make_broker({"num.network.threads": 2, "num.io.threads": 2,
                     "queued.max.request.bytes": 4 << 20})
    create_topic(b.bootstrap, "flood", PARTITIONS)
    pid = b.proc.pid
    base_kib = vm_kib(pid, "VmRSS")
    value = b"f" * 8000
    requests_each, records_per_request = 20, 32   # 256 KiB requests, 200 MiB in all
    failures = []

    def one(i):
        c = kw.Conn(b.bootstrap, timeout=120)
        p = i % PARTITIONS
        body = produce_request("flood", p, [value] * records_per_request)

        def reader():
            for _ in range(requests_each):
                r = c.response()
                pos = 4 + 4
                (tlen,) = struct.unpack(">h", r[pos:pos + 2])
                pos += 2 + tlen + 4
                if struct.unpack(">ihq", r[pos:pos + 14])[1] != 0:
                    failures.append(i)
        t = threading.Thread(target=reader)
        t.start()
        for _ in range(requests_each):
            c.request(0, 3, body)
        t.join(120)
        c.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not failures
    peak_growth_mib = (vm_kib(pid, "VmHWM") - base_kib) / 1024
    request_bytes = len(produce_request("flood", 0, [value] * records_per_request))
    assert 40 * requests_each * request_bytes > 190 << 20
    print(f"peak RSS growth {peak_growth_mib:.1f} MiB for {40 * requests_each * request_bytes >> 20} MiB sent")
    if not SANITIZED:
        assert peak_growth_mib < 64, f"peak RSS grew by {peak_growth_mib:.0f} MiB under a 4 MiB budget"
    assert b.metrics()["sluice_receive_pauses_total"] > 0, "the budget was never reached"
    got = sum(len(fetch_all(b.bootstrap, "flood", p)) for p in range(PARTITIONS))
    assert got == 40 * requests_each * records_per_request
