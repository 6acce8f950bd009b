/* InitProducerId (key 22), v0-v5, starting on the control shard, which
 * owns the metadata store's durable producer id blocks.
 *
 * An idempotent producer (null transactional id) gets a producer id never
 * handed out before in the cluster's life, with epoch 0. As in Kafka, the
 * id and epoch a v3+ producer sends (KIP-360: it asks again after
 * UNKNOWN_PRODUCER_ID or a timeout) only have to be both set or both -1:
 * an idempotent producer always gets a fresh id, since nothing else could
 * fence it.
 *
 * A transactional producer is answered by the coordinator of its id
 * (core/txn): a new id, or the next epoch of the id's producer, fencing
 * the older one. A fresh producer id is taken here before the request
 * moves there, for the coordinator to use when the id is new or its epoch
 * is exhausted (otherwise it goes unused: ids are plentiful, and the
 * coordinator's shard cannot take one itself). */
#include "core/api/handlers.h"
#include "core/api/txn_route.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { NO_PRODUCER_ID = -1, NO_PRODUCER_EPOCH = -1, INIT_PRODUCER_ID_FENCED_FROM = 4 };

struct init_ctx {
	struct request *req;
	struct txn_init_args args;
	struct txn_reply reply;
};

static void init_respond(struct request *req, int16_t err, int64_t producer_id, int16_t epoch)
{
	int16_t version = req->header.api_version;
	struct init_producer_id_response r;
	init_producer_id_response_init(&r);
	r.error_code = txn_route_error_for_version(err, version, INIT_PRODUCER_ID_FENCED_FROM);
	r.producer_id = err == KERR_NONE ? producer_id : NO_PRODUCER_ID;
	r.producer_epoch = err == KERR_NONE ? epoch : NO_PRODUCER_EPOCH;
	REQUEST_RESPOND(req, init_producer_id, version, &r);
}

static void init_done(struct txn_reply *r)
{
	struct init_ctx *ctx = container_of(r, struct init_ctx, reply);
	init_respond(ctx->req, r->error, r->producer_id, r->producer_epoch);
}

static void init_here(struct request *req)
{
	struct init_ctx *ctx = req->handler_ctx;
	txn_init_producer_id(txn_route_here(req), &ctx->args, &ctx->reply);
}

void handle_init_producer_id(struct request *req)
{
	int16_t version = req->header.api_version;
	struct init_producer_id_request q;
	if (init_producer_id_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	if ((q.producer_id == NO_PRODUCER_ID) != (q.producer_epoch == NO_PRODUCER_EPOCH)) {
		init_respond(req, KERR_INVALID_REQUEST, NO_PRODUCER_ID, NO_PRODUCER_EPOCH);
		return;
	}
	if (q.transactional_id.len == 0) {
		init_respond(req, KERR_INVALID_REQUEST, NO_PRODUCER_ID, NO_PRODUCER_EPOCH);
		return;
	}
	struct metadata_store *ms = topics_registry(request_runtime(req))->store;
	int64_t id;
	if (metadata_store_producer_id_take(ms, &id) != 0) {
		/* Logged by the store; the producer may ask again. */
		init_respond(req, KERR_COORDINATOR_NOT_AVAILABLE, NO_PRODUCER_ID, NO_PRODUCER_EPOCH);
		return;
	}
	if (q.transactional_id.len < 0) {
		init_respond(req, KERR_NONE, id, 0);
		return;
	}
	struct init_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	*ctx = (struct init_ctx){
		.req = req,
		.args = { .transactional_id = q.transactional_id,
			  .timeout_ms = q.transaction_timeout_ms,
			  .producer_id = q.producer_id,
			  .producer_epoch = q.producer_epoch,
			  .fresh_producer_id = id },
		.reply = { .done = init_done },
	};
	req->handler_ctx = ctx;
	int16_t err;
	if (!txn_route_relay(req, q.transactional_id, init_here, &err))
		init_respond(req, err, NO_PRODUCER_ID, NO_PRODUCER_EPOCH);
}
