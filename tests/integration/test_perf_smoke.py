"""sluice-perf drives the broker: produce at a fixed rate with JSON results,
then consume everything back (by assignment and in a group); the raw engine's
produce and fetch; end-to-end latency; bad flags get a usage message naming
them."""
import json
import os
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


def test_perf_group_consume(broker):
    run([PERF, "produce", "--brokers", broker.bootstrap, "--topic", "pg", "--partitions", "2",
         "--size", "100", "--count", "1000"], timeout=120)
    text = run([PERF, "consume", "--brokers", broker.bootstrap, "--topic", "pg", "--group", "perf-g",
                "--count", "1000"], timeout=120).decode()
    assert text.startswith("consume: 1000 messages, 100000 bytes")


def test_perf_raw_engine(broker, tmp_path):
    out = tmp_path / "raw.json"
    run([PERF, "produce", "--engine", "raw", "--brokers", broker.bootstrap, "--topic", "raw",
         "--partitions", "3", "--size", "1000", "--request-bytes", "300000", "--count", "5000",
         "--connections", "2", "--inflight", "2", "--acks", "1", "--json", str(out)], timeout=120)
    res = json.loads(out.read_text())
    # Requests carry 99 records per partition; the run stops after the one that crosses 5000.
    assert res["errors"] == 0 and res["messages"] >= 5000 and res["messages"] % 297 == 0
    assert res["bytes"] == res["messages"] * 1000 and res["requests"] >= res["messages"] // 297
    produced = res["messages"]
    out = tmp_path / "fetch.json"
    run([PERF, "consume", "--engine", "raw", "--brokers", broker.bootstrap, "--topic", "raw",
         "--count", str(produced), "--connections", "2", "--json", str(out)], timeout=120)
    res = json.loads(out.read_text())
    assert res["errors"] == 0 and res["messages"] == produced
    assert res["latency"] == "Fetch request -> response"


def test_perf_raw_engine_acks_zero(broker, tmp_path):
    # No responses come back: a request counts once it is sent, and the run ends.
    out = tmp_path / "raw0.json"
    run([PERF, "produce", "--engine", "raw", "--brokers", broker.bootstrap, "--topic", "raw0",
         "--partitions", "2", "--size", "1000", "--request-bytes", "100000", "--count", "3000",
         "--acks", "0", "--json", str(out)], timeout=60)
    res = json.loads(out.read_text())
    assert res["errors"] == 0 and res["messages"] >= 3000
    assert res["latency"] == "Produce request -> sent (acks=0: no response)"


def test_perf_end_to_end(broker, tmp_path):
    out = tmp_path / "e2e.json"
    run([PERF, "e2e", "--brokers", broker.bootstrap, "--topic", "e2e", "--partitions", "2",
         "--size", "64", "--rate", "500", "--count", "1000", "--json", str(out)], timeout=120)
    res = json.loads(out.read_text())
    assert res["messages"] == 1000 and res["errors"] == 0
    lat = res["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]


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
                       (["fly"], "produce, consume or e2e")]:
        p = subprocess.run([PERF] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2 and flag.encode() in p.stderr
