"""The harness's own promise: free_port never hands out a port twice in one
process, so two brokers (or one broker's listener and metrics port) chosen
before either binds cannot collide (CI once saw listener and metrics port
both 127.0.0.1:21814)."""

import conftest


def test_free_port_never_repeats_before_the_ports_are_bound():
    # 3,000 draws from 12,000 ports repeat one with near certainty unless the
    # harness remembers what it handed out.
    ports = [conftest.free_port() for _ in range(3000)]
    assert len(set(ports)) == len(ports)
