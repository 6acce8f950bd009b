/* ConsumerGroupHeartbeat (key 68), v0-v1: a KIP-848 member joins, heartbeats,
 * leaves and learns its assignment; served on the shard coordinating the
 * group (core/group/group_consumer.h). */
#include <stdio.h>

#include "core/api/group_route.h"
#include "core/api/handlers.h"
#include "core/group/group_consumer.h"
#include "core/group/group_coordinator.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct heartbeat_ctx {
	struct group_consumer_waiter waiter;
	struct request *req;
	struct cg_assignment owned;
	char client_host[GROUP_CLIENT_HOST_BYTES];
};

/* The member's partitions by topic, in the answer's form; false when out of
 * the request's memory. */
static bool assignment_out(struct request *req, const struct cg_assignment *a,
			   struct consumer_group_heartbeat_response_assignment *out)
{
	struct cg_topic_partitions *topics;
	int32_t count;
	if (cg_assignment_to_records(a, false, &req->arena, &topics, &count) != 0)
		return false;
	out->topic_partitions = request_alloc(req, (size_t)count + 1, sizeof(*out->topic_partitions));
	if (!out->topic_partitions)
		return false;
	for (int32_t i = 0; i < count; i++)
		out->topic_partitions[i] = (struct consumer_group_heartbeat_response_topic_partitions){
			topics[i].topic_id, topics[i].partition_count, topics[i].partitions };
	out->topic_partitions_count = count;
	return true;
}

static void heartbeat_respond(struct group_consumer_waiter *w, const struct group_consumer_answer *a)
{
	struct heartbeat_ctx *ctx = container_of(w, struct heartbeat_ctx, waiter);
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	struct consumer_group_heartbeat_response r;
	consumer_group_heartbeat_response_init(&r);
	r.error_code = a->error;
	if (a->message)
		r.error_message = request_copy_kstr(req, kstr_from_cstr(a->message));
	if (a->error == KERR_NONE) {
		r.member_id = request_copy_kstr(req, a->member_id);
		r.member_epoch = a->member_epoch;
		r.heartbeat_interval_ms = a->heartbeat_interval_ms;
		if (a->assignment) {
			if (!assignment_out(req, a->assignment, &r.assignment)) {
				req->body.err = RC_ALLOC;
				cg_assignment_free(&ctx->owned);
				request_reject_malformed(req);
				return;
			}
			r.assignment_present = true;
		}
	}
	cg_assignment_free(&ctx->owned);
	REQUEST_RESPOND(req, consumer_group_heartbeat, version, &r);
}

/* The owned partitions as a set; false when out of memory. */
static bool owned_in(struct request *req, const struct consumer_group_heartbeat_request *q,
		     struct cg_assignment *out)
{
	int32_t n = 0;
	for (int32_t i = 0; i < q->topic_partitions_count; i++)
		n += q->topic_partitions[i].partitions_count;
	struct cg_tp *tps = request_alloc(req, (size_t)n + 1, sizeof(*tps));
	if (!tps)
		return false;
	int32_t k = 0;
	for (int32_t i = 0; i < q->topic_partitions_count; i++)
		for (int32_t p = 0; p < q->topic_partitions[i].partitions_count; p++)
			tps[k++] = (struct cg_tp){ q->topic_partitions[i].topic_id,
						   q->topic_partitions[i].partitions[p], CG_EPOCH_NONE };
	return cg_assignment_from_unsorted(out, tps, n) == 0;
}

void handle_consumer_group_heartbeat(struct request *req)
{
	int16_t version = req->header.api_version;
	struct consumer_group_heartbeat_request q;
	struct heartbeat_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || consumer_group_heartbeat_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->waiter.done = heartbeat_respond;
	cg_assignment_init(&ctx->owned);
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q.group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!gc) {
		struct group_consumer_answer a = { .error = err, .member_id = { NULL, -1 } };
		heartbeat_respond(&ctx->waiter, &a);
		return;
	}
	bool owned_given = q.topic_partitions_count >= 0;
	if (owned_given && !owned_in(req, &q, &ctx->owned)) {
		struct group_consumer_answer a = { .error = KERR_UNKNOWN_SERVER_ERROR,
						   .message = "out of memory", .member_id = { NULL, -1 } };
		heartbeat_respond(&ctx->waiter, &a);
		return;
	}
	group_client_host(req->conn, ctx->client_host, sizeof(ctx->client_host));
	struct cgroup_heartbeat_args a = {
		.version = version,
		.member_id = q.member_id,
		.member_epoch = q.member_epoch,
		.instance_id = q.instance_id,
		.rack_id = q.rack_id,
		.rebalance_timeout_ms = q.rebalance_timeout_ms,
		.topic_names = q.subscribed_topic_names,
		.topic_name_count = q.subscribed_topic_names_count,
		.topic_regex = version >= 1 ? q.subscribed_topic_regex : (struct kstr){ NULL, -1 },
		.server_assignor = q.server_assignor,
		.owned = owned_given ? &ctx->owned : NULL,
		.owned_topic_count = owned_given ? q.topic_partitions_count : 0,
		.client_id = req->header.client_id,
		.client_host = kstr_from_cstr(ctx->client_host),
	};
	group_consumer_heartbeat(gc, q.group_id, partition, &a, &ctx->waiter);
}
