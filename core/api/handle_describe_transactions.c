/* DescribeTransactions (key 65), v0: each transactional id's state as its
 * coordinator keeps it (KIP-664), with Kafka's state names. The request
 * starts on the control shard and visits the coordinating shards in shard
 * order, each describing its own ids into the request's arena. */
#include <string.h>

#include "core/api/handlers.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { NO_OWNER = UINT32_MAX };

struct describe_txn_ctx {
	struct describe_transactions_request q;
	struct describe_transactions_response r;
	uint32_t *owners; /* per id: its coordinator's shard, or NO_OWNER */
};

/* The current partitions of m, one entry per topic. */
static bool describe_topics(struct request *req, const struct txn_meta *m,
			    struct describe_transactions_response_describe_transaction_state *out)
{
	const struct txn_partitions *ps = &m->cur.partitions;
	out->topics = request_alloc(req, (size_t)ps->count + 1, sizeof(*out->topics));
	int32_t *parts = request_alloc(req, (size_t)ps->count + 1, sizeof(*parts));
	if (!out->topics || !parts)
		return false;
	int32_t n = 0, used = 0;
	for (uint32_t i = 0; i < ps->count; i++) {
		bool seen = false;
		for (int32_t k = 0; k < n && !seen; k++)
			seen = kstr_eq(out->topics[k].topic, ps->items[i].topic);
		if (seen)
			continue;
		struct describe_transactions_response_describe_transaction_topic *t = &out->topics[n++];
		describe_transactions_response_describe_transaction_topic_init(t);
		t->topic = request_copy_kstr(req, ps->items[i].topic);
		t->partitions = &parts[used];
		for (uint32_t j = i; j < ps->count; j++)
			if (kstr_eq(ps->items[j].topic, ps->items[i].topic))
				parts[used + t->partitions_count++] = ps->items[j].partition;
		used += t->partitions_count;
	}
	out->topics_count = n;
	return req->body.err == RC_OK;
}

static bool describe_one(struct request *req, struct txn_coordinator *tc,
			 struct describe_transactions_response_describe_transaction_state *out)
{
	struct txn_meta *m = tc ? txn_table_find(&tc->ids, out->transactional_id) : NULL;
	if (!m || m->cur.state == TXN_STATUS_DEAD) {
		out->error_code = KERR_TRANSACTIONAL_ID_NOT_FOUND;
		return true;
	}
	out->transaction_state = kstr_from_cstr(txn_state_name(m->cur.state));
	out->transaction_timeout_ms = m->cur.timeout_ms;
	out->transaction_start_time_ms = m->cur.start_ms;
	out->producer_id = m->cur.producer_id;
	out->producer_epoch = m->cur.epoch;
	return describe_topics(req, m, out);
}

static void describe_respond(struct request *req)
{
	struct describe_txn_ctx *ctx = req->handler_ctx;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, describe_transactions, version, &ctx->r);
}

/* Describes this shard's ids, then moves on to the next owner or answers. */
static void describe_continue(struct request *req)
{
	struct describe_txn_ctx *ctx = req->handler_ctx;
	uint32_t here = request_shard(req)->id;
	uint32_t next = NO_OWNER;
	for (int32_t i = 0; i < ctx->q.transactional_ids_count; i++) {
		if (ctx->owners[i] == here &&
		    !describe_one(req, txn_coordinator_of(request_shard(req)), &ctx->r.transaction_states[i])) {
			req->body.err = RC_ALLOC;
			request_reject_malformed(req);
			return;
		}
		if (ctx->owners[i] != NO_OWNER && ctx->owners[i] > here && ctx->owners[i] < next)
			next = ctx->owners[i];
	}
	if (next != NO_OWNER)
		request_relay(req, next, describe_continue);
	else
		describe_respond(req);
}

void handle_describe_transactions(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_txn_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || describe_transactions_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	int32_t n = ctx->q.transactional_ids_count;
	describe_transactions_response_init(&ctx->r);
	ctx->r.transaction_states = request_alloc(req, (size_t)n + 1, sizeof(*ctx->r.transaction_states));
	ctx->owners = request_alloc(req, (size_t)n + 1, sizeof(*ctx->owners));
	if (!ctx->r.transaction_states || !ctx->owners) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	ctx->r.transaction_states_count = n;
	for (int32_t i = 0; i < n; i++) {
		struct describe_transactions_response_describe_transaction_state *s =
			&ctx->r.transaction_states[i];
		describe_transactions_response_describe_transaction_state_init(s);
		s->transactional_id = ctx->q.transactional_ids[i];
		struct txn_coordinator *tc = txn_coordinator_lookup(request_runtime(req), s->transactional_id);
		ctx->owners[i] = tc ? tc->shard->id : NO_OWNER;
		if (!tc)
			s->error_code = KERR_TRANSACTIONAL_ID_NOT_FOUND;
	}
	req->handler_ctx = ctx;
	describe_continue(req);
}
