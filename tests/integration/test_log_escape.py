"""Log injection: group, member and client ids chosen by a peer reach the
broker's log escaped, so a peer can neither forge a log line nor send terminal
escape sequences through it: the log keeps one line per record, every line
starts with the logger's own prefix, and the escapes are visible."""
import re

import kafka_wire as kw
from group_wire import leave_group_v3
from test_groups_protocol import FAST, create_topic, stable_member

FORGED = "2026-01-01T00:00:00.000Z ERROR broker: disk on fire"
EVIL_GROUP = "g\n" + FORGED + "\x1b[2J"
EVIL_CLIENT = "c\r\n" + FORGED + "\x1b]0;owned\x07\u009b"
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) [a-z_]+: ")


class EvilClientConn(kw.Conn):
    """Sends every request with a client id made to forge log lines."""

    def request(self, key, version, body, flexible=False, client_id=EVIL_CLIENT):
        return super().request(key, version, body, flexible=flexible, client_id=client_id)


def test_peer_strings_cannot_forge_log_lines(make_broker):
    b = make_broker(FAST)
    create_topic(b.bootstrap, "t", 1)
    c = EvilClientConn(b.bootstrap)
    j = stable_member(c, EVIL_GROUP)
    leave_group_v3(c, EVIL_GROUP, [(j["member_id"], None)])
    c.close()
    b.stop()
    raw = open(b.log_path, "rb").read()
    assert b"\x1b" not in raw and b"\x07" not in raw and b"\r" not in raw
    assert "\u009b".encode() not in raw
    text = raw.decode()
    lines = text.splitlines()
    # The configuration banner is printed before logging starts (operator
    # data); every other line is the logger's.
    for line in lines:
        assert LINE.match(line) or line.startswith("sluice config: "), \
            f"a line the logger did not start: {line!r}"
    escaped_group = "g\\n" + FORGED + "\\x1b[2J"
    escaped_client = "c\\r\\n" + FORGED + "\\x1b]0;owned\\x07\\xc2\\x9b"
    joins = [l for l in lines if "joins group" in l]
    assert joins, "the join was not logged"
    assert all(escaped_group in l and escaped_client in l for l in joins), joins
    assert any("left group " + escaped_group in l for l in lines)
    assert not any(l.startswith(FORGED) for l in lines)
