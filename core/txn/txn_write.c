/* One transactional id's state changes (txn_internal.h): each is written to
 * __transaction_state before it becomes the id's state, and the producer
 * id/epoch check every request on an id makes. */
#include <assert.h>
#include <stdlib.h>

#include "core/shard/shard.h"
#include "core/slog.h"
#include "core/txn/txn_internal.h"
#include "core/txn/txn_store.h"
#include "proto/kafka_errors.h"

struct txn_write_op {
	struct txn_coordinator *tc;
	struct txn_meta *m;
	struct txn_transit next;
	txn_written_fn then;
	void *ctx;
};

/* The append's error as a client sees it, as Kafka maps it. */
static int16_t write_error_for_client(int16_t err)
{
	switch (err) {
	case KERR_NONE:
	case KERR_NOT_COORDINATOR:
		return err;
	case KERR_MESSAGE_TOO_LARGE:
	case KERR_INVALID_REQUEST:
		return KERR_UNKNOWN_SERVER_ERROR;
	default:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
}

void txn_ongoing_count(struct txn_coordinator *tc, enum txn_status s, int delta)
{
	if (txn_state_has_partitions(s))
		SHARD_COUNTER_ADD(tc->ongoing, delta);
}

static void txn_written(void *ctx, int16_t err)
{
	struct txn_write_op *op = ctx;
	struct txn_coordinator *tc = op->tc;
	struct txn_meta *m = op->m;
	assert(m->pending && tc->in_flight > 0);
	m->pending = false;
	tc->in_flight--;
	if (err == KERR_NONE) {
		txn_ongoing_count(tc, m->cur.state, -1);
		txn_ongoing_count(tc, op->next.state, 1);
		txn_state_apply(m, &op->next);
	} else {
		slog_error("txn", "transactional id %s: state %s not recorded (error %d)", SLOG_STR(m->id),
			   txn_state_name(op->next.state), err);
		txn_partitions_free(&op->next.partitions);
	}
	txn_written_fn then = op->then;
	void *then_ctx = op->ctx;
	free(op);
	/* m may be gone once this returns (an expiry removes it). */
	then(tc, m, then_ctx, write_error_for_client(err));
}

void txn_write(struct txn_coordinator *tc, struct txn_meta *m, struct txn_transit *t,
	       txn_written_fn then, void *ctx)
{
	assert(!m->pending);
	struct txn_write_op *op = malloc(sizeof(*op));
	if (!op) {
		txn_partitions_free(&t->partitions);
		then(tc, m, ctx, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	*op = (struct txn_write_op){ .tc = tc, .m = m, .next = *t, .then = then, .ctx = ctx };
	t->partitions = (struct txn_partitions){ 0 };
	op->next.last_update_ms = txn_now_ms();
	m->pending = true;
	tc->in_flight++;
	int16_t err = txn_store_append(tc, m, &op->next, txn_written, op);
	if (err != KERR_NONE)
		txn_written(op, err);
}

bool txn_write_tombstone(struct txn_coordinator *tc, struct txn_meta *m, txn_written_fn then,
			 void *ctx)
{
	assert(!m->pending);
	struct txn_write_op *op = malloc(sizeof(*op));
	if (!op)
		return false;
	*op = (struct txn_write_op){ .tc = tc, .m = m, .then = then, .ctx = ctx };
	if (!txn_transit_from(&op->next, m, false)) {
		free(op);
		return false;
	}
	op->next.state = TXN_STATUS_DEAD;
	m->pending = true;
	tc->in_flight++;
	int16_t err = txn_store_append(tc, m, NULL, txn_written, op);
	if (err != KERR_NONE)
		txn_written(op, err);
	return true;
}

int16_t txn_check_producer(const struct txn_meta *m, int64_t producer_id, int16_t epoch)
{
	if (m->cur.producer_id != producer_id)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (m->cur.epoch != epoch)
		return KERR_PRODUCER_FENCED;
	return KERR_NONE;
}
