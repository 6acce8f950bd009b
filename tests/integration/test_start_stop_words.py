"""What the broker says when it starts and stops: systemd's readiness
protocol (READY=1 once every shard serves, STOPPING=1 on SIGTERM, on a path
or an abstract socket), a first start on an empty data directory that is not
reported as an unclean shutdown, and `sluice --version`."""
import os
import re
import socket
import subprocess

from conftest import SLUICE_BIN

NOTIFY_WAIT_S = 30


def notify_socket(path_or_abstract):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path_or_abstract)
    s.settimeout(NOTIFY_WAIT_S)
    return s


def receive_states(s):
    return set(s.recv(4096).decode().splitlines())


def check_notify(make_broker, monkeypatch, name, address):
    s = notify_socket(address)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", name)
        b = make_broker()
        states = receive_states(s)
        assert "READY=1" in states, states
        socket.create_connection(("127.0.0.1", b.port), timeout=5).close()
        assert b.stop() == 0
        assert "STOPPING=1" in receive_states(s)
    finally:
        s.close()


def test_notify_on_a_path(make_broker, monkeypatch, tmp_path):
    path = str(tmp_path / "notify.sock")
    check_notify(make_broker, monkeypatch, path, path)


def test_notify_on_an_abstract_socket(make_broker, monkeypatch):
    name = f"sluice-notify-{os.getpid()}"
    check_notify(make_broker, monkeypatch, "@" + name, "\0" + name)


def test_notify_socket_that_is_gone_only_warns(make_broker, monkeypatch, tmp_path):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    b = make_broker()
    socket.create_connection(("127.0.0.1", b.port), timeout=5).close()
    assert b.stop() == 0
    assert "cannot notify systemd (READY=1" in b.log_text()


UNCLEAN = "no clean-shutdown marker"
FRESH = "is new: a first start, nothing to recover"


def test_first_start_is_not_an_unclean_shutdown(make_broker):
    b = make_broker()
    assert FRESH in b.log_text() and UNCLEAN not in b.log_text()
    assert b.stop() == 0
    mark = len(b.log_text())
    b.start()
    again = b.log_text()[mark:]
    assert FRESH not in again and UNCLEAN not in again
    b.kill9()
    mark = len(b.log_text())
    b.start()
    after_crash = b.log_text()[mark:]
    assert UNCLEAN in after_crash and FRESH not in after_crash


def test_version():
    p = subprocess.run([SLUICE_BIN, "--version"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert re.fullmatch(r"sluice \d+\.\d+\.\d+\n", p.stdout), p.stdout
    assert "--version" in subprocess.run([SLUICE_BIN, "--help"], capture_output=True, text=True,
                                         timeout=10).stdout
