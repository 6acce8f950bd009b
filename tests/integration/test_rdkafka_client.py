"""A C program on librdkafka produces with delivery reports and consumes back."""
import os

from conftest import run


def test_rdkafka_c_client(broker):
    exe = os.path.join(os.environ.get("SLUICE_TEST_BIN_DIR", "build/tests"), "rdkafka_client")
    run([exe, broker.bootstrap, "c-client", "20000"], timeout=120)
