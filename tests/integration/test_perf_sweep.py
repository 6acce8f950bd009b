"""sluice-perf sweep: e2e at a list of low fixed rates writes one CSV row per
rate with the documented columns, every percentile series non-decreasing
(p50 <= p99 <= p99.9 <= p99.99 <= max) for both end-to-end and produce-ack
latency, and no more messages than the rates and the step length allow. Bad
sweep flags get a usage message naming them. No latency value is asserted."""
import csv
import os
import subprocess

from conftest import run

PERF = os.environ.get("SLUICE_PERF_BIN", "build/perf/sluice-perf")

COLUMNS = ["rate_target_msgs_per_s", "produced_msgs_per_s", "consumed_msgs_per_s", "messages", "errors",
           "sustained", "e2e_p50_us", "e2e_p99_us", "e2e_p99_9_us", "e2e_p99_99_us", "e2e_max_us",
           "ack_p50_us", "ack_p99_us", "ack_p99_9_us", "ack_p99_99_us", "ack_max_us", "load_average_1m"]


def test_sweep_writes_a_row_per_rate(broker, tmp_path):
    out = tmp_path / "sweep.csv"
    text = run([PERF, "sweep", "--brokers", broker.bootstrap, "--topic", "sweep", "--size", "256",
                "--rates", "100,200,300", "--step-seconds", "1", "--csv", str(out)], timeout=180).decode()
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == COLUMNS
    assert len(rows) == 4 and all(len(r) == len(COLUMNS) for r in rows)
    for rate, row in zip((100, 200, 300), rows[1:]):
        r = dict(zip(COLUMNS, row))
        assert int(r["rate_target_msgs_per_s"]) == rate
        # One second at `rate`: the pacer's first send is at 0, its last before
        # 1 s (fewer when a loaded machine keeps the producer behind schedule).
        assert 0 < int(r["messages"]) <= rate + 1 and int(r["errors"]) == 0
        assert r["sustained"] in ("0", "1")
        for kind in ("e2e", "ack"):
            series = [int(r[f"{kind}_{q}_us"]) for q in ("p50", "p99", "p99_9", "p99_99", "max")]
            assert 0 < series[0] and series == sorted(series), (kind, series)
    assert "sweep: 100 msg/s" in text and "sweep: 300 msg/s" in text


def test_sweep_bad_flags():
    base = ["sweep", "--brokers", "x", "--topic", "t"]
    for args, why in [(base, "--csv"),
                      (base + ["--csv", "o.csv", "--rates", "100,zero"], "--rates"),
                      (base + ["--csv", "o.csv", "--rates", "0"], "--rates"),
                      (base + ["--csv", "o.csv", "--rates", ",".join(["1"] * 65)], "--rates"),
                      (base + ["--csv", "o.csv", "--rate", "100"], "--rate"),
                      (base + ["--csv", "o.csv", "--step-seconds", "0"], "--step-seconds"),
                      (base + ["--csv", "o.csv", "--from", "earliest"], "--from"),
                      (base + ["--csv", "o.csv", "--engine", "raw"], "--engine raw"),
                      (["e2e", "--brokers", "x", "--topic", "t", "--rate", "1", "--count", "1",
                        "--csv", "o.csv"], "--csv")]:
        p = subprocess.run([PERF] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2 and why.encode() in p.stderr, (args, p.stderr)
