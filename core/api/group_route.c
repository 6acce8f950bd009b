/* Forwarding a group's request to its coordinating shard, and visiting the
 * shards of several groups (see group_route.h). */
#include "core/api/group_route.h"

#include <stdio.h>
#include <string.h>

#include "core/group/group_coordinator.h"
#include "core/net/request.h"
#include "core/shard/shard.h"

bool group_route_here(struct request *req, const struct group_coordinator *gc)
{
	if (!gc || gc->shard == request_shard(req))
		return true;
	request_forward(req, gc->shard->id);
	return false;
}

bool group_relay_init(struct group_relay *gr, struct request *req, const struct kstr *ids,
		      int32_t count)
{
	gr->count = count > 0 ? count : 0;
	gr->owners = request_alloc(req, (size_t)gr->count + 1, sizeof(*gr->owners));
	gr->errors = request_alloc(req, (size_t)gr->count + 1, sizeof(*gr->errors));
	if (!gr->owners || !gr->errors)
		return false;
	for (int32_t i = 0; i < gr->count; i++) {
		int32_t partition;
		struct group_coordinator *gc = group_coordinator_route(request_runtime(req), ids[i],
								       &partition, &gr->errors[i]);
		gr->owners[i] = gc ? gc->shard->id : GROUP_RELAY_NONE;
	}
	return true;
}

bool group_relay_mine(const struct group_relay *gr, const struct request *req, int32_t i)
{
	return gr->owners[i] == request_shard(req)->id;
}

uint32_t group_relay_next(const struct group_relay *gr, const struct request *req)
{
	uint32_t here = request_shard(req)->id;
	uint32_t next = GROUP_RELAY_NONE;
	for (int32_t i = 0; i < gr->count; i++)
		if (gr->owners[i] != GROUP_RELAY_NONE && gr->owners[i] > here && gr->owners[i] < next)
			next = gr->owners[i];
	return next;
}

void group_client_host(const struct conn *c, char *out, size_t cap)
{
	const char *colon = strrchr(c->peer, ':');
	int len = colon ? (int)(colon - c->peer) : (int)strlen(c->peer);
	snprintf(out, cap, "/%.*s", len, c->peer);
}
