/* ListTransactions (key 66), v0-v1: the transactional ids every
 * coordinator knows, filtered as Kafka filters them: by state names
 * (unknown names are listed back and match nothing), by producer ids, and
 * from v1 by duration (only transactions running longer than it). Dead ids
 * are never listed. The request visits every io shard in order, each adding
 * its ids into the request's arena. */
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { LIST_TXN_CHUNK = 64 };

struct list_txn_ctx {
	struct request *req;
	struct list_transactions_request q;
	struct list_transactions_response r;
	uint32_t states;   /* bit per enum txn_status named by the filters */
	int32_t cap;       /* of r.transaction_states */
	int64_t now_ms;
	bool failed;
};

static bool list_wanted(const struct list_txn_ctx *ctx, const struct txn_meta *m)
{
	if (m->cur.state == TXN_STATUS_DEAD)
		return false;
	if (ctx->q.producer_id_filters_count > 0) {
		bool named = false;
		for (int32_t i = 0; i < ctx->q.producer_id_filters_count && !named; i++)
			named = ctx->q.producer_id_filters[i] == m->cur.producer_id;
		if (!named)
			return false;
	}
	if (ctx->q.state_filters_count > 0 && !(ctx->states & (1u << m->cur.state)))
		return false;
	int64_t running;
	if (ctx->q.duration_filter >= 0 &&
	    (__builtin_sub_overflow(ctx->now_ms, m->cur.start_ms, &running) ||
	     running <= ctx->q.duration_filter))
		return false;
	return true;
}

static void list_one(struct txn_meta *m, void *arg)
{
	struct list_txn_ctx *ctx = arg;
	struct request *req = ctx->req;
	if (ctx->failed || !list_wanted(ctx, m))
		return;
	struct list_transactions_response *r = &ctx->r;
	if (r->transaction_states_count == ctx->cap) {
		int32_t cap = ctx->cap * 2 + LIST_TXN_CHUNK;
		struct list_transactions_response_list_transaction_state *more =
			request_alloc(req, (size_t)cap, sizeof(*more));
		if (!more) {
			ctx->failed = true;
			return;
		}
		for (int32_t i = 0; i < r->transaction_states_count; i++)
			more[i] = r->transaction_states[i];
		r->transaction_states = more;
		ctx->cap = cap;
	}
	struct list_transactions_response_list_transaction_state *s =
		&r->transaction_states[r->transaction_states_count++];
	list_transactions_response_list_transaction_state_init(s);
	s->transactional_id = request_copy_kstr(req, m->id);
	s->producer_id = m->cur.producer_id;
	s->transaction_state = kstr_from_cstr(txn_state_name(m->cur.state));
	ctx->failed = req->body.err != RC_OK;
}

static void list_continue(struct request *req)
{
	struct list_txn_ctx *ctx = req->handler_ctx;
	struct shard *here = request_shard(req);
	struct txn_coordinator *tc = txn_coordinator_of(here);
	if (tc)
		txn_table_for_each(&tc->ids, list_one, ctx);
	if (ctx->failed) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	if (here->id + 1 < request_runtime(req)->io_shards) {
		request_relay(req, here->id + 1, list_continue);
		return;
	}
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, list_transactions, version, &ctx->r);
}

void handle_list_transactions(struct request *req)
{
	int16_t version = req->header.api_version;
	struct list_txn_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || list_transactions_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->now_ms = txn_now_ms();
	if (version < 1)
		ctx->q.duration_filter = -1;
	list_transactions_response_init(&ctx->r);
	ctx->r.unknown_state_filters = request_alloc(req, (size_t)ctx->q.state_filters_count + 1,
						     sizeof(*ctx->r.unknown_state_filters));
	if (!ctx->r.unknown_state_filters) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < ctx->q.state_filters_count; i++) {
		int s = txn_state_parse(ctx->q.state_filters[i]);
		if (s < 0)
			ctx->r.unknown_state_filters[ctx->r.unknown_state_filters_count++] =
				ctx->q.state_filters[i];
		else
			ctx->states |= 1u << s;
	}
	req->handler_ctx = ctx;
	/* The control shard is io shard 0: the visit starts here. */
	list_continue(req);
}
