/* SyncGroup (key 14), v0-v5: the leader's assignment goes to the coordinator;
 * every member is answered with its own share once it is persisted. */
#include "core/api/group_route.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_membership.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct sync_ctx {
	struct group_sync_waiter waiter;
	struct request *req;
};

static void sync_respond(struct group_sync_waiter *w, const struct group_sync_result *res)
{
	struct sync_ctx *ctx = container_of(w, struct sync_ctx, waiter);
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	struct sync_group_response r;
	sync_group_response_init(&r);
	r.error_code = res->error;
	r.protocol_type = res->protocol_type;
	r.protocol_name = res->protocol_name;
	r.assignment = res->assignment.len >= 0 ? res->assignment : (struct kbytes){ NULL, 0 };
	REQUEST_RESPOND(req, sync_group, version, &r);
}

void handle_sync_group(struct request *req)
{
	int16_t version = req->header.api_version;
	struct sync_group_request q;
	struct sync_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || sync_group_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->waiter.done = sync_respond;
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q.group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!gc) {
		struct group_sync_result res = { .error = err, .protocol_type = KSTR_NULL,
						 .protocol_name = KSTR_NULL };
		sync_respond(&ctx->waiter, &res);
		return;
	}
	struct group_sync_assignment *as =
		request_alloc(req, (size_t)q.assignments_count + 1, sizeof(*as));
	if (!as) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < q.assignments_count; i++)
		as[i] = (struct group_sync_assignment){ q.assignments[i].member_id,
							 q.assignments[i].assignment };
	struct group_sync_args a = {
		.group_id = q.group_id,
		.member_id = q.member_id,
		.instance_id = version >= 3 ? q.group_instance_id : (struct kstr){ NULL, -1 },
		.protocol_type = version >= 5 ? q.protocol_type : (struct kstr){ NULL, -1 },
		.protocol_name = version >= 5 ? q.protocol_name : (struct kstr){ NULL, -1 },
		.generation = q.generation_id,
		.assignment_count = (uint32_t)q.assignments_count,
		.assignments = as,
	};
	group_sync(gc, &a, &ctx->waiter);
}
