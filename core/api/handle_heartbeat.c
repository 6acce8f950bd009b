/* Heartbeat (key 12), v0-v4: keeps a member's session alive; tells it when a
 * rebalance has begun. */
#include "core/api/group_route.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_membership.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

void handle_heartbeat(struct request *req)
{
	int16_t version = req->header.api_version;
	struct heartbeat_request q;
	if (heartbeat_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct heartbeat_response r;
	heartbeat_response_init(&r);
	int32_t partition;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q.group_id,
							       &partition, &r.error_code);
	if (!group_route_here(req, gc))
		return;
	if (gc)
		r.error_code = group_heartbeat(gc, q.group_id, q.member_id,
					       version >= 3 ? q.group_instance_id : (struct kstr){ NULL, -1 },
					       q.generation_id);
	REQUEST_RESPOND(req, heartbeat, version, &r);
}
