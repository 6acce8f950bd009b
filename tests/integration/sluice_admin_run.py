"""Runs the built sluice-admin (SLUICE_ADMIN_BIN, else next to SLUICE_BIN at
build/admin/sluice-admin), bounded, and makes the data its tests read: a
topic produced to and a group that committed part of it (confluent-kafka)."""
import json
import os
import subprocess
import sys

from confluent_kafka import Consumer, Producer, TopicPartition

SLUICE_BIN = os.environ.get("SLUICE_BIN", "build/sluice")
ADMIN_BIN = os.environ.get("SLUICE_ADMIN_BIN",
                           os.path.join(os.path.dirname(SLUICE_BIN), "admin", "sluice-admin"))
# One run: a few requests; the tool's own --timeout-ms (below) fires first.
RUN_TIMEOUT_S = 60
TOOL_TIMEOUT_MS = 20000
CLIENT_TIMEOUT_S = 30


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout.decode(errors="replace")
        self.err = proc.stderr.decode(errors="replace")

    def json(self):
        return json.loads(self.out)


def admin(bootstrap, *args, expect=0, timeout_ms=TOOL_TIMEOUT_MS):
    """sluice-admin ARGS against bootstrap; asserts its exit code is expect."""
    cmd = [ADMIN_BIN, *args]
    if bootstrap:
        cmd += ["--bootstrap-server", bootstrap, "--timeout-ms", str(timeout_ms)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT_S)
    result = Result(proc)
    assert result.rc == expect, (f"{' '.join(args)}: exit {result.rc}, wanted {expect}\n"
                                 f"stdout: {result.out[-2000:]}\nstderr: {result.err[-2000:]}")
    return result


def produce(bootstrap, topic, partitions, per_partition):
    """per_partition records to each of the topic's partitions."""
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, value=b"v%d" % i, partition=part)
    assert p.flush(CLIENT_TIMEOUT_S) == 0


def commit(bootstrap, group, topic, offsets):
    """Commits {partition: offset} for group, as a consumer that then leaves."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                 asynchronous=False)
    finally:
        c.close()


def watermarks(bootstrap, topic, partition):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "sluice-admin-watermarks"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition),
                                       timeout=CLIENT_TIMEOUT_S)
    finally:
        c.close()


MEMBER_SCRIPT = r"""
import sys
from confluent_kafka import Consumer
bootstrap, group, topic = sys.argv[1:4]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
              "enable.auto.commit": False, "auto.offset.reset": "earliest"})
c.subscribe([topic])
for _ in range(600):
    c.poll(0.1)
    if c.assignment():
        break
print("assigned", len(c.assignment()), flush=True)
sys.stdin.read()
c.close()
"""


class Member:
    """A live group member in a process of its own (Debian's python3): it
    subscribes, waits for its assignment, and leaves when told."""

    def __init__(self, bootstrap, group, topic):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", MEMBER_SCRIPT, bootstrap, group,
                                      topic], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.line = self.proc.stdout.readline().decode()

    def leave(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(CLIENT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
