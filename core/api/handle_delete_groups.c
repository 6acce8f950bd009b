/* DeleteGroups (key 42), v0-v2: removes empty groups and their offsets
 * (tombstones in __consumer_offsets); answers when every deletion is written.
 * The request visits each coordinating shard in turn (group_route.h) and
 * moves on once that shard's deletions are written. */
#include "core/group/group_coordinator.h"
#include "core/api/group_route.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct delete_ctx;

struct delete_one {
	struct group_done done;
	struct delete_ctx *ctx;
	int16_t error;
};

struct delete_ctx {
	struct request *req;
	struct delete_groups_request q;
	struct delete_one *parts;
	struct group_relay relay;
	int32_t pending;  /* this shard's deletions not yet written */
};

static void delete_respond(struct delete_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	struct delete_groups_response r;
	delete_groups_response_init(&r);
	r.results = request_alloc(req, (size_t)ctx->q.groups_names_count + 1, sizeof(*r.results));
	if (!r.results) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	r.results_count = ctx->q.groups_names_count;
	for (int32_t i = 0; i < r.results_count; i++) {
		delete_groups_response_deletable_group_result_init(&r.results[i]);
		r.results[i].group_id = ctx->q.groups_names[i];
		r.results[i].error_code = ctx->parts[i].error;
	}
	REQUEST_RESPOND(req, delete_groups, version, &r);
}

static void delete_continue(struct request *req);

/* This shard's deletions are written: on to the next shard, or answer. */
static void delete_shard_done(struct delete_ctx *ctx)
{
	uint32_t next = group_relay_next(&ctx->relay, ctx->req);
	if (next != GROUP_RELAY_NONE)
		request_relay(ctx->req, next, delete_continue);
	else
		delete_respond(ctx);
}

static void delete_one_done(struct group_done *d, int16_t err)
{
	struct delete_one *one = container_of(d, struct delete_one, done);
	one->error = err;
	if (--one->ctx->pending == 0)
		delete_shard_done(one->ctx);
}

/* Starts the deletions of the groups this shard coordinates. */
static void delete_continue(struct request *req)
{
	struct delete_ctx *ctx = req->handler_ctx;
	struct shard *here = request_shard(req);
	/* One extra count keeps the shard from finishing before the loop ends. */
	ctx->pending = 1;
	for (int32_t i = 0; i < ctx->q.groups_names_count; i++) {
		if (ctx->q.groups_names[i].len <= 0 || !group_relay_mine(&ctx->relay, req, i))
			continue;
		ctx->pending++;
		group_delete(group_coordinator_of(here), ctx->q.groups_names[i], &ctx->parts[i].done);
	}
	if (--ctx->pending == 0)
		delete_shard_done(ctx);
}

void handle_delete_groups(struct request *req)
{
	int16_t version = req->header.api_version;
	struct delete_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || delete_groups_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->parts = request_alloc(req, (size_t)ctx->q.groups_names_count + 1, sizeof(*ctx->parts));
	if (!ctx->parts || !group_relay_init(&ctx->relay, req, ctx->q.groups_names,
					     ctx->q.groups_names_count)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < ctx->q.groups_names_count; i++) {
		struct delete_one *one = &ctx->parts[i];
		one->ctx = ctx;
		one->done.fn = delete_one_done;
		if (ctx->q.groups_names[i].len <= 0)
			one->error = KERR_INVALID_GROUP_ID;
		else if (ctx->relay.owners[i] == GROUP_RELAY_NONE)
			one->error = ctx->relay.errors[i];
	}
	req->handler_ctx = ctx;
	delete_continue(req);
}
