"""sluice-perf omb: a tiny OpenMessaging Benchmark workload (one topic of
two partitions, one producer, one subscription of two consumers in a group)
runs in seconds with --minutes, creates its topic, and reports OMB's figures
(publish and consume rates, publish and end-to-end latency percentiles, in
non-decreasing order) with no errors; a payloadFile is read beside the
workload; producerRate 0 searches the highest sustained rate; a malformed
workload is refused with its line named, before any client starts. No
latency value is asserted."""
import json
import os
import re
import subprocess

import pytest

from conftest import LAYOUT, run

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


SEARCH = TINY.replace("name: tiny", "name: search").replace("messageSize: 128", "messageSize: 16384") \
    .replace("producerRate: 300", "producerRate: 0").format(payload="")
SEARCH_LINE = r"omb search: ([0-9]+) msg/s: publish ([0-9.]+) msg/s, consume ([0-9.]+) msg/s, ([0-9]+) errors: (sustained|not sustained)"


# The search is sluice-perf's logic and takes minutes: once per build, not
# again under each core layout scripts/test.sh runs integration/ in.
@pytest.mark.skipif(bool(LAYOUT), reason="runs once per build, in the default layout")
def test_omb_rate_zero_searches_the_maximum(broker, tmp_path):
    """producerRate 0 is OMB's "the highest rate the broker sustains": the
    workload runs at sweep's rates from 1000 msg/s up (1, 1.5, 2, 3, 5, 7 x
    10^k) until one is not sustained (published and consumed >= 95%, nothing
    lost), and reports the figures of the highest sustained rate. 16 KiB
    messages make that rate low enough for a few steps."""
    wl = tmp_path / "search.yaml"
    wl.write_text(SEARCH)
    out = tmp_path / "omb.json"
    # --minutes 0.02: each rate runs 1.2 s after a 0.6 s warm-up.
    text = run([PERF, "omb", str(wl), "--brokers", broker.bootstrap, "--topic", "search", "--minutes", "0.02",
                "--json", str(out)], timeout=600).decode()
    steps = [(float(r), float(p), float(c), int(e), s) for r, p, c, e, s in re.findall(SEARCH_LINE, text)]
    assert len(steps) >= 2, text
    series = [1000.0]
    while len(series) < len(steps):
        k, m = divmod(len(series), 6)
        series.append([1, 1.5, 2, 3, 5, 7][m] * 1000 * 10 ** k)
    assert [s[0] for s in steps] == series, text
    assert all(s[4] == "sustained" for s in steps[:-1]) and steps[-1][4] == "not sustained", text
    for rate, pub, con, errors, verdict in steps:
        assert (verdict == "sustained") == (errors == 0 and pub >= 0.95 * rate and con >= 0.95 * rate), text
    best = steps[-2][0]
    assert f"omb search: maximum sustained rate {best:.0f} msg/s" in text, text
    res = json.loads(out.read_text())
    assert res["workload"] == "search" and res["errors"] == 0
    assert res["publishRate"] >= 0.95 * best and res["consumeRate"] >= 0.95 * best
