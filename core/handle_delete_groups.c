/* DeleteGroups (key 42), v0-v2: removes empty groups and their offsets
 * (tombstones in __consumer_offsets); answers when every deletion is written. */
#include "core/group_coordinator.h"
#include "core/handlers.h"
#include "core/request.h"
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
	int32_t pending;
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
	size_t size = delete_groups_response_size(&r, version);
	delete_groups_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
}

static void delete_one_done(struct group_done *d, int16_t err)
{
	struct delete_one *one = container_of(d, struct delete_one, done);
	one->error = err;
	if (--one->ctx->pending == 0)
		delete_respond(one->ctx);
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
	if (!ctx->parts) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	/* One extra count keeps the response from leaving before the loop ends. */
	ctx->pending = ctx->q.groups_names_count + 1;
	for (int32_t i = 0; i < ctx->q.groups_names_count; i++) {
		struct delete_one *one = &ctx->parts[i];
		struct kstr id = ctx->q.groups_names[i];
		one->ctx = ctx;
		one->done.fn = delete_one_done;
		int32_t partition;
		int16_t err;
		struct group_coordinator *gc = id.len > 0
			? group_coordinator_route(request_broker(req), id, &partition, &err) : NULL;
		if (gc)
			group_delete(gc, id, &one->done);
		else
			delete_one_done(&one->done, id.len > 0 ? err : KERR_INVALID_GROUP_ID);
	}
	if (--ctx->pending == 0)
		delete_respond(ctx);
}
