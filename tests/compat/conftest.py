"""Fixtures for the compatibility tests (other projects' clients and tools,
and Apache Kafka itself, against sluice): the integration tests' fixtures (a
built broker on free ports, stopped by PID) and their wire helpers
(kafka_wire, capture_proxy), shared rather than copied."""
import importlib.util
import os
import sys

INTEGRATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration")
sys.path.insert(0, INTEGRATION)

_spec = importlib.util.spec_from_file_location("sluice_integration_conftest",
                                               os.path.join(INTEGRATION, "conftest.py"))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
globals().update({k: v for k, v in vars(_integration).items() if not k.startswith("__")})
