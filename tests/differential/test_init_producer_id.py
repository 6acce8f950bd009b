"""Differential scenarios for InitProducerId: an idempotent producer (null
transactional id) at every version, the id and epoch a v3+ producer sends
again after UNKNOWN_PRODUCER_ID or a timeout (KIP-360), half of that pair,
and a transactional id (its coordinator's new id, then the bumped epoch)."""
import time

import pytest

from differ import check
from peers import schema_versions

VERSIONS = schema_versions("InitProducerId")
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
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


def wait_transactional(c, v, txn):
    """Kafka creates __transaction_state when a client first looks for a
    transaction coordinator (FindCoordinator key type 1, as every client asks
    before InitProducerId), and answers NOT_COORDINATOR or
    COORDINATOR_LOAD_IN_PROGRESS while its partition loads: asked
    (unrecorded) until it answers otherwise, bounded."""
    deadline = time.time() + READY_WAIT_S
    while time.time() < deadline:
        c.call("FindCoordinator", 3, {"key": txn, "key_type": 1}, record=False)
        r = c.call("InitProducerId", v, body(transactional_id=txn), record=False)
        if r["error_code"] not in (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR,
                                   COORDINATOR_NOT_AVAILABLE):
            return
        time.sleep(0.2)
    raise AssertionError(f"{c.side}: transactional InitProducerId not ready after {READY_WAIT_S}s")


@pytest.mark.parametrize("v", VERSIONS)
def test_init_producer_id_transactional(peers, v):
    """A transactional id: an id, the next epoch each time, and the bound on
    transaction.timeout.ms (INVALID_TRANSACTION_TIMEOUT)."""
    peers.require("InitProducerId", v)
    txn = peers.name(f"txn-v{v}")

    def scenario(c):
        wait_ready(c, v)
        wait_transactional(c, v, txn)
        first = c.call("InitProducerId", v, body(transactional_id=txn), label="again")
        second = c.call("InitProducerId", v, body(transactional_id=txn), label="bumped")
        c.note("the same id", first["producer_id"] == second["producer_id"])
        c.note("the next epoch", second["producer_epoch"] == first["producer_epoch"] + 1)
        c.call("InitProducerId", v, body(transactional_id=txn, timeout_ms=900001),
               label="timeout above transaction.max.timeout.ms")
        c.call("InitProducerId", v, body(transactional_id=""), label="empty id")
    check(peers.run(scenario))
