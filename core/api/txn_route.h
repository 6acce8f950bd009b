/* A transaction API's request travels from the control shard (which creates
 * __transaction_state on first use and owns the producer id blocks) to the
 * shard coordinating its transactional id, keeping its arena and state
 * (request_relay); and the error codes that older versions name otherwise. */
#ifndef SLUICE_CORE_API_TXN_ROUTE_H
#define SLUICE_CORE_API_TXN_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/cursor.h"

struct request;
struct txn_coordinator;

/* Runs fn(req) on the shard coordinating `id` (at once when that is here).
 * Returns false, with *err, when there is no coordinator. */
bool txn_route_relay(struct request *req, struct kstr id, void (*fn)(struct request *req),
		     int16_t *err);
/* The coordinator of the shard the request is on (our bug when none). */
struct txn_coordinator *txn_route_here(const struct request *req);

/* KIP-588: PRODUCER_FENCED from `fenced_from` on; INVALID_PRODUCER_EPOCH
 * before it. */
int16_t txn_route_error_for_version(int16_t err, int16_t version, int16_t fenced_from);

#endif
