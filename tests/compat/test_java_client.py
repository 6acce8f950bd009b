"""The Java client (kafka-clients, tests/java) against sluice: produce and
consume with every codec, classic and KIP-848 groups, the AdminClient, the
producer's defaults. The same suite also runs against Apache Kafka, which
shows that what it expects of sluice is what Kafka does. Maven runs offline
from the cache scripts/install-java-tests.sh fills."""
import glob
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from kafka_peer import SOURCE_DIR, kafka_node

POM = os.path.join(SOURCE_DIR, "tests", "java", "pom.xml")
M2 = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                  "sluice", "java", "m2")
# Every Java test has its own bound (junit-platform.properties); this bounds
# the whole run, JVM start and compile included.
MAVEN_TIMEOUT_S = 600
# The suite's test cases (parameterized ones counted once per parameter):
# a run that counts fewer ran less than it should.
JAVA_TESTS_MIN = 15
REPORT_CHARS_MAX = 6000


def run_java_tests(bootstrap, build_dir):
    """Runs tests/java against bootstrap; fails with surefire's report."""
    assert os.path.isdir(M2), f"no Maven cache in {M2}: run scripts/install-java-tests.sh"
    cmd = ["mvn", "-o", "-B", "-q", "-Dstyle.color=never", f"-Dmaven.repo.local={M2}",
           "-f", POM, f"-Dsluice.build.directory={build_dir}", f"-Dsluice.bootstrap={bootstrap}"]
    if os.environ.get("SLUICE_KAFKA_VERSION"):
        cmd.append(f"-Dkafka.version={os.environ['SLUICE_KAFKA_VERSION']}")
    p = subprocess.run(cmd + ["test"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=MAVEN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    reports = os.path.join(build_dir, "surefire-reports")
    cases = surefire_cases(reports)
    for name, seconds, _ in cases:
        print(f"{seconds:7.2f} s  {name}")
    failed = [(name, text) for name, _, text in cases if text]
    if p.returncode != 0 or failed:
        details = "\n".join(f"--- {name}\n{text}" for name, text in failed)
        pytest.fail(f"Java tests failed (mvn exit {p.returncode}):\n{details[:REPORT_CHARS_MAX]}\n"
                    f"--- mvn output:\n{p.stdout.decode(errors='replace')[-REPORT_CHARS_MAX:]}")
    assert len(cases) >= JAVA_TESTS_MIN, f"only {len(cases)} Java tests ran"


def surefire_cases(reports):
    """(class.method[params], seconds, failure text or '') from surefire's XML."""
    cases = []
    for path in sorted(glob.glob(os.path.join(reports, "TEST-*.xml"))):
        for case in ET.parse(path).getroot().iter("testcase"):
            text = "".join(f"{bad.get('message', '')}\n{bad.text or ''}"
                           for bad in list(case.findall("failure")) + list(case.findall("error")))
            cases.append((f"{case.get('classname')}.{case.get('name')}",
                          float(case.get("time", "0")), text))
    return cases


def test_java_client(broker, tmp_path):
    run_java_tests(broker.bootstrap, str(tmp_path / "java-build"))


def test_java_client_expectations_hold_on_kafka(tmp_path):
    """Each expectation is Kafka's: the suite passes against Apache Kafka too
    (taking the branches for the APIs Kafka serves and sluice not yet)."""
    with kafka_node(str(tmp_path / "kafka")) as bootstrap:
        run_java_tests(bootstrap, str(tmp_path / "java-build"))
