/* OffsetCommit (key 8), v0-v9: validates the committer against the group,
 * writes the offsets to __consumer_offsets and answers once they are durable
 * in the log. */
#include "core/api/group_route.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_offsets.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct commit_ctx {
	struct group_done done;
	struct request *req;
	struct offset_commit_request q;
	struct group_commit_args args;
};

static void commit_respond(struct group_done *d, int16_t err)
{
	struct commit_ctx *ctx = container_of(d, struct commit_ctx, done);
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	const struct offset_commit_request *q = &ctx->q;
	struct offset_commit_response r;
	offset_commit_response_init(&r);
	r.topics = request_alloc(req, (size_t)q->topics_count + 1, sizeof(*r.topics));
	if (!r.topics) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	r.topics_count = q->topics_count;
	uint32_t k = 0;
	for (int32_t i = 0; i < q->topics_count; i++) {
		struct offset_commit_response_offset_commit_response_topic *rt = &r.topics[i];
		offset_commit_response_offset_commit_response_topic_init(rt);
		rt->name = q->topics[i].name;
		rt->partitions = request_alloc(req, (size_t)q->topics[i].partitions_count + 1,
					       sizeof(*rt->partitions));
		if (!rt->partitions) {
			req->body.err = RC_ALLOC;
			request_reject_malformed(req);
			return;
		}
		rt->partitions_count = q->topics[i].partitions_count;
		for (int32_t j = 0; j < rt->partitions_count; j++, k++) {
			offset_commit_response_offset_commit_response_partition_init(&rt->partitions[j]);
			rt->partitions[j].partition_index = q->topics[i].partitions[j].partition_index;
			rt->partitions[j].error_code = err != KERR_NONE ? err : ctx->args.parts[k].error;
		}
	}
	REQUEST_RESPOND(req, offset_commit, version, &r);
}

void handle_offset_commit(struct request *req)
{
	int16_t version = req->header.api_version;
	struct commit_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || offset_commit_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	const struct offset_commit_request *q = &ctx->q;
	ctx->req = req;
	ctx->done.fn = commit_respond;
	size_t n = 0;
	for (int32_t i = 0; i < q->topics_count; i++)
		n += (size_t)q->topics[i].partitions_count;
	struct group_commit_partition *parts = request_alloc(req, n + 1, sizeof(*parts));
	if (!parts) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	size_t k = 0;
	for (int32_t i = 0; i < q->topics_count; i++) {
		for (int32_t j = 0; j < q->topics[i].partitions_count; j++) {
			const struct offset_commit_request_offset_commit_request_partition *p =
				&q->topics[i].partitions[j];
			parts[k++] = (struct group_commit_partition){
				.topic = q->topics[i].name,
				.partition = p->partition_index,
				.offset = p->committed_offset,
				.leader_epoch = p->committed_leader_epoch,
				.commit_timestamp = version == 1 ? p->commit_timestamp : -1,
				.metadata = p->committed_metadata,
			};
		}
	}
	ctx->args = (struct group_commit_args){
		.group_id = q->group_id,
		.member_id = q->member_id,
		.instance_id = version >= 7 ? q->group_instance_id : (struct kstr){ NULL, -1 },
		.generation = q->generation_id_or_member_epoch,
		.retention_ms = version >= 2 && version <= 4 ? q->retention_time_ms : -1,
		.count = (uint32_t)n,
		.parts = parts,
	};
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q->group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!gc) {
		commit_respond(&ctx->done, err);
		return;
	}
	group_commit(gc, partition, &ctx->args, &ctx->done);
}
