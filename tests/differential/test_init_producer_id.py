"""Differential scenarios for InitProducerId: an idempotent producer (null
transactional id) at every version, the id and epoch a v3+ producer sends
again after UNKNOWN_PRODUCER_ID or a timeout (KIP-360), half of that pair,
and a transactional id (KD-10: no transaction coordinator yet)."""
import time

import pytest

from differ import Known, check
from peers import schema_versions

VERSIONS = schema_versions("InitProducerId")
COORDINATOR_LOAD_IN_PROGRESS = 14
READY_WAIT_S = 60


def wait_ready(c, v):
    """Kafka's first InitProducerId creates __transaction_state and answers
    COORDINATOR_LOAD_IN_PROGRESS until it is loaded: asked (unrecorded) until
    it answers otherwise, bounded."""
    deadline = time.time() + READY_WAIT_S
    while time.time() < deadline:
        r = c.call("InitProducerId", v, body(), record=False)
        if r["error_code"] != COORDINATOR_LOAD_IN_PROGRESS:
            return
        time.sleep(0.2)
    raise AssertionError(f"{c.side}: InitProducerId still loading after {READY_WAIT_S}s")


def body(transactional_id=None, producer_id=-1, producer_epoch=-1, timeout_ms=60000):
    return {"transactional_id": transactional_id, "transaction_timeout_ms": timeout_ms,
            "producer_id": producer_id, "producer_epoch": producer_epoch}


@pytest.mark.parametrize("v", VERSIONS)
def test_init_producer_id_idempotent(peers, v):
    peers.require("InitProducerId", v)

    def scenario(c):
        wait_ready(c, v)
        first = c.call("InitProducerId", v, body(), label="first")
        second = c.call("InitProducerId", v, body(), label="second")
        c.note("a new id each time", first["producer_id"] != second["producer_id"])
    check(peers.run(scenario))


@pytest.mark.parametrize("v", [v for v in VERSIONS if v >= 3])
def test_init_producer_id_bump(peers, v):
    """An idempotent producer that sends its id and epoch gets a fresh id with
    epoch 0, as Kafka's coordinator answers every null transactional id."""
    peers.require("InitProducerId", v)

    def scenario(c):
        wait_ready(c, v)
        first = c.call("InitProducerId", v, body(), label="first")
        again = c.call("InitProducerId", v, body(producer_id=first["producer_id"],
                                                 producer_epoch=first["producer_epoch"]),
                       label="with its id and epoch")
        c.note("a new id", again["producer_id"] != first["producer_id"])
        c.call("InitProducerId", v, body(producer_id=first["producer_id"], producer_epoch=7),
               label="another epoch")
    check(peers.run(scenario))


@pytest.mark.parametrize("pair", [(5, -1), (-1, 0)])
def test_init_producer_id_half_pair(peers, pair):
    """An id without an epoch, or an epoch without an id: INVALID_REQUEST."""
    v = max(peers.versions("InitProducerId"))
    def scenario(c):
        wait_ready(c, v)
        c.call("InitProducerId", v, body(producer_id=pair[0], producer_epoch=pair[1]))
    check(peers.run(scenario))


def test_init_producer_id_transactional(peers):
    v = max(peers.versions("InitProducerId"))
    def scenario(c):
        wait_ready(c, v)
        c.call("InitProducerId", v, body(transactional_id=peers.name("txn")))
    check(peers.run(scenario),
          Known("KD-10", "*:error_code"))
