"""Exhaustion: many clients and a process out of file descriptors must never
stop the broker from serving everyone else. Every attack here is bounded in
time; while it runs, a new client's Metadata round trip must complete within
a few seconds."""
import os
import re
import socket
import struct
import time

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

import conftest
from kafka_wire import Conn

ROUND_TRIP_S = 5            # generous: the machine is shared and noisy
CLK_TCK = os.sysconf("SC_CLK_TCK")


def metadata_v1_frame(correlation_id):
    """Metadata v1 for every topic (null array), framed."""
    body = struct.pack(">hhi", 3, 1, correlation_id) + struct.pack(">h", 2) + b"it"
    body += struct.pack(">i", -1)
    return struct.pack(">i", len(body)) + body


def metadata_round_trip(broker, timeout_s=ROUND_TRIP_S):
    """Connects, sends Metadata v1 and reads the whole response, all within
    timeout_s; raises on a timeout or a close."""
    c = Conn(broker.bootstrap, timeout=timeout_s)
    try:
        c.send_raw(metadata_v1_frame(7))
        response = c.response()
        assert struct.unpack(">i", response[:4])[0] == 7
    finally:
        c.close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def log_lines(broker):
    return len(broker.log_text().splitlines())


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect_many(bootstrap, n):
    host, port = bootstrap.split(":")
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.connect((host, int(port)))
        socks.append(s)
    return socks


def close_all(socks):
    for s in socks:
        s.close()


def test_many_idle_connections_and_refusals(make_broker):
    b = make_broker({"max.connections": 1200})
    held = connect_many(b.bootstrap, 1000)
    extra = []
    try:
        for s in held[::50]:
            s.sendall(metadata_v1_frame(5))
        for s in held[::50]:
            assert len(s.recv(4)) == 4
        metadata_round_trip(b)
        lines_before = log_lines(b)
        # Beyond max.connections every connection is refused; that is
        # summarised, not logged once per connection.
        extra = connect_many(b.bootstrap, 400)
        time.sleep(1)
        assert log_lines(b) - lines_before <= 5, b.log_tail()
    finally:
        close_all(extra)
        close_all(held)
    metadata_round_trip(b)


def fd_limited_bin(tmp_path, limit):
    """A wrapper that starts the broker with soft = hard RLIMIT_NOFILE = limit."""
    wrapper = tmp_path / "sluice-fd-limited"
    wrapper.write_text(f'#!/bin/sh\nulimit -n {limit} || exit 1\nexec "{os.path.abspath(conftest.SLUICE_BIN)}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def open_until_refused(bootstrap, cap):
    """Opens connections, each proven served by an answered Metadata, until
    the broker stops serving them (or cap); returns the served ones and
    the refused ones."""
    served, refused = [], []
    for i in range(cap):
        s = connect_many(bootstrap, 1)[0]
        s.settimeout(1)
        try:
            s.sendall(metadata_v1_frame(i))
            if len(s.recv(4)) == 4:
                served.append(s)
                continue
        except OSError:
            pass
        refused.append(s)
        if len(refused) >= 20:
            break
    return served, refused


def create_topic(broker, name, partitions):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


FD_LIMIT = 64


def test_out_of_descriptors_backs_off_and_keeps_a_reserve(make_broker, tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "SLUICE_BIN", fd_limited_bin(tmp_path, FD_LIMIT))
    b = make_broker({"num.partitions": 1})
    pid = b.proc.pid
    served, refused = open_until_refused(b.bootstrap, FD_LIMIT * 2)
    # Connections stop short of the limit; the metrics endpoint's clients
    # then take the last descriptors, and every accept fails.
    scrapers = connect_many(f"127.0.0.1:{b.metrics_port}", 20)
    try:
        assert refused, "the descriptor limit was never reached"
        time.sleep(0.2)
        lines_before = log_lines(b)
        cpu_before = cpu_seconds(pid)
        more = connect_many(b.bootstrap, 20) + connect_many(f"127.0.0.1:{b.metrics_port}", 5)
        time.sleep(3)
        close_all(more)
        assert cpu_seconds(pid) - cpu_before < 1.5, "the broker spins"
        assert log_lines(b) - lines_before <= 6, b.log_tail()
        assert open_fds(pid) <= FD_LIMIT
    finally:
        close_all(scrapers)
        close_all(served)
        close_all(refused)
    time.sleep(0.5)
    metadata_round_trip(b)
    create_topic(b, "after-exhaustion", 4)
    p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap})
    p.produce("after-exhaustion", b"v")
    assert p.flush(30) == 0
    text = b.log_text()
    assert re.search(rf"RLIMIT_NOFILE: {FD_LIMIT} ", text), "the limit is not logged"
    assert re.search(r"refused \d+ connection", text), b.log_tail()
