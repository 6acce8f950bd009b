"""One tuning study end to end in --quick mode (tuning/layout.sh on one
layout, against the built binaries): it writes its CSV with the documented
header and its heat maps as PNG files. Skips when matplotlib cannot be
installed (the study exits 3)."""
import os
import pathlib
import subprocess

import pytest

SOURCE = pathlib.Path(os.environ.get("SLUICE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
STUDY_TIMEOUT_S = 80
LAYOUT_HEADER = ("network_threads,io_threads,connections,partitions,load1,"
                 "msgs_per_s,mb_per_s,errors,p50_us,p99_us,p999_us,max_us")


def test_layout_study_quick(tmp_path):
    env = dict(os.environ)
    env.setdefault("SLUICE_BIN", str(SOURCE / "build/sluice"))
    env.setdefault("SLUICE_PERF_BIN", str(SOURCE / "build/perf/sluice-perf"))
    p = subprocess.run(["bash", str(SOURCE / "tuning/layout.sh"), "--quick", "--network", "1",
                        "--io", "1", "--out", str(tmp_path)], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=STUDY_TIMEOUT_S)
    if p.returncode == 3:
        pytest.skip("python3-matplotlib could not be installed")
    assert p.returncode == 0, p.stdout.decode()[-3000:]
    lines = (tmp_path / "layout.csv").read_text().splitlines()
    assert lines[0] == LAYOUT_HEADER
    assert len(lines) == 1 + 4, lines  # --quick: 2 connection counts x 2 partition counts
    assert all(line.split(",")[6] for line in lines[1:]), lines  # every cell measured
    for png in ("layout_throughput.png", "layout_p99.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


STUDY_OWN_FLAGS = {
    "layout": "--partitions LIST",
    "batching": "--linger LIST",
    "compression": "--codecs LIST",
    "durability": "--producers LIST",
    "latency_rate": "--best N+M",
}


def test_every_study_parses_the_shared_flags(tmp_path):
    """--quick, --out and --seconds are parsed once, in tuning/lib.sh: every
    study refuses a --seconds that is not a number and an unknown flag, before
    it builds or starts anything, with a usage line naming the shared flags and
    its own."""
    for study, own in STUDY_OWN_FLAGS.items():
        script = str(SOURCE / f"tuning/{study}.sh")
        for args, why in ((["--seconds", "soon"], "--seconds takes a number"),
                          (["--quick", "--no-such-flag", "1"], "unknown flag --no-such-flag")):
            p = subprocess.run(["bash", script, "--out", str(tmp_path)] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            text = p.stdout.decode()
            assert p.returncode == 2, (study, text)
            assert why in text, (study, text)
            assert f"usage: bash tuning/{study}.sh [--quick] [--out DIR] [--seconds S]" in text, text
            assert own in text, (study, text)
        assert not (tmp_path / f"{study}.meta").exists()
