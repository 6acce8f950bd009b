"""sluice-perf drives the broker: produce at a fixed rate with JSON results,
then consume everything back; bad flags get a usage message naming them."""
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


def test_perf_bad_flags():
    for args, flag in [(["produce", "--brokers", "x", "--topic", "t", "--count", "zero"], "--count"),
                       (["produce", "--brokers", "x", "--topic", "t", "--count", "1", "--bogus", "1"], "--bogus"),
                       (["fly"], "produce or consume")]:
        p = subprocess.run([PERF] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2 and flag.encode() in p.stderr
