"""sluice-perf drives the broker: produce at a fixed rate with JSON results,
then consume everything back by assignment; the raw engine's produce (acks 1
and 0) and fetch with exact message and byte counts; end-to-end latency; bad
flags get a usage message naming them. (Consuming in a group is left to the
group coordinator's tests.)"""
import json
import os
import resource
import subprocess

from conftest import run

PERF = os.environ.get("SLUICE_PERF_BIN", "build/perf/sluice-perf")


def test_perf_produce_consume(broker, tmp_path):
    out = tmp_path / "produce.json"
    run([PERF, "produce", "--brokers", broker.bootstrap, "--topic", "perf", "--partitions", "3",
         "--size", "512", "--count", "5000", "--rate", "5000", "--acks", "all", "--keys", "10",
         "--json", str(out)], timeout=120)
    res = json.loads(out.read_text())
    assert res["messages"] == 5000 and res["errors"] == 0 and res["bytes"] == 5000 * 512
    lat = res["latency_us"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    text = run([PERF, "consume", "--brokers", broker.bootstrap, "--topic", "perf", "--count", "5000"],
               timeout=120).decode()
    assert text.startswith("consume: 5000 messages, 2560000 bytes")


def varint_bytes(v):
    """Bytes of a zig-zag varint, as record batch v2 writes lengths and deltas."""
    z = (v << 1) ^ (v >> 63)
    n = 1
    while z >= 0x80:
        z >>= 7
        n += 1
    return n


def batch_bytes(records, value_bytes):
    """Bytes of an uncompressed v2 batch of null-key records without headers:
    the 61-byte header, then per record its length, attributes, timestamp and
    offset deltas, key length (-1), value length and value, header count."""
    total = 61
    for i in range(records):
        body = (1 + varint_bytes(0) + varint_bytes(i) + varint_bytes(-1) + varint_bytes(value_bytes)
                + value_bytes + varint_bytes(0))
        total += varint_bytes(body) + body
    return total


# 300000 request bytes over 3 partitions of 1000-byte values: each batch holds
# (100000 - 61) // (1000 + 19) = 98 records, so 5000 messages take 18 requests.
RAW_PER_PARTITION = 98
RAW_REQUESTS = 18
RAW_MESSAGES = RAW_REQUESTS * 3 * RAW_PER_PARTITION


def raw_produce(broker, tmp_path, topic, acks):
    out = tmp_path / f"{topic}.json"
    run([PERF, "produce", "--engine", "raw", "--brokers", broker.bootstrap, "--topic", topic,
         "--partitions", "3", "--size", "1000", "--request-bytes", "300000", "--count", "5000",
         "--connections", "2", "--inflight", "2", "--acks", acks, "--json", str(out)], timeout=120)
    return json.loads(out.read_text())


def raw_consume(broker, tmp_path, topic):
    out = tmp_path / f"{topic}-fetch.json"
    run([PERF, "consume", "--engine", "raw", "--brokers", broker.bootstrap, "--topic", topic,
         "--count", str(RAW_MESSAGES), "--connections", "2", "--json", str(out)], timeout=120)
    return json.loads(out.read_text())


def test_perf_raw_engine(broker, tmp_path):
    wire = RAW_REQUESTS * 3 * batch_bytes(RAW_PER_PARTITION, 1000)
    res = raw_produce(broker, tmp_path, "raw", "1")
    assert res["errors"] == 0 and res["requests"] == RAW_REQUESTS
    assert res["messages"] == RAW_MESSAGES and res["bytes"] == wire
    assert res["protocol"].startswith("Produce v")
    assert res["latency"] == "Produce request -> response"
    lat = res["latency_us"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    res = raw_consume(broker, tmp_path, "raw")
    assert res["errors"] == 0 and res["messages"] == RAW_MESSAGES and res["bytes"] == wire
    assert res["protocol"].startswith("Fetch v")
    assert res["latency"] == "Fetch request -> response"


def test_perf_raw_acks0(broker, tmp_path):
    """acks=0 gets no responses: requests end when sent, and fetching them
    back shows that every record landed."""
    res = raw_produce(broker, tmp_path, "raw0", "0")
    assert res["errors"] == 0 and res["messages"] == RAW_MESSAGES
    assert res["latency"].startswith("Produce request -> sent")
    res = raw_consume(broker, tmp_path, "raw0")
    assert res["errors"] == 0 and res["messages"] == RAW_MESSAGES


def test_perf_end_to_end(broker, tmp_path):
    out = tmp_path / "e2e.json"
    run([PERF, "e2e", "--brokers", broker.bootstrap, "--topic", "e2e", "--partitions", "2",
         "--size", "64", "--rate", "500", "--count", "1000", "--json", str(out)], timeout=120)
    res = json.loads(out.read_text())
    assert res["messages"] == 1000 and res["errors"] == 0 and res["bytes"] == 64000
    assert res["latency"] == "end to end: intended send -> consumer"
    lat = res["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["p99.99"] <= lat["max"]
    # 1000 messages at 500/s: the producer's clock says about two seconds.
    assert 1.5 < res["seconds"] < 10


def test_perf_paced_sends_sleep(broker):
    """A paced producer sleeps until each intended send time: spinning would
    take a whole core from the broker on a small machine and show up as its
    tail latency. At 200 msg/s for 3 s a spinning loop costs about 3 s of CPU,
    a sleeping one a small fraction of that."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run([PERF, "e2e", "--brokers", broker.bootstrap, "--topic", "paced", "--partitions", "1",
         "--size", "64", "--rate", "200", "--count", "600"], timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 1.5, f"sluice-perf used {cpu:.2f} s of CPU in a 3 s paced run"


def test_perf_bad_flags():
    for args, flag in [(["produce", "--brokers", "x", "--topic", "t", "--count", "zero"], "--count"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--bogus", "1"], "--bogus"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--engine", "x"], "--engine"),
                       (["e2e", "--brokers", "x", "--topic", "t", "--count", "1"], "--rate"),
                       (["e2e", "--brokers", "x", "--topic", "t", "--count", "1", "--rate", "1",
                         "--engine", "raw"], "--engine raw"),
                       (["consume", "--brokers", "x", "--topic", "t", "--count", "1", "--engine", "raw",
                         "--group", "g"], "--group"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--inflight", "0"],
                        "--inflight"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--inflight", "65"],
                        "--inflight"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--connections", "0"],
                        "--connections"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--request-bytes",
                         str(1 << 30)], "--request-bytes"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--engine", "raw",
                         "--rate", "10"], "--rate"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--engine", "raw",
                         "--compression", "lz4"], "--compression"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--compression", "x"],
                        "--compression"),
                       (["consume", "--brokers", "x", "--topic", "t", "--count", "1", "--engine", "raw",
                         "--from", "latest"], "--from"),
                       (["e2e", "--brokers", "x", "--topic", "t", "--count", "1", "--rate", "1",
                         "--size", "4"], "--size"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--connections"],
                        "--connections needs a value"),
                       (["fly"], "the first argument is produce, consume, e2e")]:
        p = subprocess.run([PERF] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2 and flag.encode() in p.stderr


def test_perf_consume_rewind(broker, tmp_path):
    """--rewind: both engines read a partition again from its start once they
    reach its end, so a fetch run lasts --duration on a small topic: more
    messages come back than the topic holds, in whole copies of it plus a
    part. Without --rewind the same run returns the topic once."""
    run([PERF, "produce", "--brokers", broker.bootstrap, "--topic", "rew", "--partitions", "1",
         "--size", "64", "--count", "500", "--acks", "1"], timeout=120)
    for engine in ("rdkafka", "raw"):
        out = tmp_path / f"{engine}.json"
        run([PERF, "consume", "--engine", engine, "--brokers", broker.bootstrap, "--topic", "rew",
             "--duration", "2", "--rewind", "true", "--connections", "1", "--json", str(out)], timeout=120)
        res = json.loads(out.read_text())
        assert res["errors"] == 0 and res["messages"] > 500, (engine, res)
    out = tmp_path / "once.json"
    run([PERF, "consume", "--engine", "raw", "--brokers", broker.bootstrap, "--topic", "rew",
         "--duration", "2", "--connections", "1", "--json", str(out)], timeout=120)
    assert json.loads(out.read_text())["messages"] == 500
    p = subprocess.run([PERF, "consume", "--brokers", "x", "--topic", "t", "--count", "5", "--rewind", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2 and b"--rewind: consume by assignment with --duration" in p.stderr
