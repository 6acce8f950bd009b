"""known_differences.md and the tests that expect its divergences name the
same ids (no entry without a test that checks it, no Known without an entry)."""
import glob
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def test_known_differences_listed_and_tested():
    with open(os.path.join(HERE, "known_differences.md")) as f:
        listed = set(re.findall(r"^## (KD-\d+)\b", f.read(), re.M))
    used = set()
    for path in glob.glob(os.path.join(HERE, "test_*.py")):
        with open(path) as f:
            used |= set(re.findall(r"Known\(\s*\"(KD-\d+)\"", f.read()))
    assert listed == used, (f"listed but not tested: {sorted(listed - used)}; "
                            f"tested but not listed: {sorted(used - listed)}")
