/* What the coordinator's files share (txn_write.c: state writes; txn_coordinator.c: life, routing,
 * verification, InitProducerId, AddPartitionsToTxn; txn_end.c: EndTxn, the
 * markers, timeouts), not for other layers. */
#ifndef SLUICE_CORE_TXN_TXN_INTERNAL_H
#define SLUICE_CORE_TXN_TXN_INTERNAL_H

#include "core/txn/txn_coordinator.h"

static const uint64_t TXN_NS_PER_MS = 1000000;

/* Runs after a state write: err NONE once the transit is the id's state. */
typedef void (*txn_written_fn)(struct txn_coordinator *tc, struct txn_meta *m, void *ctx,
			       int16_t err);

/* Writes transit t (taken) as m's next state; m is pending until `then`
 * runs (maybe before this returns, with the error of a refused append).
 * The error given to `then` is one a client may see. */
void txn_write(struct txn_coordinator *tc, struct txn_meta *m, struct txn_transit *t,
	       txn_written_fn then, void *ctx);

/* Counts an id in state s among the ongoing transactions (delta +1) or
 * no longer (-1), for the metrics. */
void txn_ongoing_count(struct txn_coordinator *tc, enum txn_status s, int delta);

/* Writes m's tombstone (Kafka writes the Dead state as one): `then` runs
 * once it is written, and on success m is in the Dead state. Returns false,
 * writing nothing, when out of memory. */
bool txn_write_tombstone(struct txn_coordinator *tc, struct txn_meta *m, txn_written_fn then,
			 void *ctx);

/* Ends m's transaction from the coordinator (a newer producer's
 * InitProducerId, a timeout): the epoch is bumped so that the producer is
 * fenced, PrepareAbort written, markers, CompleteAbort. Returns NONE once
 * started, or an error. */
int16_t txn_abort_fenced(struct txn_coordinator *tc, struct txn_meta *m, bool timed_out);
/* After replay: an id found in PrepareCommit/PrepareAbort writes its
 * markers and completes. */
void txn_resume(struct txn_coordinator *tc, struct txn_meta *m);
/* The abort timer's round: every Ongoing transaction past its timeout. */
void txn_abort_timed_out(struct txn_coordinator *tc);

/* A producer id/epoch pair's version-independent error for a request on m
 * (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED), or NONE. */
int16_t txn_check_producer(const struct txn_meta *m, int64_t producer_id, int16_t epoch);

#endif
