/* The coordinator's life on its shard (see txn_coordinator.h): start and
 * replay, routing, the partition leaders' verification,
 * InitProducerId, AddPartitionsToTxn, and the expiry of idle ids. */
#include "core/txn/txn_coordinator.h"

#include <assert.h>
#include <stdlib.h>

#include "core/meta/topics.h"
#include "core/shard/shard.h"
#include "core/slog.h"
#include "core/txn/txn_internal.h"
#include "core/txn/txn_store.h"
#include "proto/kafka_errors.h"

/* ---- start, stop ------------------------------------------------------ */

static void txn_on_abort_timer(struct io_timer *t)
{
	struct txn_coordinator *tc = container_of(t, struct txn_coordinator, abort_timer);
	if (tc->stopping)
		return;
	txn_abort_timed_out(tc);
	io_timer_arm(tc->shard->reactor, &tc->abort_timer,
		     tc->rt->cfg.transaction_abort_timed_out_transaction_cleanup_interval_ms * TXN_NS_PER_MS,
		     txn_on_abort_timer);
}

static void expired_written(struct txn_coordinator *tc, struct txn_meta *m, void *ctx, int16_t err)
{
	(void)ctx;
	if (err != KERR_NONE)
		return;
	SHARD_COUNTER_ADD(tc->ids_expired, 1);
	slog_info("txn", "transactional id %s expired", SLOG_STR(m->id));
	txn_table_remove(&tc->ids, m);
}

/* An id idle past transactional.id.expiration.ms, with no transaction open,
 * is forgotten: its tombstone first (Kafka writes the Dead state as one). */
static void expire_one(struct txn_meta *m, void *ctx)
{
	struct txn_coordinator *tc = ctx;
	enum txn_status s = m->cur.state;
	bool idle = s == TXN_STATUS_EMPTY || s == TXN_STATUS_COMPLETE_COMMIT ||
		    s == TXN_STATUS_COMPLETE_ABORT;
	int64_t age;
	if (m->pending || !idle || __builtin_sub_overflow(txn_now_ms(), m->cur.last_update_ms, &age) ||
	    age < tc->rt->cfg.transactional_id_expiration_ms)
		return;
	txn_write_tombstone(tc, m, expired_written, NULL);
}

static void txn_on_expire_timer(struct io_timer *t)
{
	struct txn_coordinator *tc = container_of(t, struct txn_coordinator, expire_timer);
	if (tc->stopping)
		return;
	txn_table_for_each(&tc->ids, expire_one, tc);
	io_timer_arm(tc->shard->reactor, &tc->expire_timer,
		     tc->rt->cfg.transaction_remove_expired_transaction_cleanup_interval_ms * TXN_NS_PER_MS,
		     txn_on_expire_timer);
}

static void resume_loaded(struct txn_meta *m, void *ctx)
{
	struct txn_coordinator *tc = ctx;
	txn_ongoing_count(tc, m->cur.state, 1);
	if (txn_state_preparing(m->cur.state))
		txn_resume(tc, m);
}

int txn_coordinator_start(struct runtime *rt, struct shard *s)
{
	struct txn_coordinator *tc = calloc(1, sizeof(*tc));
	if (!tc || txn_table_init(&tc->ids) != 0) {
		free(tc);
		slog_error("txn", "out of memory creating the transaction coordinator");
		return -1;
	}
	tc->rt = rt;
	tc->shard = s;
	io_timer_init(&tc->abort_timer);
	io_timer_init(&tc->expire_timer);
	s->slots[SHARD_SLOT_TXN] = tc;
	if (txn_store_load(tc) != 0)
		return -1;
	return 0;
}

/* Once the shards run: markers of loaded transactions resume, timers start. */
static void txn_coordinator_serve(struct shard *s)
{
	struct txn_coordinator *tc = txn_coordinator_of(s);
	if (!tc)
		return;
	txn_table_for_each(&tc->ids, resume_loaded, tc);
	struct broker_config *cfg = &tc->rt->cfg;
	io_timer_arm(s->reactor, &tc->abort_timer,
		     cfg->transaction_abort_timed_out_transaction_cleanup_interval_ms * TXN_NS_PER_MS,
		     txn_on_abort_timer);
	io_timer_arm(s->reactor, &tc->expire_timer,
		     cfg->transaction_remove_expired_transaction_cleanup_interval_ms * TXN_NS_PER_MS,
		     txn_on_expire_timer);
}

/* At shutdown no new round starts; a transaction caught between its prepare
 * and its completion resumes at the next start. */
static void txn_coordinator_stop(struct shard *s)
{
	struct txn_coordinator *tc = txn_coordinator_of(s);
	if (!tc)
		return;
	tc->stopping = true;
	io_timer_stop(s->reactor, &tc->abort_timer);
	io_timer_stop(s->reactor, &tc->expire_timer);
}

static bool txn_coordinator_quiet(const struct shard *s)
{
	const struct txn_coordinator *tc = txn_coordinator_of(s);
	return !tc || tc->in_flight == 0;
}

const struct shard_service txn_shard_service = {
	.name = "transactions",
	.serve = txn_coordinator_serve,
	.stop = txn_coordinator_stop,
	.quiet = txn_coordinator_quiet,
};

void txn_coordinator_free(struct shard *s)
{
	struct txn_coordinator *tc = txn_coordinator_of(s);
	if (!tc)
		return;
	assert(tc->in_flight == 0);
	txn_table_free(&tc->ids);
	free(tc);
	s->slots[SHARD_SLOT_TXN] = NULL;
}

/* ---- routing ---------------------------------------------------------- */

/* The shard owning the id's partition, or NULL when the topic is missing. */
static struct shard *txn_owner(struct runtime *rt, struct topic *t, struct kstr id)
{
	if (!t)
		return NULL;
	struct partition *p = topic_partition(t, txn_store_partition_of(id, t->partition_count));
	assert(p && p->shard < rt->io_shards);
	return &rt->shards[p->shard];
}

struct txn_coordinator *txn_coordinator_route(struct runtime *rt, struct kstr transactional_id,
					      int16_t *err)
{
	/* Only the control shard may create the topic. */
	struct shard *self = shard_current();
	struct topic *t = !self || self->id == SHARD_CONTROL
				  ? txn_store_topic(rt)
				  : topics_lookup(rt, kstr_from_cstr(TXN_STORE_TOPIC));
	struct shard *owner = txn_owner(rt, t, transactional_id);
	*err = owner ? KERR_NONE : KERR_COORDINATOR_NOT_AVAILABLE;
	return owner ? txn_coordinator_of(owner) : NULL;
}

struct txn_coordinator *txn_coordinator_lookup(struct runtime *rt, struct kstr transactional_id)
{
	struct shard *owner = txn_owner(rt, topics_lookup(rt, kstr_from_cstr(TXN_STORE_TOPIC)),
					transactional_id);
	return owner ? txn_coordinator_of(owner) : NULL;
}

/* ---- verification (KIP-890 part 1) ------------------------------------ */

static int16_t verify_on_coordinator(struct txn_coordinator *tc, const struct txn_verify *v)
{
	if (!tc)
		return KERR_NOT_COORDINATOR;
	struct txn_meta *m = txn_table_find(&tc->ids, v->transactional_id);
	if (!m || m->cur.producer_id != v->producer_id)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (v->producer_epoch < m->cur.epoch)
		return KERR_PRODUCER_FENCED;
	if (v->producer_epoch > m->cur.epoch)
		return KERR_INVALID_PRODUCER_EPOCH;
	if (m->cur.state != TXN_STATUS_ONGOING ||
	    !txn_partitions_has(&m->cur.partitions, v->topic, v->partition))
		return KERR_INVALID_TXN_STATE;
	return KERR_NONE;
}

static void verify_run(struct shard_call *call)
{
	struct txn_verify *v = container_of(call, struct txn_verify, call);
	v->error = verify_on_coordinator(txn_coordinator_of(call->target), v);
	shard_call_return(call);
}

static void verify_done(struct shard_call *call)
{
	struct txn_verify *v = container_of(call, struct txn_verify, call);
	v->done(v);
}

void txn_verify_start(struct runtime *rt, struct shard *from, struct txn_verify *v)
{
	struct shard *owner = txn_owner(rt, topics_lookup(rt, kstr_from_cstr(TXN_STORE_TOPIC)),
					v->transactional_id);
	if (!owner || v->transactional_id.len <= 0) {
		/* No coordinator has ever heard of a transactional id. */
		v->error = KERR_INVALID_TXN_STATE;
		v->done(v);
		return;
	}
	v->call = (struct shard_call){ .origin = from, .target = owner, .run = verify_run,
				       .done = verify_done };
	shard_call_start(&v->call);
}

/* ---- AddPartitionsToTxn, AddOffsetsToTxn ------------------------------ */

static void reply_written(struct txn_coordinator *tc, struct txn_meta *m, void *ctx, int16_t err)
{
	(void)tc;
	struct txn_reply *r = ctx;
	r->error = err;
	r->producer_id = m->cur.producer_id;
	r->producer_epoch = m->cur.epoch;
	r->done(r);
}

static void add_verify(const struct txn_meta *m, const struct txn_add_args *a)
{
	for (uint32_t i = 0; i < a->count; i++) {
		struct txn_add_partition *p = &a->partitions[i];
		bool in = m->cur.state == TXN_STATUS_ONGOING &&
			  txn_partitions_has(&m->cur.partitions, p->topic, p->partition);
		/* Kafka 4's answer: the producer's transaction must abort (a
		 * late or stray batch would otherwise slip in). */
		p->error = in ? KERR_NONE : KERR_TRANSACTION_ABORTABLE;
	}
}

static int16_t add_check(const struct txn_meta *m, const struct txn_add_args *a)
{
	if (!m)
		return KERR_INVALID_PRODUCER_ID_MAPPING;
	if (a->count > TXN_PARTITIONS_MAX)
		return KERR_INVALID_REQUEST;
	int16_t err = txn_check_producer(m, a->producer_id, a->producer_epoch);
	if (err != KERR_NONE)
		return err;
	if (a->verify_only)
		return KERR_NONE;
	if (m->pending || m->cur.state != TXN_STATUS_ONGOING)
		return m->pending || txn_state_preparing(m->cur.state) ||
				       m->cur.state == TXN_STATUS_PREPARE_EPOCH_FENCE ||
				       m->cur.state == TXN_STATUS_DEAD
			       ? KERR_CONCURRENT_TRANSACTIONS
			       : KERR_NONE;
	return KERR_NONE;
}

void txn_add_partitions(struct txn_coordinator *tc, const struct txn_add_args *a,
			struct txn_reply *r)
{
	struct txn_meta *m = txn_table_find(&tc->ids, a->transactional_id);
	r->error = add_check(m, a);
	if (r->error != KERR_NONE || a->verify_only) {
		if (r->error == KERR_NONE)
			add_verify(m, a);
		r->done(r);
		return;
	}
	bool ongoing = m->cur.state == TXN_STATUS_ONGOING;
	if ((ongoing ? m->cur.partitions.count : 0) + a->count > TXN_PARTITIONS_MAX) {
		slog_warn("txn", "transactional id %s: more than %d partitions in one transaction "
			  "refused", SLOG_STR(m->id), TXN_PARTITIONS_MAX);
		r->error = KERR_INVALID_REQUEST;
		r->done(r);
		return;
	}
	bool all_in = ongoing;
	for (uint32_t i = 0; all_in && i < a->count; i++)
		all_in = txn_partitions_has(&m->cur.partitions, a->partitions[i].topic,
					    a->partitions[i].partition);
	if (all_in) {
		r->done(r);
		return;
	}
	struct txn_transit t;
	bool ok = txn_transit_from(&t, m, ongoing);
	for (uint32_t i = 0; ok && i < a->count; i++)
		ok = txn_partitions_add(&t.partitions, a->partitions[i].topic, a->partitions[i].partition);
	if (!ok) {
		txn_partitions_free(&t.partitions);
		r->error = KERR_COORDINATOR_NOT_AVAILABLE;
		r->done(r);
		return;
	}
	if (!ongoing)
		t.start_ms = txn_now_ms();
	t.state = TXN_STATUS_ONGOING;
	txn_write(tc, m, &t, reply_written, r);
}

/* ---- InitProducerId --------------------------------------------------- */

static void init_new_written(struct txn_coordinator *tc, struct txn_meta *m, void *ctx, int16_t err)
{
	/* A new id that could not be recorded is forgotten again. */
	if (err != KERR_NONE && m->cur.producer_id == TXN_NO_PRODUCER_ID) {
		struct txn_reply *r = ctx;
		txn_table_remove(&tc->ids, m);
		r->error = err;
		r->producer_id = TXN_NO_PRODUCER_ID;
		r->producer_epoch = TXN_NO_PRODUCER_EPOCH;
		r->done(r);
		return;
	}
	reply_written(tc, m, ctx, err);
}

static void init_reply_error(struct txn_reply *r, int16_t err)
{
	r->error = err;
	r->producer_id = TXN_NO_PRODUCER_ID;
	r->producer_epoch = TXN_NO_PRODUCER_EPOCH;
	r->done(r);
}

/* KIP-360, as Kafka checks it: a producer that names its id and epoch must
 * hold the current id (or the one before it, when its epoch was exhausted:
 * a retry of the rotation), and the current epoch (bumped now) or the
 * epoch before the last bump it asked for (a retry: answered the current
 * pair unchanged). */
static int16_t init_check_producer(const struct txn_meta *m, const struct txn_init_args *a,
				   bool *retry)
{
	*retry = false;
	if (a->producer_id == TXN_NO_PRODUCER_ID)
		return KERR_NONE;
	if (a->producer_id != m->cur.producer_id) {
		bool rotated = a->producer_id == m->cur.last_producer_id &&
			       a->producer_epoch >= TXN_EPOCH_EXHAUSTED;
		*retry = rotated;
		return rotated ? KERR_NONE : KERR_PRODUCER_FENCED;
	}
	if (m->cur.epoch == TXN_NO_PRODUCER_EPOCH || a->producer_epoch == m->cur.epoch)
		return KERR_NONE;
	if (m->cur.last_epoch != TXN_NO_PRODUCER_EPOCH && a->producer_epoch == m->cur.last_epoch) {
		*retry = true;
		return KERR_NONE;
	}
	return KERR_PRODUCER_FENCED;
}

void txn_init_producer_id(struct txn_coordinator *tc, const struct txn_init_args *a,
			  struct txn_reply *r)
{
	if (a->timeout_ms <= 0 || (uint32_t)a->timeout_ms > tc->rt->cfg.transaction_max_timeout_ms) {
		init_reply_error(r, KERR_INVALID_TRANSACTION_TIMEOUT);
		return;
	}
	struct txn_meta *m = txn_table_find(&tc->ids, a->transactional_id);
	struct txn_transit t;
	if (!m) {
		struct topic *topic = topics_lookup(tc->rt, kstr_from_cstr(TXN_STORE_TOPIC));
		int32_t partition = txn_store_partition_of(a->transactional_id, topic->partition_count);
		m = txn_table_add(&tc->ids, a->transactional_id, partition);
		if (!m) {
			init_reply_error(r, KERR_COORDINATOR_NOT_AVAILABLE);
			return;
		}
		txn_transit_from(&t, m, false);
		t.producer_id = a->fresh_producer_id;
		t.epoch = 0;
		t.timeout_ms = a->timeout_ms;
		txn_write(tc, m, &t, init_new_written, r);
		return;
	}
	bool retry;
	int16_t err = init_check_producer(m, a, &retry);
	if (err == KERR_NONE && m->pending)
		err = KERR_CONCURRENT_TRANSACTIONS;
	if (err == KERR_NONE && retry && !txn_state_has_partitions(m->cur.state)) {
		reply_written(tc, m, r, KERR_NONE);
		return;
	}
	if (err == KERR_NONE) {
		switch (m->cur.state) {
		case TXN_STATUS_ONGOING:
			/* The older producer's transaction is aborted first; the
			 * client retries while the markers are written. */
			err = txn_abort_fenced(tc, m, false);
			if (err == KERR_NONE)
				err = KERR_CONCURRENT_TRANSACTIONS;
			break;
		case TXN_STATUS_EMPTY:
		case TXN_STATUS_COMPLETE_COMMIT:
		case TXN_STATUS_COMPLETE_ABORT:
			break;
		default:
			err = KERR_CONCURRENT_TRANSACTIONS;
			break;
		}
	}
	if (err != KERR_NONE) {
		init_reply_error(r, err);
		return;
	}
	txn_transit_from(&t, m, false);
	/* A producer that names no epoch is a new one: no retry of this bump
	 * is recognised later (Kafka clears lastProducerEpoch then). */
	t.last_epoch = a->producer_id == TXN_NO_PRODUCER_ID ? TXN_NO_PRODUCER_EPOCH : m->cur.epoch;
	if (m->cur.epoch >= TXN_EPOCH_EXHAUSTED || m->cur.producer_id == TXN_NO_PRODUCER_ID) {
		t.last_producer_id = m->cur.producer_id;
		t.producer_id = a->fresh_producer_id;
		t.epoch = 0;
	} else {
		t.epoch = (int16_t)(m->cur.epoch + 1);
		SHARD_COUNTER_ADD(tc->fenced, 1);
	}
	t.state = TXN_STATUS_EMPTY;
	t.timeout_ms = a->timeout_ms;
	t.start_ms = -1;
	t.next_producer_id = TXN_NO_PRODUCER_ID;
	txn_write(tc, m, &t, reply_written, r);
}
