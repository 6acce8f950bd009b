"""Fixtures of the differential tests: one Kafka peer and one sluice broker
per session (one test file under ctest), both with Kafka's default settings
for what the scenarios touch but peers.SHARED_SETTINGS (the suite's own peer,
from scripts/test.sh, is started with the same), and the Peers object that
plays scenarios."""
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers as peers_mod  # noqa: E402

SKIP_RC = 77


@pytest.fixture(scope="session")
def kafka_bootstrap():
    env = os.environ.get("SLUICE_KAFKA_BOOTSTRAP")
    if env:
        yield env
        return
    if not os.path.exists(peers_mod.PEER_SCRIPT):
        pytest.exit("no Kafka peer: SLUICE_KAFKA_BOOTSTRAP unset and scripts/kafka-peer.sh "
                    "missing", returncode=SKIP_RC)
    peer = peers_mod.KafkaPeer()
    try:
        peer.start()
        yield peer.bootstrap
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def sluice_broker():
    top = tempfile.mkdtemp(prefix="sluice-diff-")
    b = peers_mod.integration.Broker(os.path.join(top, "data"), dict(peers_mod.SHARED_SETTINGS)).start()
    yield b
    rc = b.stop()
    text = b.log_text()
    shutil.rmtree(top, ignore_errors=True)
    assert rc == 0, f"sluice exited with {rc} at shutdown:\n{text[-4000:]}"
    for marker in ("AddressSanitizer", "runtime error:"):
        assert marker not in text, f"sanitizer report:\n{text[-8000:]}"


@pytest.fixture(scope="session")
def peers(kafka_bootstrap, sluice_broker):
    return peers_mod.Peers(kafka_bootstrap, sluice_broker.bootstrap)

