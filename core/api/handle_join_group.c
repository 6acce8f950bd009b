/* JoinGroup (key 11), v0-v9: decodes the member's subscription offer, hands it
 * to the group's coordinator and answers when the rebalance completes (or at
 * once with an error or MEMBER_ID_REQUIRED). */
#include <stdio.h>
#include <string.h>

#include "core/net/conn.h"
#include "core/api/group_route.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_membership.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct join_ctx {
	struct group_join_waiter waiter;
	struct request *req;
	struct kstr requested_member_id; /* a view into the request's body */
	char client_host[GROUP_CLIENT_HOST_BYTES];
};

static struct kstr join_opt_str(struct kstr s, bool nullable)
{
	if (s.len >= 0)
		return s;
	return nullable ? KSTR_NULL : kstr_from_cstr("");
}

static void join_respond(struct group_join_waiter *w, const struct group_join_result *res)
{
	struct join_ctx *ctx = container_of(w, struct join_ctx, waiter);
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	struct join_group_response r;
	join_group_response_init(&r);
	r.error_code = res->error;
	r.generation_id = res->generation;
	r.protocol_type = join_opt_str(res->protocol_type, true);
	r.protocol_name = join_opt_str(res->protocol_name, version >= 7);
	r.leader = res->leader;
	r.member_id = res->member_id;
	/* An error for a member the coordinator does not know echoes the id the
	 * request gave, as Kafka does. */
	if (res->error != KERR_NONE && res->member_id.len <= 0)
		r.member_id = ctx->requested_member_id;
	r.skip_assignment = res->skip_assignment;
	if (res->member_count) {
		r.members = request_alloc(req, res->member_count, sizeof(*r.members));
		if (!r.members) {
			/* The member list outgrew the request's arena bound. */
			r.error_code = KERR_GROUP_MAX_SIZE_REACHED;
		} else {
			r.members_count = (int32_t)res->member_count;
			for (uint32_t i = 0; i < res->member_count; i++) {
				struct join_group_response_join_group_response_member *m = &r.members[i];
				join_group_response_join_group_response_member_init(m);
				m->member_id = res->members[i].member_id;
				m->group_instance_id = join_opt_str(res->members[i].instance_id, true);
				m->metadata = res->members[i].metadata;
			}
		}
	}
	REQUEST_RESPOND(req, join_group, version, &r);
}

void handle_join_group(struct request *req)
{
	int16_t version = req->header.api_version;
	struct join_group_request q;
	struct join_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || join_group_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->requested_member_id = q.member_id;
	ctx->waiter.done = join_respond;
	group_client_host(req->conn, ctx->client_host, sizeof(ctx->client_host));
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q.group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!gc) {
		struct group_join_result res = { .error = err, .generation = -1,
						 .protocol_type = KSTR_NULL, .protocol_name = KSTR_NULL,
						 .leader = kstr_from_cstr(""),
						 .member_id = kstr_from_cstr("") };
		join_respond(&ctx->waiter, &res);
		return;
	}
	struct group_join_protocol *protocols =
		request_alloc(req, (size_t)q.protocols_count + 1, sizeof(*protocols));
	if (!protocols) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < q.protocols_count; i++)
		protocols[i] = (struct group_join_protocol){ q.protocols[i].name, q.protocols[i].metadata };
	struct group_join_args a = {
		.group_id = q.group_id,
		.member_id = q.member_id,
		.instance_id = version >= 5 ? q.group_instance_id : (struct kstr){ NULL, -1 },
		.protocol_type = q.protocol_type,
		.client_id = req->header.client_id,
		.reason = q.reason,
		.client_host = ctx->client_host,
		.session_timeout_ms = q.session_timeout_ms,
		/* v0 has no rebalance timeout: Kafka uses the session timeout. */
		.rebalance_timeout_ms = q.rebalance_timeout_ms >= 0 ? q.rebalance_timeout_ms
								    : q.session_timeout_ms,
		.version = version,
		.protocol_count = (uint32_t)q.protocols_count,
		.protocols = protocols,
	};
	group_join(gc, partition, &a, &ctx->waiter);
}
