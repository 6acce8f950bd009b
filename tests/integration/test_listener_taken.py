"""A second broker on an address a broker already listens on fails its start
with one line naming the address, as Kafka does ("Address already in use"),
and the first broker keeps every connection: SO_REUSEPORT, which the network
shards share the address with, must not let another process in."""
import subprocess
import time

from conftest import SLUICE_BIN, free_port
from kafka_wire import Conn, api_versions

START_BOUND_S = 30


def test_second_broker_on_the_same_port_refused(broker, tmp_path):
    cmd = [SLUICE_BIN, "--set", f"listeners=PLAINTEXT://127.0.0.1:{broker.port}",
           "--set", f"log.dirs={tmp_path / 'second'}",
           "--set", f"sluice.metrics.port={free_port()}"]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, timeout=START_BOUND_S)
    assert proc.returncode != 0, "a second broker started on a port already served"
    err = proc.stderr.decode(errors="replace")
    assert f"cannot listen on 127.0.0.1:{broker.port}" in err, err
    assert "another process listens there" in err, err
    assert time.monotonic() - started < START_BOUND_S
    # Every connection still reaches the first broker.
    for _ in range(20):
        c = Conn(broker.bootstrap)
        assert api_versions(c)[0] == 0
        c.close()
