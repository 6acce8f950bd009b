/* Produce (key 0), v3-v11: validate each partition's record batch (a
 * compressed one is inflated through a small window, bounded by
 * sluice.batch.inflated.max.bytes, and every inner record checked, as
 * Kafka's LogValidator does), assign offsets in place, append through the partition's
 * log, and answer once every append has completed (acks=1/all; on a single
 * node the in-sync replicas are this node), or send nothing (acks=0) but
 * still hold the request until its bytes are written, since the batches are
 * written straight from the request buffer.
 *
 * The connection's shard resolves topics in the metadata image and sends each
 * io shard the partitions it owns (validation and appends run there, on the
 * request's own buffer); a topic to auto-create sends the whole request to the
 * control shard first. The owner's loop inflates at most
 * PRODUCE_INLINE_INFLATED_MAX_BYTES of a batch itself: a larger one (a bomb,
 * or a legitimately large batch) is validated on the owner's offload helper,
 * and the produce parts that reach the owner after it and name one of its
 * partitions wait behind it, so that offsets follow arrival order.
 *
 * Transactions (KIP-890 part 1): a request with transactional batches must
 * name its transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as
 * Kafka answers); the first transactional batch of a producer's
 * transaction on a partition is appended only once the id's coordinator
 * confirms the partition is in the ongoing transaction (txn_verify_start),
 * else INVALID_TXN_STATE; later batches of a transaction open on the
 * partition need no check. A part waiting for the coordinator waits in the
 * same queue, and the same way, as one waiting for the helper. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/net/conn.h"
#include "core/net/metrics_topics.h"
#include "core/api/handler_shard.h"
#include "core/api/handlers.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "core/log/partition_log.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "core/txn/txn_coordinator.h"
#include "io/offload.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"
#include "proto/record_batch.h"

struct produce_ctx;
struct produce_shard;

enum {
	/* A compressed batch whose records inflate past this is validated on
	 * the owner's offload helper (with the full
	 * sluice.batch.inflated.max.bytes bound): every ordinary client batch
	 * (librdkafka's batch.size is 1 MB of records) fits, and inflating
	 * this much costs the loop a millisecond or two even for gzip. */
	PRODUCE_INLINE_INFLATED_MAX_BYTES = 1 << 20,
	/* Partition comparisons one arriving part may spend to learn that it
	 * can go past the parts waiting (past this it waits behind them). */
	PRODUCE_QUEUE_COMPARISONS_MAX = 4096,
};
/* Kafka's words for a transactional batch whose partition the coordinator
 * has not added to the transaction (KIP-890 part 1). */
static const char PRODUCE_NOT_IN_TXN_MESSAGE[] = "Partition was not added to the transaction";
/* What one produce part may spend on its loop validating compressed
 * batches: past it, its later compressed batches go to the helper, so that
 * many batches each just under the inline bound cannot stall the shard
 * either. */
static const uint64_t PRODUCE_INLINE_VALIDATE_MAX_NS = 4ull * 1000 * 1000;

/* A transactional part's check with the coordinator (KIP-890 part 1). */
enum produce_verify_state {
	VERIFY_NONE,     /* not asked (not needed, or not yet) */
	VERIFY_PENDING,  /* asked, the answer not back */
	VERIFY_DONE,     /* the answer is in verify.error */
};

enum produce_part_state {
	PART_OPEN,       /* to validate and append */
	PART_ON_HELPER,  /* being validated on the offload helper */
	PART_VALIDATED,  /* the helper's verdict is in `verdict` */
	PART_ANSWERED,   /* appended, or its error set */
};

/* One partition's append, pointing at its slot in the response. */
struct produce_part {
	struct log_append append;
	struct offload_job job;       /* its validation on the owner's helper */
	struct produce_shard *owner;
	struct produce_part *next;    /* the owner's list, in request order */
	/* Valid in the loop turn that routed or resolved the part only: a
	 * deleted topic is freed once its owners have let go of it. */
	const struct topic *topic;
	struct partition *partition;
	struct produce_request_partition_produce_data *in;
	struct produce_response_partition_produce_response *out;
	struct partition_log *log;
	struct kuuid topic_id;        /* to look the partition up again */
	enum produce_part_state state;
	/* The helper's: it reads only these and the batch (the request's
	 * buffer, which the request holds until it is answered, and which
	 * nothing writes before the append). */
	struct batch_limits limits;
	const _Atomic int *stop_requested;
	struct batch_verdict verdict;
	/* Records refused for having no key in a compacted topic: the
	 * response's messages are written on the connection's shard. */
	int32_t keyless_count;
	int32_t keyless_index[RECORD_BATCH_KEYLESS_SHOWN];
	struct kstr topic_name;       /* the request's, valid while it is held */
	struct txn_verify verify;
	enum produce_verify_state verify_state;
	bool verify_starting;         /* within txn_verify_start (which may answer at once) */
	uint32_t txn_ends_seen;       /* the producer's markers when the check was asked */
};

/* The partitions of one io shard: a produce part. */
struct produce_shard {
	struct shard_call call;
	struct produce_ctx *ctx;
	struct produce_part *parts;
	struct produce_part **parts_tail;
	uint32_t pending;             /* appends in flight, + 1 until every part is answered */
	/* On the owner, once the part waits (in the shard's produce queue). */
	struct produce_shard *next_waiting;
	struct produce_part *resume;  /* the first partition not answered yet */
	uint32_t on_helper;           /* validations not back from the helper */
	bool waiting;
	bool started;                 /* has looked at its partitions once */
};

struct produce_ctx {
	struct request *req;
	struct produce_response resp;
	struct kstr transactional_id;
	struct produce_shard *shards; /* per io shard */
	uint32_t pending;
	bool acks_none;
	bool acks_all;
};

static int64_t produce_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool produce_any_error(const struct produce_response *r)
{
	for (int32_t i = 0; i < r->responses_count; i++) {
		const struct produce_response_topic_produce_response *t = &r->responses[i];
		for (int32_t j = 0; j < t->partition_responses_count; j++)
			if (t->partition_responses[j].error_code != KERR_NONE)
				return true;
	}
	return false;
}

static void produce_respond(struct produce_ctx *ctx)
{
	struct request *req = ctx->req;
	if (ctx->acks_none) {
		/* Kafka closes an acks=0 connection on error: the producer has no
		 * other way to learn that its records were not written. */
		if (produce_any_error(&ctx->resp))
			conn_close(req->conn, "acks=0 produce failed");
		request_finish_without_response(req);
		return;
	}
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, produce, version, &ctx->resp);
}

/* On the connection's shard: one io shard's partitions are done. */
/* Kafka's answer to records without a key in a compacted topic
 * (LogValidator.validateKey, processRecordErrors): one record error per
 * record shown, and a message naming them. Written from the request's arena
 * on the connection's shard. */
static void produce_keyless_errors(struct produce_ctx *ctx, struct produce_part *part)
{
	struct request *req = ctx->req;
	const struct topic *t = topics_lookup_id(request_runtime(req), part->topic_id);
	char tp[TOPIC_NAME_MAX + 16];
	snprintf(tp, sizeof(tp), "%s-%d", t ? t->name : "", part->in->index);
	int32_t shown = part->keyless_count < RECORD_BATCH_KEYLESS_SHOWN ? part->keyless_count
									  : RECORD_BATCH_KEYLESS_SHOWN;
	struct produce_response_batch_index_and_error_message *errs =
		request_alloc(req, (size_t)shown, sizeof(*errs));
	size_t one = sizeof(tp) + 128;
	char *texts = request_alloc(req, (size_t)shown + 1, one);
	char *message = request_alloc(req, 1, (size_t)(shown + 1) * one);
	if (!errs || !texts || !message)
		return;
	int n = snprintf(message, (size_t)(shown + 1) * one, "One or more records have been rejected "
			 "due to %d record errors in total, and only showing the first three errors "
			 "at most: [", part->keyless_count);
	for (int32_t k = 0; k < shown; k++) {
		char *text = texts + (size_t)k * one;
		snprintf(text, one, "Compacted topic cannot accept message without key in topic "
			 "partition %s", tp);
		errs[k].batch_index = part->keyless_index[k];
		errs[k].batch_index_error_message = kstr_from_cstr(text);
		n += snprintf(message + n, (size_t)(shown + 1) * one - (size_t)n,
			      "%sRecordError(batchIndex=%d, message='%s')", k ? ", " : "",
			      part->keyless_index[k], text);
	}
	snprintf(message + n, (size_t)(shown + 1) * one - (size_t)n, "]");
	part->out->record_errors = errs;
	part->out->record_errors_count = shown;
	part->out->error_message = kstr_from_cstr(message);
}

static void produce_shard_done(struct shard_call *call)
{
	struct produce_shard *ps = container_of(call, struct produce_shard, call);
	struct produce_ctx *ctx = ps->ctx;
	for (struct produce_part *part = ps->parts; part; part = part->next)
		if (part->keyless_count > 0)
			produce_keyless_errors(ctx, part);
	if (--ctx->pending == 0)
		produce_respond(ctx);
}

static void produce_shard_release(struct produce_shard *ps)
{
	if (--ps->pending == 0)
		shard_call_return(&ps->call);
}

static void produce_on_append_answer(struct produce_part *part, int16_t error_code)
{
	struct log_append *a = &part->append;
	part->out->error_code = error_code;
	if (error_code == KERR_NONE) {
		part->out->base_offset = a->base_offset;
		part->out->log_append_time_ms = a->log_append_time;
	}
	part->out->log_start_offset = partition_log_start_offset(part->log);
}

/* On the owning shard. */
static void produce_on_append(struct log_append *a, int16_t error_code)
{
	struct produce_part *part = container_of(a, struct produce_part, append);
	produce_on_append_answer(part, error_code);
	produce_shard_release(part->owner);
}


static struct batch_limits produce_limits(const struct shard *s, const struct topic *t)
{
	return (struct batch_limits){
		.max_batch_bytes = topic_config_current(t)->max_message_bytes,
		.max_inflated_bytes = (size_t)s->rt->cfg.batch_inflated_max_bytes,
		.keys_required = topic_config_current(t)->cleanup_compact,
	};
}

/* Whether the partition's records are a compressed batch (what is not a
 * whole header is answered by validation). */
static bool produce_compressed(const struct produce_request_partition_produce_data *in)
{
	if (in->records.len < RECORD_BATCH_HEADER_BYTES)
		return false;
	struct record_batch_header h;
	record_batch_header_read(in->records.mem, &h);
	return (h.attributes & BATCH_ATTR_COMPRESSION_MASK) != 0;
}

/* A part that waited (in the shard's produce queue or on the helper) looks
 * its partition up again, by topic id: the topic may have been deleted
 * meanwhile, or deleted and created anew under its name, and the records
 * were meant for the one that existed when they came. */
static bool produce_resolve(struct shard *s, struct produce_part *part)
{
	struct topic *t = topics_lookup_id(s->rt, part->topic_id);
	struct partition *p = t ? topic_partition(t, part->in->index) : NULL;
	if (!p || p->shard != s->id) {
		part->out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		part->state = PART_ANSWERED;
		return false;
	}
	part->topic = t;
	part->partition = p;
	return true;
}

/* On the owning shard: checks an idempotent batch's producer fields against
 * the partition's producer state, in offset order with the appends. Returns
 * whether to append it; if not, the part is answered (an error, or a
 * duplicate with its original's offset, now or once the original is
 * written). */
static bool produce_check_producer(struct shard *s, struct produce_part *part,
				   const struct record_batch_header *h)
{
	struct produce_response_partition_produce_response *out = part->out;
	struct conn_shard *cs = conn_shard_of(s);
	struct producer_where where = { part->topic->name, part->in->index };
	struct producer_check chk;
	enum producer_verdict pv = partition_log_producer_check(part->log, h, where, &chk, &part->append);
	if (pv == PRODUCER_APPEND)
		return true;
	if (pv == PRODUCER_REFUSED) {
		slog_debug("produce", "%s", chk.message);
		out->error_code = chk.error;
		/* Kafka names the log start offset with these errors, except
		 * with a transactional batch's fenced epoch: its leader refuses
		 * that in the transaction's verification, before the log. */
		bool epoch_error = chk.error == KERR_INVALID_PRODUCER_EPOCH ||
				   chk.error == KERR_PRODUCER_FENCED;
		if (!(epoch_error && (h->attributes & BATCH_ATTR_TRANSACTIONAL)))
			out->log_start_offset = partition_log_start_offset(part->log);
		METRIC_ADD(cs->metrics.produce_sequence_errors, 1);
		return false;
	}
	METRIC_ADD(cs->metrics.produce_duplicates, 1);
	if (part->append.log) {
		/* Answered by the log after the original. */
		part->owner->pending++;
		return false;
	}
	produce_on_append_answer(part, KERR_NONE);
	return false;
}

/* ---- KIP-890 part 1: the coordinator's word before a transaction's first
 * batch on the partition ---- */

static bool produce_batch_transactional(const struct record_batch_header *h)
{
	return (h->attributes & BATCH_ATTR_TRANSACTIONAL) && producer_batch_idempotent(h);
}

static uint32_t produce_txn_ends(const struct partition_log *log, int64_t producer_id)
{
	const struct producer_entry *e = producer_state_find(partition_log_producers(log), producer_id);
	return e ? e->txn_ends : 0;
}

/* Whether a validated part must be checked with the coordinator first: a
 * transactional batch whose producer (at this epoch) has no transaction
 * open on the partition. */
static bool produce_needs_verify(const struct produce_part *part, const struct batch_verdict *v)
{
	const struct partition_log *log = part->partition->log;
	if (part->verify_state != VERIFY_NONE || v->error_code != KERR_NONE || !log ||
	    !produce_batch_transactional(&v->header))
		return false;
	const struct producer_entry *e = producer_state_find(partition_log_producers(log),
							     v->header.producer_id);
	/* An older epoch than the partition knows is refused by the producer
	 * check (INVALID_PRODUCER_EPOCH) without asking. */
	if (e && e->epoch > v->header.producer_epoch)
		return false;
	return !producer_state_txn_open(partition_log_producers(log), v->header.producer_id,
					v->header.producer_epoch);
}

/* The coordinator's answer, as a produce answers it (as Kafka's
 * verification converts them): PRODUCER_FENCED becomes
 * INVALID_PRODUCER_EPOCH, the coordinator errors NOT_ENOUGH_REPLICAS, which
 * every producer retries; a marker for the producer that landed while the
 * question was out ends what was verified. */
static bool produce_verified(struct produce_part *part)
{
	int16_t err = part->verify.error;
	if (err == KERR_PRODUCER_FENCED)
		err = KERR_INVALID_PRODUCER_EPOCH;
	if (err == KERR_NOT_COORDINATOR || err == KERR_COORDINATOR_NOT_AVAILABLE ||
	    err == KERR_COORDINATOR_LOAD_IN_PROGRESS)
		err = KERR_NOT_ENOUGH_REPLICAS;
	if (err == KERR_NONE && produce_txn_ends(part->log, part->verify.producer_id) !=
				       part->txn_ends_seen)
		err = KERR_INVALID_TXN_STATE;
	if (err != KERR_NONE) {
		slog_debug("produce", "%.*s-%d: transaction of producer %lld not verified (error %d)",
			   part->topic_name.len, part->topic_name.ptr, part->in->index,
			   (long long)part->verify.producer_id, err);
		part->out->error_code = err;
		if (err == KERR_INVALID_TXN_STATE)
			part->out->error_message = kstr_from_cstr(PRODUCE_NOT_IN_TXN_MESSAGE);
	}
	return err == KERR_NONE;
}

static void produce_queue_drain(struct shard *s);

/* A validation (`what`) handed to the helper or a question to the
 * coordinator came back, on the owner: only the queue's head waits on
 * them, and once none is out it goes on. */
static void produce_wait_over(struct produce_shard *ps, const char *what)
{
	struct shard *s = ps->call.target;
	if (handler_shard_of(s)->produce_waiting != ps || ps->on_helper == 0) {
		slog_error("produce", "shard %u: a %s came back to a part that is not the head of "
			   "the produce queue", s->id, what);
		abort();
	}
	if (--ps->on_helper == 0)
		produce_queue_drain(s);
}

/* Back on the owner (the coordinator's shard returned the call). */
static void produce_verify_done(struct txn_verify *v)
{
	struct produce_part *part = container_of(v, struct produce_part, verify);
	part->verify_state = VERIFY_DONE;
	if (!part->verify_starting)
		produce_wait_over(part->owner, "verification");
}

/* Asks the coordinator about the part's transaction; the part's shard part
 * is the head of the produce queue. The answer may come at once: then the
 * part is VERIFY_DONE on return and nothing waits. */
static void produce_verify_start(struct shard *s, struct produce_shard *ps, struct produce_part *part,
				 const struct record_batch_header *h)
{
	part->verify = (struct txn_verify){ .transactional_id = ps->ctx->transactional_id,
					    .producer_id = h->producer_id,
					    .producer_epoch = h->producer_epoch,
					    .topic = part->topic_name,
					    .partition = part->in->index,
					    .done = produce_verify_done };
	part->txn_ends_seen = produce_txn_ends(part->partition->log, h->producer_id);
	part->verify_state = VERIFY_PENDING;
	part->verify_starting = true;
	ps->on_helper++;
	txn_verify_start(s->rt, s, &part->verify);
	part->verify_starting = false;
	if (part->verify_state == VERIFY_DONE)
		ps->on_helper--;
}

/* On the owning shard: appends one validated partition's batch; on success
 * the append is pending and counted. */
static void produce_append(struct shard *s, struct produce_part *part, const struct batch_verdict *v)
{
	const struct topic *t = part->topic;
	struct produce_request_partition_produce_data *in = part->in;
	struct produce_response_partition_produce_response *out = part->out;
	struct partition_log *log = part->partition->log;
	part->state = PART_ANSWERED;
	/* Below the log dir's free-space floor (logged once by log_space.c). */
	if (!log || log_space_refusing(&topics_registry(s->rt)->space)) {
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	if (v->error_code != KERR_NONE) {
		/* Kafka names no reason in the response (error_message stays
		 * null); the log does. */
		slog_debug("produce", "%s-%d: %s", t->name, in->index, v->reason);
		out->error_code = v->error_code;
		part->keyless_count = v->keyless_count;
		memcpy(part->keyless_index, v->keyless_index, sizeof(part->keyless_index));
		/* Kafka answers a record validation error with the log's start. */
		if (v->keyless_count > 0)
			out->log_start_offset = partition_log_start_offset(log);
		if (v->message[0]) {
			/* The part outlives the response's encoding; the verdict on
			 * the loop's stack does not. */
			if (v != &part->verdict)
				memcpy(part->verdict.message, v->message, sizeof(v->message));
			out->error_message = kstr_from_cstr(part->verdict.message);
		}
		return;
	}
	part->log = log;
	part->append.done = produce_on_append;
	if (part->verify_state == VERIFY_DONE && !produce_verified(part))
		return;
	if (producer_batch_idempotent(&v->header) && !produce_check_producer(s, part, &v->header))
		return;
	part->append.log_append_time = -1;
	struct record_batch_header h = v->header;
	if (topic_config_current(t)->message_timestamp_type_log_append) {
		int64_t now = produce_now_ms();
		record_batch_set_log_append_time(in->records.mem, (size_t)in->records.len, now);
		part->append.log_append_time = now;
	} else if (h.max_timestamp != v->records_max_timestamp ||
		   (h.attributes & BATCH_ATTR_LOG_APPEND_TIME)) {
		/* As Kafka's LogValidator: the header says what the records hold,
		 * and the topic's timestamp type. */
		record_batch_set_create_time(in->records.mem, (size_t)in->records.len,
					     v->records_max_timestamp);
		record_batch_header_read(in->records.mem, &h);
	}
	part->owner->pending++;
	int16_t err = partition_log_append(log, in->records.mem, (size_t)in->records.len, &h,
					   &part->append);
	if (err != KERR_NONE) {
		part->owner->pending--;
		out->error_code = err;
		return;
	}
	METRIC_ADD(conn_shard_of(s)->metrics.produce_bytes, (uint64_t)in->records.len);
	METRIC_ADD(conn_shard_of(s)->metrics.produce_batches, 1);
	metrics_topic_in(s, t, (uint64_t)in->records.len, (uint64_t)v->header.record_count);
}

/* On the helper thread: the whole validation, with the configured bound.
 * At shutdown what is still queued is refused at once, so that the stop
 * waits for one batch at most. */
static void produce_validate_run(struct offload_job *job)
{
	struct produce_part *part = container_of(job, struct produce_part, job);
	if (atomic_load(part->stop_requested)) {
		part->verdict = (struct batch_verdict){ .error_code = KERR_NOT_LEADER_OR_FOLLOWER,
							.reason = "the broker is shutting down" };
		return;
	}
	record_batch_validate(part->in->records.mem, (size_t)part->in->records.len, &part->limits,
			      &part->verdict);
}

/* Back on the owner, in the order validations were handed over. */
static void produce_validate_done(struct offload_job *job)
{
	struct produce_part *part = container_of(job, struct produce_part, job);
	part->state = PART_VALIDATED;
	produce_wait_over(part->owner, "validation");
}

static void produce_hand_over(struct shard *s, struct produce_shard *ps, struct produce_part *part)
{
	part->state = PART_ON_HELPER;
	part->limits = produce_limits(s, part->topic);
	part->stop_requested = &s->rt->stop_requested;
	part->job.run = produce_validate_run;
	part->job.done = produce_validate_done;
	ps->on_helper++;
	offload_submit(s->offload, &part->job);
}

static void produce_wait(struct shard *s, struct produce_shard *ps)
{
	ps->waiting = true;
	ps->next_waiting = NULL;
	if (handler_shard_of(s)->produce_waiting_tail)
		handler_shard_of(s)->produce_waiting_tail->next_waiting = ps;
	else
		handler_shard_of(s)->produce_waiting = ps;
	handler_shard_of(s)->produce_waiting_tail = ps;
}

/* Looks at the part's partitions in request order: validates each inline
 * and appends it, until one is a compressed batch too large for the loop
 * (or past the part's inline time): from there on the part waits in the
 * shard's produce queue; at its head, its compressed batches are handed to
 * the helper and the rest is appended, in order, once they are back.
 * `stale`: the part has waited, its partitions are looked up again. */
static void produce_shard_start(struct shard *s, struct produce_shard *ps, bool stale)
{
	size_t bound = (size_t)s->rt->cfg.batch_inflated_max_bytes;
	size_t inline_max = bound < PRODUCE_INLINE_INFLATED_MAX_BYTES ? bound
								      : PRODUCE_INLINE_INFLATED_MAX_BYTES;
	uint64_t spent_ns = 0;
	ps->started = true;
	for (struct produce_part *part = ps->resume ? ps->resume : ps->parts; part; part = part->next) {
		if (stale && !produce_resolve(s, part))
			continue;
		bool compressed = produce_compressed(part->in);
		if (ps->resume) {
			if (compressed)
				produce_hand_over(s, ps, part);
			continue;
		}
		bool to_helper = compressed && spent_ns >= PRODUCE_INLINE_VALIDATE_MAX_NS;
		bool to_verify = false;
		struct batch_verdict v;
		if (!to_helper) {
			struct batch_limits lim = produce_limits(s, part->topic);
			uint64_t start_ns = compressed ? reactor_now_ns() : 0;
			if (compressed)
				lim.max_inflated_bytes = inline_max;
			record_batch_validate(part->in->records.mem, (size_t)part->in->records.len, &lim,
					      &v);
			if (compressed)
				spent_ns += reactor_now_ns() - start_ns;
			/* Past the inline bound only, not past max.message.bytes. */
			to_helper = v.error_code == KERR_MESSAGE_TOO_LARGE && compressed &&
				    inline_max < bound &&
				    record_batch_total_bytes(&v.header) <= lim.max_batch_bytes;
			/* Asked from the queue's head, and appended (validated
			 * again) once the answer is in. */
			to_verify = !to_helper && produce_needs_verify(part, &v);
			if (!to_helper && !to_verify)
				produce_append(s, part, &v);
		}
		if (!to_helper && !to_verify)
			continue;
		ps->resume = part;
		if (!ps->waiting && handler_shard_of(s)->produce_waiting) {
			/* It went past the parts waiting: it waits behind them
			 * now, and hands over (or asks) once at the head. */
			ps->started = false;
			produce_wait(s, ps);
			return;
		}
		if (!ps->waiting)
			produce_wait(s, ps);
		if (to_verify)
			produce_verify_start(s, ps, part, &v.header);
		else
			produce_hand_over(s, ps, part);
	}
}

/* The queue's head is back from the helper and the coordinator: appends
 * what is left of it, in request order, looking each partition up again
 * (time has passed). A part whose transaction the coordinator must confirm
 * first stops it there: returns false while that answer is out. */
static bool produce_shard_finish(struct shard *s, struct produce_shard *ps)
{
	for (struct produce_part *part = ps->resume; part; part = part->next) {
		if (part->state == PART_ANSWERED || !produce_resolve(s, part))
			continue;
		struct batch_verdict inline_verdict;
		const struct batch_verdict *v = &part->verdict;
		if (part->state != PART_VALIDATED) {
			struct batch_limits lim = produce_limits(s, part->topic);
			record_batch_validate(part->in->records.mem, (size_t)part->in->records.len, &lim,
					      &inline_verdict);
			v = &inline_verdict;
		}
		if (produce_needs_verify(part, v)) {
			ps->resume = part;
			produce_verify_start(s, ps, part, &v->header);
			if (part->verify_state != VERIFY_DONE)
				return false;
		}
		produce_append(s, part, v);
	}
	return true;
}

/* Runs the shard's produce queue from its head while nothing of the head is
 * on the helper. The queue is bounded without a limit of its own: each part
 * in it belongs to a request held by its connection's shard, whose bytes
 * count against queued.max.request.bytes until it is answered. */
static void produce_queue_drain(struct shard *s)
{
	struct produce_shard *ps;
	while ((ps = handler_shard_of(s)->produce_waiting)) {
		if (!ps->started)
			produce_shard_start(s, ps, true);
		if (ps->on_helper > 0 || !produce_shard_finish(s, ps))
			return;
		handler_shard_of(s)->produce_waiting = ps->next_waiting;
		if (!handler_shard_of(s)->produce_waiting)
			handler_shard_of(s)->produce_waiting_tail = NULL;
		ps->waiting = false;
		produce_shard_release(ps);
	}
}

static bool produce_same_partition(const struct produce_part *a, const struct produce_part *other)
{
	return a->in->index == other->in->index &&
	       memcmp(&a->topic_id, &other->topic_id, sizeof(a->topic_id)) == 0;
}

/* Whether a part just arrived names a partition that a waiting part has not
 * answered yet (or the queue is too long to tell cheaply). */
static bool produce_behind_waiting(const struct shard *s, const struct produce_shard *ps)
{
	uint32_t comparisons = 0;
	for (const struct produce_shard *w = handler_shard_of(s)->produce_waiting; w; w = w->next_waiting)
		for (const struct produce_part *a = w->resume ? w->resume : w->parts; a; a = a->next) {
			if (a->state == PART_ANSWERED)
				continue;
			for (const struct produce_part *p = ps->parts; p; p = p->next)
				if (produce_same_partition(a, p) ||
				    ++comparisons > PRODUCE_QUEUE_COMPARISONS_MAX)
					return true;
		}
	return false;
}

/* Offsets follow, per partition, the order in which produce parts reach the
 * owner: a part that names a partition of a waiting part waits behind it
 * (behind the whole queue); one that does not goes past the queue, so that
 * bombs queued for the helper delay only those who write where they do. */
static void produce_shard_run(struct shard_call *call)
{
	struct produce_shard *ps = container_of(call, struct produce_shard, call);
	struct shard *s = call->target;
	/* One extra count so that appends completing during the loop cannot
	 * return the call before every partition has been looked at. */
	ps->pending = 1;
	if (handler_shard_of(s)->produce_waiting && produce_behind_waiting(s, ps)) {
		produce_wait(s, ps);
		return;
	}
	produce_shard_start(s, ps, false);
	if (!ps->waiting)
		produce_shard_release(ps);
	else if (ps->on_helper == 0 && handler_shard_of(s)->produce_waiting == ps)
		/* The coordinator answered at once: nothing else will run it. */
		produce_queue_drain(s);
}

/* Checks what the connection's shard can (partition, records, acks) and
 * queues the partition for its owner. */
static void produce_route(struct produce_ctx *ctx, struct topic *t, struct kstr topic_name,
			  struct produce_request_partition_produce_data *in,
			  struct produce_response_partition_produce_response *out,
			  struct produce_part *part)
{
	struct partition *p = topic_partition(t, in->index);
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (in->records.len <= 0) {
		/* Kafka takes an empty record set for an invalid one (it never
		 * answers a null one: sluice calls that corrupt). */
		out->error_code = in->records.len == 0 ? KERR_INVALID_RECORD : KERR_CORRUPT_MESSAGE;
		return;
	}
	if (ctx->acks_all && topic_config_current(t)->min_insync_replicas > 1) {
		/* One replica can never satisfy a larger min.insync.replicas. */
		out->error_code = KERR_NOT_ENOUGH_REPLICAS;
		return;
	}
	struct produce_shard *ps = &ctx->shards[p->shard];
	part->owner = ps;
	part->topic = t;
	part->partition = p;
	part->in = in;
	part->out = out;
	part->topic_id = t->id;
	part->topic_name = topic_name;
	*ps->parts_tail = part;
	ps->parts_tail = &part->next;
}

static void produce_topic(struct produce_ctx *ctx, struct produce_request_topic_produce_data *in,
			  struct produce_response_topic_produce_response *out, int16_t acks_error)
{
	struct request *req = ctx->req;
	out->name = in->name;
	out->partition_responses = request_alloc(req, (size_t)in->partition_data_count + 1,
						 sizeof(*out->partition_responses));
	struct produce_part *parts = request_alloc(req, (size_t)in->partition_data_count + 1,
						   sizeof(*parts));
	if (!out->partition_responses || !parts) {
		req->body.err = RC_ALLOC;
		return;
	}
	out->partition_responses_count = in->partition_data_count;
	int16_t topic_error = acks_error;
	struct topic *t = NULL;
	/* Kafka creates topics for Metadata only: a Produce to a topic it does
	 * not know (any name, valid or not) is answered, never auto-created. */
	if (topic_error == KERR_NONE && !(t = topics_lookup(request_runtime(req), in->name)))
		topic_error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (t && t->internal) {
		/* Only the broker writes its internal topics, as in Kafka. */
		topic_error = KERR_INVALID_TOPIC_EXCEPTION;
		t = NULL;
	}
	for (int32_t i = 0; i < in->partition_data_count; i++) {
		struct produce_response_partition_produce_response *po = &out->partition_responses[i];
		produce_response_partition_produce_response_init(po);
		po->index = in->partition_data[i].index;
		/* Kafka answers a partition that failed with no offset at all. */
		po->base_offset = -1;
		if (!t)
			po->error_code = topic_error;
		else
			produce_route(ctx, t, in->name, &in->partition_data[i], po, &parts[i]);
	}
}

/* Whether any partition's records are a transactional batch (what is not a
 * whole header is answered by validation). Kafka refuses such a request
 * whole when it names no transactional id. */
static bool produce_has_transactional(const struct produce_request *q)
{
	for (int32_t i = 0; i < q->topic_data_count; i++)
		for (int32_t j = 0; j < q->topic_data[i].partition_data_count; j++) {
			const struct produce_request_partition_produce_data *in =
				&q->topic_data[i].partition_data[j];
			if (in->records.len < RECORD_BATCH_HEADER_BYTES)
				continue;
			struct record_batch_header h;
			record_batch_header_read(in->records.mem, &h);
			if (h.attributes & BATCH_ATTR_TRANSACTIONAL)
				return true;
		}
	return false;
}

void handle_produce(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct produce_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	struct produce_request q;
	if (!ctx || produce_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	int16_t acks_error = (q.acks == 0 || q.acks == 1 || q.acks == -1) ? KERR_NONE
									  : KERR_INVALID_REQUIRED_ACKS;
	if (q.transactional_id.len < 0 && acks_error == KERR_NONE && produce_has_transactional(&q))
		acks_error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	ctx->req = req;
	ctx->transactional_id = q.transactional_id;
	ctx->acks_none = q.acks == 0;
	ctx->acks_all = q.acks == -1;
	produce_response_init(&ctx->resp);
	ctx->resp.responses = request_alloc(req, (size_t)q.topic_data_count + 1,
					    sizeof(*ctx->resp.responses));
	ctx->shards = request_alloc(req, rt->io_shards, sizeof(*ctx->shards));
	if (!ctx->resp.responses || !ctx->shards) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++)
		ctx->shards[k].parts_tail = &ctx->shards[k].parts;
	ctx->resp.responses_count = q.topic_data_count;
	for (int32_t i = 0; i < q.topic_data_count && req->body.err == RC_OK; i++) {
		produce_response_topic_produce_response_init(&ctx->resp.responses[i]);
		produce_topic(ctx, &q.topic_data[i], &ctx->resp.responses[i], acks_error);
	}
	if (req->body.err != RC_OK) {
		request_reject_malformed(req);
		return;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct produce_shard *ps = &ctx->shards[k];
		ps->ctx = ctx;
		ps->call = (struct shard_call){ .origin = request_shard(req), .target = &rt->shards[k],
						.run = ps->parts ? produce_shard_run : NULL,
						.done = produce_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), rt->io_shards,
				   &ctx->pending))
		produce_respond(ctx);
}
