/* DescribeGroups (key 15), v0-v5: state, protocol and members of each group;
 * member metadata and assignments only once the group is Stable, as Kafka.
 * An unknown group is described as Dead with no error (v0-v5). */
#include "core/group_coordinator.h"
#include "core/handlers.h"
#include "core/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* Kafka's "not requested" value for authorized operations. */
static const int32_t AUTHORIZED_OPERATIONS_OMITTED = INT32_MIN;

static bool describe_one(struct request *req, struct kstr id,
			 struct describe_groups_response_described_group *out)
{
	describe_groups_response_described_group_init(out);
	out->group_id = id;
	out->authorized_operations = AUTHORIZED_OPERATIONS_OMITTED;
	out->group_state = kstr_from_cstr(group_state_name(GROUP_DEAD));
	if (id.len <= 0) {
		out->error_code = KERR_INVALID_GROUP_ID;
		return true;
	}
	int32_t partition;
	struct group_coordinator *gc = group_coordinator_route(request_broker(req), id, &partition,
							       &out->error_code);
	struct group *g = gc ? group_coordinator_find(gc, id) : NULL;
	if (!g)
		return true;
	out->group_state = kstr_from_cstr(group_state_name(g->state));
	out->protocol_type = kstr_from_cstr(g->protocol_type ? g->protocol_type : "");
	bool stable = g->state == GROUP_STABLE;
	out->protocol_data = kstr_from_cstr(stable && g->protocol_name ? g->protocol_name : "");
	if (g->state == GROUP_DEAD)
		return true;
	out->members = request_alloc(req, g->member_count + 1, sizeof(*out->members));
	if (!out->members)
		return false;
	int32_t n = 0;
	for (struct group_member *m = g->members; m; m = m->next) {
		struct describe_groups_response_described_group_member *o = &out->members[n++];
		describe_groups_response_described_group_member_init(o);
		o->member_id = kstr_from_cstr(m->id);
		o->group_instance_id = m->instance_id ? kstr_from_cstr(m->instance_id)
						      : (struct kstr){ NULL, -1 };
		o->client_id = kstr_from_cstr(m->client_id);
		o->client_host = kstr_from_cstr(m->client_host);
		if (!stable)
			continue;
		for (uint32_t i = 0; i < m->protocol_count; i++)
			if (g->protocol_name && strcmp(m->protocols[i].name, g->protocol_name) == 0)
				o->member_metadata = (struct kbytes){ m->protocols[i].metadata,
								      m->protocols[i].metadata_len };
		o->member_assignment = (struct kbytes){ m->assignment, m->assignment_len };
	}
	out->members_count = n;
	return true;
}

void handle_describe_groups(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_groups_request q;
	if (describe_groups_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct describe_groups_response r;
	describe_groups_response_init(&r);
	r.groups = request_alloc(req, (size_t)q.groups_count + 1, sizeof(*r.groups));
	bool ok = r.groups != NULL;
	r.groups_count = q.groups_count;
	for (int32_t i = 0; ok && i < q.groups_count; i++)
		ok = describe_one(req, q.groups[i], &r.groups[i]);
	if (!ok) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	size_t size = describe_groups_response_size(&r, version);
	describe_groups_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
}
