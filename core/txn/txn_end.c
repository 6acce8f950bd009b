/* The end of a transaction on its coordinator: EndTxn, the abort the
 * coordinator itself decides (a newer producer with the same id, a
 * timeout), and the resumption after a restart. Each is PrepareCommit or
 * PrepareAbort written (and answered), then the markers
 * (txn_markers_write_start) to every partition of the transaction, then
 * CompleteCommit or CompleteAbort written. Between the prepare and the
 * completion the id is pending: its requests get CONCURRENT_TRANSACTIONS,
 * as while Kafka's markers are out. A marker that fails for a reason that
 * passes (an offline partition, a full disk) is retried after a pause; a
 * deleted partition needs none. */
#include <assert.h>
#include <stdlib.h>

#include "core/shard/shard.h"
#include "core/slog.h"
#include "core/txn/txn_internal.h"
#include "core/txn/txn_markers.h"
#include "proto/kafka_errors.h"

enum { TXN_MARKER_RETRY_MS = 500 };


struct txn_end_op {
	struct txn_coordinator *tc;
	struct txn_meta *m;
	struct txn_reply *reply;   /* answered once the prepare is written; NULL inside */
	bool commit;
	bool timed_out;
	struct txn_markers_write w;
	struct txn_marker_target *targets;
	struct io_timer retry_timer;
	uint32_t rounds;
};

static void end_markers_start(struct txn_end_op *op);
static void end_complete(struct txn_end_op *op);
static void end_after_prepare(struct txn_end_op *op);

/* The op holds m pending from the prepare to the completion. */
static void end_hold(struct txn_end_op *op)
{
	assert(!op->m->pending);
	op->m->pending = true;
	op->tc->in_flight++;
}

static void end_release(struct txn_end_op *op)
{
	assert(op->m->pending && op->tc->in_flight > 0);
	op->m->pending = false;
	op->tc->in_flight--;
}

static void end_free(struct txn_end_op *op)
{
	free(op->targets);
	free(op);
}

/* The coordinator stops: the id stays in its Prepare state, which the next
 * start resumes. */
static bool end_abandoned(struct txn_end_op *op)
{
	if (!op->tc->stopping)
		return false;
	end_release(op);
	end_free(op);
	return true;
}

static void end_on_retry(struct io_timer *t)
{
	struct txn_end_op *op = container_of(t, struct txn_end_op, retry_timer);
	if (end_abandoned(op))
		return;
	if (!op->targets) {
		end_release(op);
		end_after_prepare(op);
	} else if (op->w.count == 0) {
		end_complete(op);
	} else {
		end_markers_start(op);
	}
}

static void end_retry_later(struct txn_end_op *op)
{
	io_timer_arm(op->tc->shard->reactor, &op->retry_timer, TXN_MARKER_RETRY_MS * TXN_NS_PER_MS,
		     end_on_retry);
}

static void end_completed(struct txn_coordinator *tc, struct txn_meta *m, void *ctx, int16_t err)
{
	struct txn_end_op *op = ctx;
	if (err != KERR_NONE) {
		/* Markers are all written; only the completion is missing. */
		end_hold(op);
		op->w.count = 0;
		end_retry_later(op);
		return;
	}
	SHARD_COUNTER_ADD(*(op->commit ? &tc->committed : &tc->aborted), 1);
	if (op->timed_out)
		SHARD_COUNTER_ADD(tc->aborted_by_timeout, 1);
	slog_debug("txn", "transactional id %s: %s", SLOG_STR(m->id), txn_state_name(m->cur.state));
	end_free(op);
}

static void end_complete(struct txn_end_op *op)
{
	end_release(op);
	struct txn_transit t;
	txn_transit_from(&t, op->m, false);
	t.state = op->commit ? TXN_STATUS_COMPLETE_COMMIT : TXN_STATUS_COMPLETE_ABORT;
	txn_write(op->tc, op->m, &t, end_completed, op);
}

/* Whether a marker's failure passes with time (then it is written again). */
static bool marker_retriable(int16_t err)
{
	return err == KERR_NOT_LEADER_OR_FOLLOWER || err == KERR_KAFKA_STORAGE_ERROR ||
	       err == KERR_COORDINATOR_NOT_AVAILABLE || err == KERR_NOT_ENOUGH_REPLICAS ||
	       err == KERR_REQUEST_TIMED_OUT || err == KERR_UNKNOWN_SERVER_ERROR;
}

static void end_markers_done(struct txn_markers_write *w)
{
	struct txn_end_op *op = container_of(w, struct txn_end_op, w);
	uint32_t keep = 0;
	for (uint32_t i = 0; i < w->count; i++) {
		struct txn_marker_target *t = &w->targets[i];
		if (marker_retriable(t->error)) {
			w->targets[keep++] = *t;
		} else if (t->error != KERR_NONE && t->error != KERR_UNKNOWN_TOPIC_OR_PARTITION) {
			slog_warn("txn", "transactional id %s: %s marker for %.*s-%d refused (error %d)",
				  SLOG_STR(op->m->id), op->commit ? "COMMIT" : "ABORT", (int)t->topic.len,
				  t->topic.ptr, t->partition, t->error);
		}
	}
	if (end_abandoned(op))
		return;
	if (keep == 0) {
		end_complete(op);
		return;
	}
	if (op->rounds++ % 20 == 0)
		slog_warn("txn", "transactional id %s: %u marker(s) not written yet (error %d); "
			  "retrying every %d ms", SLOG_STR(op->m->id), keep, w->targets[0].error, TXN_MARKER_RETRY_MS);
	w->count = keep;
	end_retry_later(op);
}

static void end_markers_start(struct txn_end_op *op)
{
	op->w.done = end_markers_done;
	txn_markers_write_start(op->tc->rt, op->tc->shard, &op->w);
}

/* From m's current (Prepare) state: the markers' targets and their start.
 * The targets' topics point into m's partitions, which do not change while
 * m is pending. */
static void end_after_prepare(struct txn_end_op *op)
{
	struct txn_meta *m = op->m;
	const struct txn_partitions *ps = &m->cur.partitions;
	op->targets = calloc(ps->count + 1, sizeof(*op->targets));
	end_hold(op);
	op->w = (struct txn_markers_write){
		.producer_id = m->cur.producer_id,
		.producer_epoch = m->cur.epoch,
		.coordinator_epoch = TXN_COORDINATOR_EPOCH,
		.commit = op->commit,
		.targets = op->targets,
		.count = ps->count,
	};
	if (!op->targets) {
		slog_warn("txn", "transactional id %s: out of memory for its markers; retrying",
			  SLOG_STR(m->id));
		end_retry_later(op);
		return;
	}
	for (uint32_t i = 0; i < ps->count; i++)
		op->targets[i] = (struct txn_marker_target){ ps->items[i].topic,
							     ps->items[i].partition, KERR_NONE };
	if (ps->count == 0)
		end_complete(op);
	else
		end_markers_start(op);
}

static void end_prepared(struct txn_coordinator *tc, struct txn_meta *m, void *ctx, int16_t err)
{
	(void)tc;
	struct txn_end_op *op = ctx;
	struct txn_reply *r = op->reply;
	if (r) {
		r->error = err;
		r->producer_id = m->cur.producer_id;
		r->producer_epoch = m->cur.epoch;
		r->done(r);
		op->reply = NULL;
	}
	if (err != KERR_NONE) {
		end_free(op);
		return;
	}
	end_after_prepare(op);
}

static struct txn_end_op *end_op_new(struct txn_coordinator *tc, struct txn_meta *m, bool commit)
{
	struct txn_end_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->tc = tc;
	op->m = m;
	op->commit = commit;
	io_timer_init(&op->retry_timer);
	return op;
}

/* Writes the Prepare state with `epoch`; r (may be NULL) is answered then. */
static int16_t end_prepare(struct txn_coordinator *tc, struct txn_meta *m, bool commit,
			   int16_t epoch, int64_t producer_id, struct txn_reply *r, bool timed_out)
{
	struct txn_end_op *op = end_op_new(tc, m, commit);
	struct txn_transit t;
	if (!op || !txn_transit_from(&t, m, true)) {
		free(op);
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	op->reply = r;
	op->timed_out = timed_out;
	if (m->cur.state != TXN_STATUS_ONGOING)
		t.start_ms = txn_now_ms(); /* an abort with nothing open (KIP-890 part 2) */
	t.state = commit ? TXN_STATUS_PREPARE_COMMIT : TXN_STATUS_PREPARE_ABORT;
	if (producer_id != m->cur.producer_id) {
		t.last_producer_id = m->cur.producer_id;
		t.next_producer_id = producer_id;
	}
	t.producer_id = producer_id;
	/* A client's own bump (KIP-890 part 2) may be retried with the epoch
	 * before it; a fencing bump must not let the fenced producer in. */
	if (r && epoch != m->cur.epoch)
		t.last_epoch = m->cur.epoch;
	t.epoch = epoch;
	txn_write(tc, m, &t, end_prepared, op);
	return KERR_NONE;
}

int16_t txn_abort_fenced(struct txn_coordinator *tc, struct txn_meta *m, bool timed_out)
{
	assert(m->cur.state == TXN_STATUS_ONGOING && !m->pending);
	int16_t epoch = m->cur.epoch < TXN_EPOCH_EXHAUSTED ? (int16_t)(m->cur.epoch + 1) : m->cur.epoch;
	if (epoch != m->cur.epoch)
		SHARD_COUNTER_ADD(tc->fenced, 1);
	slog_info("txn", "transactional id %s: aborting its transaction (%s), producer %lld "
		  "fenced at epoch %d", SLOG_STR(m->id), timed_out ? "timed out" : "a newer producer",
		  (long long)m->cur.producer_id, epoch);
	return end_prepare(tc, m, false, epoch, m->cur.producer_id, NULL, timed_out);
}

void txn_resume(struct txn_coordinator *tc, struct txn_meta *m)
{
	struct txn_end_op *op = end_op_new(tc, m, m->cur.state == TXN_STATUS_PREPARE_COMMIT);
	if (!op) {
		slog_error("txn", "transactional id %s: out of memory resuming its markers", SLOG_STR(m->id));
		return;
	}
	slog_info("txn", "transactional id %s: resuming its %s markers", SLOG_STR(m->id),
		  op->commit ? "COMMIT" : "ABORT");
	end_after_prepare(op);
}

static void abort_if_timed_out(struct txn_meta *m, void *ctx)
{
	struct txn_coordinator *tc = ctx;
	int64_t age;
	if (m->pending || m->cur.state != TXN_STATUS_ONGOING ||
	    __builtin_sub_overflow(txn_now_ms(), m->cur.start_ms, &age) || age <= m->cur.timeout_ms)
		return;
	if (txn_abort_fenced(tc, m, true) != KERR_NONE)
		slog_warn("txn", "transactional id %s: timed out, abort not started (out of memory)",
			  SLOG_STR(m->id));
}

void txn_abort_timed_out(struct txn_coordinator *tc)
{
	txn_table_for_each(&tc->ids, abort_if_timed_out, tc);
}

/* EndTxn v5+ (KIP-890 part 2): the request may be the retry of an end that
 * already bumped the epoch. */
static bool end_is_retry(const struct txn_meta *m, const struct txn_end_args *a)
{
	bool complete = m->cur.state == TXN_STATUS_COMPLETE_COMMIT ||
			m->cur.state == TXN_STATUS_COMPLETE_ABORT || txn_state_preparing(m->cur.state);
	return a->bump_epoch && complete && a->producer_epoch == m->cur.last_epoch &&
	       (a->producer_id == m->cur.producer_id || a->producer_id == m->cur.last_producer_id);
}

static bool end_idle(enum txn_status s)
{
	return s == TXN_STATUS_EMPTY || s == TXN_STATUS_COMPLETE_COMMIT ||
	       s == TXN_STATUS_COMPLETE_ABORT;
}

static int16_t end_check(const struct txn_meta *m, const struct txn_end_args *a, bool *retry)
{
	*retry = false;
	if (!m)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (end_is_retry(m, a))
		*retry = true;
	else if (m->cur.producer_id != a->producer_id)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	else if (m->cur.epoch != a->producer_epoch)
		return KERR_PRODUCER_FENCED;
	if (m->pending)
		return KERR_CONCURRENT_TRANSACTIONS;
	if (a->bump_epoch && !*retry && !a->commit && end_idle(m->cur.state))
		return KERR_NONE; /* KIP-890 part 2: an abort with no transaction open */
	if (a->bump_epoch && !*retry && end_idle(m->cur.state))
		return KERR_INVALID_TXN_STATE;
	switch (m->cur.state) {
	case TXN_STATUS_ONGOING:
		return *retry ? KERR_PRODUCER_FENCED : KERR_NONE;
	case TXN_STATUS_COMPLETE_COMMIT:
	case TXN_STATUS_PREPARE_COMMIT:
		if (!a->commit)
			return KERR_INVALID_TXN_STATE;
		return m->cur.state == TXN_STATUS_PREPARE_COMMIT ? KERR_CONCURRENT_TRANSACTIONS : KERR_NONE;
	case TXN_STATUS_COMPLETE_ABORT:
	case TXN_STATUS_PREPARE_ABORT:
		if (a->commit)
			return KERR_INVALID_TXN_STATE;
		return m->cur.state == TXN_STATUS_PREPARE_ABORT ? KERR_CONCURRENT_TRANSACTIONS : KERR_NONE;
	case TXN_STATUS_EMPTY:
		return KERR_INVALID_TXN_STATE;
	default:
		return KERR_CONCURRENT_TRANSACTIONS;
	}
}

void txn_end(struct txn_coordinator *tc, const struct txn_end_args *a, struct txn_reply *r)
{
	struct txn_meta *m = txn_table_find(&tc->ids, a->transactional_id);
	bool retry;
	int16_t err = end_check(m, a, &retry);
	r->producer_id = m && err == KERR_NONE ? m->cur.producer_id : TXN_NO_PRODUCER_ID;
	r->producer_epoch = m && err == KERR_NONE ? m->cur.epoch : TXN_NO_PRODUCER_EPOCH;
	bool open = m && (m->cur.state == TXN_STATUS_ONGOING || (a->bump_epoch && !retry));
	if (err != KERR_NONE || !open) {
		/* A retried end that already completed is answered NONE. */
		r->error = err;
		r->done(r);
		return;
	}
	int64_t producer_id = m->cur.producer_id;
	int16_t epoch = m->cur.epoch;
	if (a->bump_epoch) {
		if (epoch >= TXN_EPOCH_EXHAUSTED) {
			producer_id = a->fresh_producer_id;
			epoch = 0;
		} else {
			epoch = (int16_t)(epoch + 1);
		}
	}
	err = end_prepare(tc, m, a->commit, epoch, producer_id, r, false);
	if (err != KERR_NONE) {
		r->error = err;
		r->done(r);
	}
}
