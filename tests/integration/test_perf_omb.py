"""sluice-perf omb: a tiny OpenMessaging Benchmark workload (one topic of
two partitions, one producer, one subscription of two consumers in a group)
runs in seconds with --minutes, creates its topic, and reports OMB's figures
(publish and consume rates, publish and end-to-end latency percentiles, in
non-decreasing order) with no errors; a payloadFile is read beside the
workload; a malformed workload is refused with its line named, before any
client starts. No latency value is asserted."""
import json
import os
import subprocess

from conftest import run

PERF = os.environ.get("SLUICE_PERF_BIN", "build/perf/sluice-perf")

TINY = """# tiny: a smoke test of the omb mode
name: tiny
topics: 1
partitionsPerTopic: 2
messageSize: 128
{payload}subscriptionsPerTopic: 1
consumerPerSubscription: 2
producersPerTopic: 1
producerRate: 300
consumerBacklogSizeGB: 0
testDurationMinutes: 1
warmupDurationMinutes: 0.5
"""

QUANTILES = ["50pct", "75pct", "95pct", "99pct", "999pct", "9999pct", "Max"]


def test_omb_tiny_workload(broker, tmp_path):
    (tmp_path / "payload.data").write_bytes(bytes(range(256)))
    wl = tmp_path / "tiny.yaml"
    wl.write_text(TINY.format(payload='payloadFile: "payload.data"\n'))
    out = tmp_path / "omb.json"
    # --minutes 0.05: a 3 s test after a 1.5 s warm-up (scaled alike).
    text = run([PERF, "omb", str(wl), "--brokers", broker.bootstrap, "--topic", "tiny", "--minutes", "0.05",
                "--json", str(out)], timeout=180).decode()
    res = json.loads(out.read_text())
    assert res["workload"] == "tiny" and res["errors"] == 0
    assert res["producers"] == 1 and res["consumers"] == 2 and res["partitions"] == 2
    assert res["testSeconds"] == 3.0
    assert res["publishRate"] > 0 and res["consumeRate"] > 0
    for kind in ("aggregatedPublishLatency", "aggregatedEndToEndLatency"):
        series = [res[kind + q] for q in QUANTILES]
        assert series[0] > 0 and series == sorted(series), (kind, series)
    assert "publish rate" in text and "end-to-end latency (ms)" in text
    # The topic exists with the workload's partitions.
    meta = run(["kcat", "-b", broker.bootstrap, "-L", "-t", "tiny-0"], timeout=30).decode()
    assert "2 partitions" in meta


def test_omb_refuses_bad_workloads(tmp_path):
    for line, why in [("keyDistributor: NO_KEY", "line 6: unknown key 'keyDistributor'"),
                      ("producerRate: fast", "line 6: producerRate: 'fast' is not a number"),
                      ("name: " + "x" * 300, "line 6: longer than 256 bytes")]:
        wl = tmp_path / "bad.yaml"
        wl.write_text(TINY.format(payload=line + "\n"))
        p = subprocess.run([PERF, "omb", str(wl), "--brokers", "127.0.0.1:1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2 and why.encode() in p.stderr, p.stderr
    for args, why in [(["omb", "--brokers", "x"], "the workload file comes first"),
                      (["omb", "w.yaml"], "--brokers"),
                      (["omb", "w.yaml", "--brokers", "x", "--rate", "5"], "omb: the workload file sets")]:
        p = subprocess.run([PERF] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2 and why.encode() in p.stderr, (args, p.stderr)
