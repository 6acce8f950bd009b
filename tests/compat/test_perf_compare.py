"""perf/compare.sh end to end with its smallest settings (3 runs of 3 s per
figure, e2e 3 s), against the built binaries and an Apache Kafka from
scripts/kafka-peer.sh: it prints every limit, both tables with every row
measured (a median and the min-max of the runs, no failed figure) and the
load average. This is the benchmark itself, run by hand
(`ctest -R compat/test_perf_compare`, ~5 min): the suite skips it under
ASan, where CI runs compat/, since a benchmark there measures the
sanitizer. Whether a figure is flagged depends on what was measured; the
tables' shape and the flag rule are checked on fixed figures, in CI, by
tests/perf/test_compare_report.py."""
import os
import pathlib
import re
import subprocess

import pytest

from conftest import SANITIZED

SOURCE = pathlib.Path(os.environ.get("SLUICE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
# Seven loopback series, six produce and eight fetch figures, three e2e ones,
# each 3 x 3 s, plus Kafka's start: a few minutes on a busy machine.
COMPARE_TIMEOUT_S = 840
SPREAD = r"[0-9.]+ MB/s \([0-9.]+-[0-9.]+\)"
KAFKA_ROWS = ["raw produce, 1 MiB requests, acks=1", "rdkafka produce, 1024 B messages",
              "raw hot fetch", "rdkafka hot fetch", "raw cold fetch", "rdkafka cold fetch"]
LIMIT_ROWS = ["raw produce, 1 MiB requests, acks=1, 4 connections", "rdkafka produce, 1024 B messages",
              "raw hot fetch, 6 connections", "rdkafka hot fetch", "raw cold fetch",
              "rdkafka cold fetch", "e2e p99 at 10000 msg/s", "e2e p99.9 at 10000 msg/s"]


def row(table, name):
    """The cells after the name of the row NAME in TABLE (text)."""
    lines = [line for line in table.splitlines() if line.startswith(f"| {name} |")]
    assert lines, f"no row {name!r} in:\n{table[-4000:]}"
    return [cell.strip() for cell in lines[0].strip().strip("|").split("|")][1:]


# Under ASan a benchmark's figures mean nothing and its minutes are better
# spent on the tests that look for memory errors.
@pytest.mark.skipif(SANITIZED, reason="a benchmark under ASan measures the sanitizer")
def test_compare_smallest_run():
    env = dict(os.environ)
    env.setdefault("SLUICE_BIN", str(SOURCE / "build/sluice"))
    env.setdefault("SLUICE_PERF_BIN", str(SOURCE / "build/perf/sluice-perf"))
    p = subprocess.run(["bash", str(SOURCE / "perf/compare.sh"), "--seconds", "3", "--runs", "3",
                        "--e2e-seconds", "3"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=COMPARE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    text = p.stdout.decode(errors="replace")
    assert p.returncode == 0, text[-4000:]
    assert re.search(r"^loopback TCP, 1M writes, copying: 1 stream " + SPREAD, text, re.M), text
    assert re.search(r"^loopback TCP, 1M writes, sendfile \(-Z\): 1 stream " + SPREAD, text, re.M), text
    assert re.search(r"^loopback TCP, sendfile of 8388608 B to recv_into \(perf/loopback.py\): 1 stream "
                     + SPREAD, text, re.M), text
    assert re.search(r"^load average: [0-9.]+ [0-9.]+ [0-9.]+; 3 runs of each figure, 3 s each", text, re.M)
    assert "failed" not in text, text[-4000:]
    kafka_table, _, limit_table = text.partition("| figure | sluice | limit or peer |")
    kafka_table = kafka_table[kafka_table.index("| figure | sluice | Kafka"):]
    for name in KAFKA_ROWS:
        sluice, kafka, ratio = row(kafka_table, name)
        assert re.fullmatch(SPREAD, sluice) and re.fullmatch(SPREAD, kafka), (name, sluice, kafka)
        assert re.fullmatch(r"[0-9.]+", ratio), (name, ratio)
    for name in LIMIT_ROWS:
        sluice, _, ratio, _ = row(limit_table, name)
        assert re.fullmatch(SPREAD + "|[0-9.]+ ms \\([0-9.]+-[0-9.]+\\)", sluice), (name, sluice)
        assert re.match(r"[0-9.]+ of ", ratio), (name, ratio)
