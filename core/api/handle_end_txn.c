/* EndTxn (key 26), v0-v5: commits or aborts the producer's ongoing
 * transaction. Answered once PrepareCommit/PrepareAbort is written; the
 * markers and the completion follow on the coordinator (txn_end.c). v5+
 * (KIP-890 part 2) bumps the epoch at every end and answers the producer's
 * new id and epoch; for the rare end that exhausts the epoch, a fresh
 * producer id is taken here on the control shard, which owns the blocks. */
#include "core/api/handlers.h"
#include "core/api/txn_route.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { END_TXN_FENCED_FROM = 2, END_TXN_BUMPS_FROM = 5 };

struct end_ctx {
	struct request *req;
	struct txn_end_args args;
	struct txn_reply reply;
};

static void end_respond(struct request *req, const struct txn_reply *rep)
{
	int16_t version = req->header.api_version;
	struct end_txn_response r;
	end_txn_response_init(&r);
	r.error_code = txn_route_error_for_version(rep->error, version, END_TXN_FENCED_FROM);
	r.producer_id = rep->error == KERR_NONE ? rep->producer_id : -1;
	r.producer_epoch = rep->error == KERR_NONE ? rep->producer_epoch : -1;
	REQUEST_RESPOND(req, end_txn, version, &r);
}

static void end_done(struct txn_reply *r)
{
	struct end_ctx *ctx = container_of(r, struct end_ctx, reply);
	end_respond(ctx->req, r);
}

static void end_here(struct request *req)
{
	struct end_ctx *ctx = req->handler_ctx;
	txn_end(txn_route_here(req), &ctx->args, &ctx->reply);
}

void handle_end_txn(struct request *req)
{
	int16_t version = req->header.api_version;
	struct end_txn_request q;
	struct end_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	if (end_txn_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->reply = (struct txn_reply){ .error = KERR_NONE, .producer_id = -1, .producer_epoch = -1,
					 .done = end_done };
	ctx->args = (struct txn_end_args){
		.transactional_id = q.transactional_id,
		.producer_id = q.producer_id,
		.producer_epoch = q.producer_epoch,
		.commit = q.committed,
		.bump_epoch = version >= END_TXN_BUMPS_FROM,
		.fresh_producer_id = -1,
	};
	if (q.transactional_id.len <= 0) {
		ctx->reply.error = KERR_INVALID_REQUEST;
		end_respond(req, &ctx->reply);
		return;
	}
	if (ctx->args.bump_epoch) {
		struct metadata_store *ms = topics_registry(request_runtime(req))->store;
		if (metadata_store_producer_id_take(ms, &ctx->args.fresh_producer_id) != 0) {
			ctx->reply.error = KERR_COORDINATOR_NOT_AVAILABLE;
			end_respond(req, &ctx->reply);
			return;
		}
	}
	req->handler_ctx = ctx;
	if (!txn_route_relay(req, q.transactional_id, end_here, &ctx->reply.error))
		end_respond(req, &ctx->reply);
}
