"""perf/compare_report.sh on fixed figures: the tables perf/compare.sh
prints, their medians and min-max spreads, ratios, limits and the flag on a
figure above its limit, checked without measuring anything (the measured
run, tests/compat/test_perf_compare.py, is a benchmark)."""
import os
import pathlib
import subprocess

import pytest

SOURCE = pathlib.Path(os.environ.get("SLUICE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
REPORT = SOURCE / "perf/compare_report.sh"
FLAG = "MEASUREMENT PROBLEM: above the limit"
VARS = {
    "KAFKA_VERSION": "4.4.0", "SIZE": "1024", "PARTITIONS": "6", "RAW_CONNECTIONS": "4",
    "E2E_RATE": "10000", "LOOPBACK_BLOCK": "1M", "FETCH_REQUEST_BYTES": "8388608",
    "FIO_MIB": "512", "PRODUCE_CPU": "0.80", "K_PRODUCE_CPU": "1.60", "RAW_PRODUCE_CPU": "0.50",
    "K_RAW_PRODUCE_CPU": "1.00", "RAW_FETCH_USER": "0.01", "RAW_FETCH_SYS": "0.30",
    "K_RAW_FETCH_USER": "0.20", "K_RAW_FETCH_SYS": "0.40",
}


def perf_line(mbps):
    return f"produce: 1000 messages, 1024000 bytes in 3.000 s: 333 msg/s, {mbps:.2f} MB/s, 0 errors"


def latency_line(p99_us, p999_us):
    return (f"latency (end to end, us): p50 300 p90 500 p99 {p99_us} p99.9 {p999_us} "
            f"p99.99 {p999_us + 100} max {p999_us + 200}")


def baseline():
    """Figures that flag nothing: every sluice figure below its limit."""
    figs = {
        "loopback-1": [2000, 2100, 1900], "loopback-raw": [2500, 2600, 2400],
        "loopback-copy-fetch": [2600, 2700, 2500], "loopback-fetch-1": [1800, 1900, 1700],
        "loopback-fetch": [2400, 2500, 2300], "loopback-splice-1": [2200, 2300, 2100],
        "loopback-splice": [3000, 3100, 2900], "disk": [1500, 1600, 1400],
        "s-raw": [900, 1000, 1100], "k-raw": [450, 500, 550], "m-raw": [600, 700, 500],
        "s-produce": [300, 310, 290], "k-produce": [200, 210, 190], "m-produce": [100, 110, 90],
        "s-raw-hot": [2800, 2900, 2700], "k-raw-hot": [2000, 2100, 1900],
        "s-hot": [1000, 1100, 900], "k-hot": [800, 850, 750],
        "s-raw-cold": [1400, 1450, 1350], "k-raw-cold": [700, 750, 650],
        "s-cold": [500, 550, 450], "k-cold": [400, 450, 350],
    }
    lines = {name: [perf_line(v) if not name.startswith(("loopback", "disk"))
                    else f"{'fio' if name == 'disk' else 'iperf3'}: {v} MB/s" for v in values]
             for name, values in figs.items()}
    lines["s-e2e"] = [latency_line(800, 1500), latency_line(900, 1800), latency_line(1000, 2100)]
    lines["k-e2e"] = [latency_line(1800, 9000)] * 3
    lines["m-e2e"] = [latency_line(400, 600)] * 3
    return lines


def report(tmp_path, lines):
    fig = tmp_path / "fig"
    fig.mkdir()
    for name, runs in lines.items():
        for i, line in enumerate(runs, 1):
            (fig / f"{name}.{i}").write_text(line + "\n")
    variables = tmp_path / "report.vars"
    variables.write_text("".join(f"{k}={v}\n" for k, v in VARS.items()))
    p = subprocess.run(["bash", str(REPORT), str(fig), str(variables)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    kafka, _, limits = p.stdout.partition("\n\n")
    return kafka, limits


def cells(table, name):
    rows = [line for line in table.splitlines() if line.startswith(f"| {name} |")]
    assert len(rows) == 1, f"{name!r}:\n{table}"
    return [c.strip() for c in rows[0].strip().strip("|").split("|")][1:]


def test_kafka_table_medians_spreads_and_ratios(tmp_path):
    kafka, _ = report(tmp_path, baseline())
    assert kafka.startswith("| figure | sluice | Kafka 4.4.0 | sluice / Kafka |\n| --- |")
    assert cells(kafka, "raw produce, 1 MiB requests, acks=1") == \
        ["1000.00 MB/s (900.00-1100.00)", "500.00 MB/s (450.00-550.00)", "2.00"]
    assert cells(kafka, "rdkafka cold fetch") == ["500.00 MB/s (450.00-550.00)", "400.00 MB/s (350.00-450.00)", "1.25"]
    assert cells(kafka, "e2e p99 at 10000 msg/s") == ["0.90 ms (0.80-1.00)", "1.80 ms (1.80-1.80)", "0.50"]
    assert cells(kafka, "e2e p99.9 at 10000 msg/s")[0] == "1.80 ms (1.50-2.10)"
    assert cells(kafka, "broker CPU per GB produced (raw)") == ["0.50 s", "1.00 s", "0.50"]
    assert len([line for line in kafka.splitlines() if line.startswith("| ")]) == 2 + 6 + 3 + 4


def test_limit_table_limits_and_no_flag_below_them(tmp_path):
    _, limits = report(tmp_path, baseline())
    assert FLAG not in limits
    # Produce's limit is the lower of the loopback (4 streams: 2500) and the disk (1500).
    sluice, peer, ratio, target = cells(limits, "raw produce, 1 MiB requests, acks=1, 4 connections")
    assert (sluice, peer) == ("1000.00 MB/s (900.00-1100.00)", "lower limit 1500 MB/s; mock 600.00 MB/s")
    assert ratio == "0.67 of limit; 1.67 of mock" and target == ">= 0.70 of limit"
    # A fetch's limit is the largest of the three loopback figures for its streams.
    assert cells(limits, "raw hot fetch, 6 connections")[1].startswith("loopback 3000 MB/s")
    assert cells(limits, "rdkafka hot fetch")[2] == "0.45 of loopback"
    assert cells(limits, "raw cold fetch")[2] == "0.50 of hot"
    assert cells(limits, "e2e p99.9 at 10000 msg/s")[2] == "3.00 of mock"
    assert cells(limits, "broker CPU per GB produced (raw)") == ["0.50 s", "", "", "<= 0.4 s"]


def test_flag_only_above_the_limit(tmp_path):
    lines = baseline()
    lines["s-raw-hot"] = [perf_line(v) for v in (3100, 3200, 3000)]  # above 3000
    lines["s-raw"] = [perf_line(v) for v in (1500, 1500, 1500)]      # exactly the limit
    _, limits = report(tmp_path, lines)
    flagged = [line for line in limits.splitlines() if FLAG in line]
    assert len(flagged) == 1 and flagged[0].startswith("| raw hot fetch, 6 connections |"), flagged
    assert cells(limits, "raw produce, 1 MiB requests, acks=1, 4 connections")[2].startswith("1.00 of limit;")


@pytest.mark.parametrize("missing", ["s-hot", "k-e2e"])
def test_a_failed_figure_is_reported_not_fatal(tmp_path, missing):
    lines = baseline()
    lines[missing] = ["failed: broker went away"] * 3
    kafka, limits = report(tmp_path, lines)
    if missing == "s-hot":
        assert cells(kafka, "rdkafka hot fetch")[:2] == ["failed: broker went away", "800.00 MB/s (750.00-850.00)"]
        assert cells(kafka, "rdkafka hot fetch")[2] == "-"
        assert FLAG not in limits
    else:
        assert cells(kafka, "e2e p99 at 10000 msg/s")[1:] == ["-", "-"]
