/* AddOffsetsToTxn (key 25), v0-v4: adds the group's __consumer_offsets
 * partition to the producer's ongoing transaction, so that the offsets it
 * commits with TxnOffsetCommit get the transaction's marker. Starts on the
 * control shard (which creates __consumer_offsets when needed) and moves
 * to the id's coordinator. */
#include "core/api/handlers.h"
#include "core/api/txn_route.h"
#include "core/group/group_store.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { ADD_OFFSETS_FENCED_FROM = 2 };

struct add_offsets_ctx {
	struct request *req;
	struct add_offsets_to_txn_request q;
	struct txn_add_partition partition;
	struct txn_reply reply;
};

static void add_offsets_respond(struct request *req, int16_t err)
{
	int16_t version = req->header.api_version;
	struct add_offsets_to_txn_response r;
	add_offsets_to_txn_response_init(&r);
	r.error_code = txn_route_error_for_version(err, version, ADD_OFFSETS_FENCED_FROM);
	REQUEST_RESPOND(req, add_offsets_to_txn, version, &r);
}

static void add_offsets_done(struct txn_reply *r)
{
	struct add_offsets_ctx *ctx = container_of(r, struct add_offsets_ctx, reply);
	add_offsets_respond(ctx->req, r->error);
}

static void add_offsets_here(struct request *req)
{
	struct add_offsets_ctx *ctx = req->handler_ctx;
	struct txn_add_args a = {
		.transactional_id = ctx->q.transactional_id,
		.producer_id = ctx->q.producer_id,
		.producer_epoch = ctx->q.producer_epoch,
		.partitions = &ctx->partition,
		.count = 1,
	};
	txn_add_partitions(txn_route_here(req), &a, &ctx->reply);
}

void handle_add_offsets_to_txn(struct request *req)
{
	int16_t version = req->header.api_version;
	struct add_offsets_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	if (add_offsets_to_txn_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->reply.done = add_offsets_done;
	if (ctx->q.transactional_id.len <= 0) {
		add_offsets_respond(req, KERR_INVALID_REQUEST);
		return;
	}
	struct topic *offsets = group_store_topic(request_runtime(req));
	if (!offsets) {
		add_offsets_respond(req, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	ctx->partition = (struct txn_add_partition){
		.topic = kstr_from_cstr(GROUP_STORE_TOPIC),
		.partition = group_store_partition_of(ctx->q.group_id, offsets->partition_count),
	};
	req->handler_ctx = ctx;
	int16_t err;
	if (!txn_route_relay(req, ctx->q.transactional_id, add_offsets_here, &err))
		add_offsets_respond(req, err);
}
