/* LeaveGroup (key 13), v0-v5: one member (v0-v2) or a batch of members,
 * dynamic or static, leave at once and the group rebalances. */
#include "core/api/group_route.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_membership.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

void handle_leave_group(struct request *req)
{
	int16_t version = req->header.api_version;
	struct leave_group_request q;
	if (leave_group_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	uint32_t n = version >= 3 ? (uint32_t)q.members_count : 1;
	struct group_leave_member *lm = request_alloc(req, n + 1, sizeof(*lm));
	struct leave_group_response r;
	leave_group_response_init(&r);
	if (version >= 3) {
		r.members = request_alloc(req, n + 1, sizeof(*r.members));
		r.members_count = (int32_t)n;
	}
	if (!lm || (version >= 3 && !r.members)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	if (version >= 3) {
		for (uint32_t i = 0; i < n; i++)
			lm[i] = (struct group_leave_member){ q.members[i].member_id,
							     q.members[i].group_instance_id, 0 };
	} else {
		lm[0] = (struct group_leave_member){ q.member_id, { NULL, -1 }, 0 };
	}
	int32_t partition;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q.group_id,
							       &partition, &r.error_code);
	if (!group_route_here(req, gc))
		return;
	if (gc)
		r.error_code = group_leave(gc, q.group_id, lm, n);
	if (version < 3 && r.error_code == KERR_NONE)
		r.error_code = lm[0].error;
	for (int32_t i = 0; version >= 3 && i < r.members_count; i++) {
		leave_group_response_member_response_init(&r.members[i]);
		r.members[i].member_id = lm[i].member_id;
		r.members[i].group_instance_id = lm[i].instance_id;
		r.members[i].error_code = r.error_code != KERR_NONE ? r.error_code : lm[i].error;
	}
	REQUEST_RESPOND(req, leave_group, version, &r);
}
