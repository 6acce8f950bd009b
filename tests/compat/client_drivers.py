"""Where scripts/install-clients.sh put the newer clients (the PyPI
virtualenv, the Go drivers built from tests/clients/go, kafkajs), and one way
to run a driver: bounded, its last stdout line its JSON result, a failure
reported with the driver's error and stderr."""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENTS_DIR = os.environ.get("SLUICE_CLIENTS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sluice", "clients")
VENV_PYTHON = os.path.join(CLIENTS_DIR, "python", "venv", "bin", "python")
NODE_MODULES = os.path.join(CLIENTS_DIR, "node", "app", "node_modules")
GO_BIN = os.path.join(CLIENTS_DIR, "go", "bin")
DRIVER_TIMEOUT_S = 120


def source(*parts):
    """A driver's file in the repository (tests/clients/...)."""
    return os.path.join(ROOT, "tests", "clients", *parts)


def drive(cmd, env=None):
    """Runs a driver; returns its JSON result. A missing client fails the test."""
    if cmd[0] == "node":
        if not os.path.isdir(NODE_MODULES):
            pytest.fail(f"kafkajs is not installed in {CLIENTS_DIR}: run scripts/install-clients.sh")
        env = dict(env or {}, NODE_PATH=NODE_MODULES)
    elif not os.path.exists(cmd[0]):
        pytest.fail(f"{cmd[0]} is missing: run scripts/install-clients.sh")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=DRIVER_TIMEOUT_S,
                       env=dict(os.environ, **(env or {})))
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    if p.returncode != 0 or "error" in result:
        raise AssertionError(f"{os.path.basename(cmd[1] if len(cmd) > 1 else cmd[0])} failed "
                             f"({p.returncode}): {result.get('error')}\n"
                             f"{p.stderr.decode(errors='replace')[-3000:]}")
    return result
