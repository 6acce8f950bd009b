/* DescribeGroups (key 15), v0-v5: state, protocol and members of each group;
 * member metadata and assignments only once the group is Stable, as Kafka.
 * An unknown group is described as Dead with no error (v0-v5). */
#include "core/group/group_coordinator.h"
#include "core/api/group_route.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* Kafka's "not requested" value for authorized operations. */
static const int32_t AUTHORIZED_OPERATIONS_OMITTED = INT32_MIN;

struct describe_ctx {
	struct describe_groups_request q;
	struct describe_groups_response r;
	struct group_relay relay;
};

/* On the group's shard: everything taken from the group is copied, since
 * the response is encoded on the last shard the request visits. */
static void describe_one(struct request *req, struct group_coordinator *gc, struct kstr id,
			 struct describe_groups_response_described_group *out)
{
	struct group *g = group_coordinator_find(gc, id);
	if (!g)
		return;
	if (g->type == GROUP_TYPE_CONSUMER) {
		/* Kafka describes consumer-protocol groups with
		 * ConsumerGroupDescribe only. */
		out->error_code = KERR_GROUP_ID_NOT_FOUND;
		return;
	}
	out->group_state = kstr_from_cstr(group_state_name(g->state));
	out->protocol_type = g->protocol_type.len >= 0 ? request_copy_kstr(req, g->protocol_type)
						       : kstr_from_cstr("");
	bool stable = g->state == GROUP_STABLE;
	out->protocol_data = stable && g->protocol_name.len >= 0
		? request_copy_kstr(req, g->protocol_name) : kstr_from_cstr("");
	if (g->state == GROUP_DEAD)
		return;
	out->members = request_alloc(req, g->member_count + 1, sizeof(*out->members));
	if (!out->members) {
		req->body.err = RC_ALLOC;
		return;
	}
	int32_t n = 0;
	for (struct group_member *m = g->members; m; m = m->next) {
		struct describe_groups_response_described_group_member *o = &out->members[n++];
		describe_groups_response_described_group_member_init(o);
		o->member_id = request_copy_kstr(req, m->id);
		o->group_instance_id = request_copy_kstr(req, m->instance_id);
		o->client_id = request_copy_kstr(req, m->client_id);
		o->client_host = request_copy_kstr(req, m->client_host);
		if (!stable)
			continue;
		for (uint32_t i = 0; i < m->protocol_count; i++)
			if (g->protocol_name.len >= 0 && kstr_eq(m->protocols[i].name, g->protocol_name))
				o->member_metadata = request_copy_bytes(req, m->protocols[i].metadata,
									(int32_t)m->protocols[i].metadata_len);
		o->member_assignment = request_copy_bytes(req, m->assignment,
							  (int32_t)m->assignment_len);
	}
	out->members_count = n;
}

/* Describes the groups this shard coordinates, then goes on to the next
 * shard or answers. */
static void describe_continue(struct request *req)
{
	struct describe_ctx *ctx = req->handler_ctx;
	struct shard *here = request_shard(req);
	for (int32_t i = 0; i < ctx->q.groups_count && req->body.err == RC_OK; i++)
		if (ctx->q.groups[i].len > 0 && group_relay_mine(&ctx->relay, req, i))
			describe_one(req, group_coordinator_of(here), ctx->q.groups[i], &ctx->r.groups[i]);
	if (req->body.err != RC_OK) {
		request_reject_malformed(req);
		return;
	}
	uint32_t next = group_relay_next(&ctx->relay, req);
	if (next != GROUP_RELAY_NONE) {
		request_relay(req, next, describe_continue);
		return;
	}
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, describe_groups, version, &ctx->r);
}

void handle_describe_groups(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || describe_groups_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct describe_groups_response *r = &ctx->r;
	describe_groups_response_init(r);
	r->groups = request_alloc(req, (size_t)ctx->q.groups_count + 1, sizeof(*r->groups));
	if (!r->groups || !group_relay_init(&ctx->relay, req, ctx->q.groups, ctx->q.groups_count)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	r->groups_count = ctx->q.groups_count;
	for (int32_t i = 0; i < r->groups_count; i++) {
		struct describe_groups_response_described_group *out = &r->groups[i];
		struct kstr id = ctx->q.groups[i];
		describe_groups_response_described_group_init(out);
		out->group_id = id;
		out->authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
		/* An unknown group is Dead, without error. */
		out->group_state = kstr_from_cstr(group_state_name(GROUP_DEAD));
		if (id.len <= 0)
			out->error_code = KERR_INVALID_GROUP_ID;
		else if (ctx->relay.owners[i] == GROUP_RELAY_NONE)
			out->error_code = ctx->relay.errors[i];
	}
	req->handler_ctx = ctx;
	describe_continue(req);
}
