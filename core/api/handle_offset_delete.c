/* OffsetDelete (key 47), v0: removes a group's committed offsets for
 * partitions its members do not subscribe to (all of them when it is empty). */
#include "core/api/group_route.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_offsets.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct offset_delete_ctx {
	struct group_done done;
	struct request *req;
	struct offset_delete_request q;
	struct group_offset_delete_partition *parts;
};

static void offset_delete_respond(struct group_done *d, int16_t err)
{
	struct offset_delete_ctx *ctx = container_of(d, struct offset_delete_ctx, done);
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	const struct offset_delete_request *q = &ctx->q;
	struct offset_delete_response r;
	offset_delete_response_init(&r);
	r.error_code = err;
	if (err == KERR_NONE) {
		r.topics = request_alloc(req, (size_t)q->topics_count + 1, sizeof(*r.topics));
		if (!r.topics) {
			req->body.err = RC_ALLOC;
			request_reject_malformed(req);
			return;
		}
		r.topics_count = q->topics_count;
		size_t k = 0;
		for (int32_t i = 0; i < q->topics_count; i++) {
			struct offset_delete_response_offset_delete_response_topic *t = &r.topics[i];
			offset_delete_response_offset_delete_response_topic_init(t);
			t->name = q->topics[i].name;
			t->partitions = request_alloc(req, (size_t)q->topics[i].partitions_count + 1,
						      sizeof(*t->partitions));
			if (!t->partitions) {
				req->body.err = RC_ALLOC;
				request_reject_malformed(req);
				return;
			}
			t->partitions_count = q->topics[i].partitions_count;
			for (int32_t j = 0; j < t->partitions_count; j++, k++) {
				offset_delete_response_offset_delete_response_partition_init(&t->partitions[j]);
				t->partitions[j].partition_index = ctx->parts[k].partition;
				t->partitions[j].error_code = ctx->parts[k].error;
			}
		}
	}
	REQUEST_RESPOND(req, offset_delete, version, &r);
}

void handle_offset_delete(struct request *req)
{
	int16_t version = req->header.api_version;
	struct offset_delete_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || offset_delete_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	const struct offset_delete_request *q = &ctx->q;
	ctx->req = req;
	ctx->done.fn = offset_delete_respond;
	size_t n = 0;
	for (int32_t i = 0; i < q->topics_count; i++)
		n += (size_t)q->topics[i].partitions_count;
	ctx->parts = request_alloc(req, n + 1, sizeof(*ctx->parts));
	if (!ctx->parts) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	size_t k = 0;
	for (int32_t i = 0; i < q->topics_count; i++)
		for (int32_t j = 0; j < q->topics[i].partitions_count; j++)
			ctx->parts[k++] = (struct group_offset_delete_partition){
				.topic = q->topics[i].name,
				.partition = q->topics[i].partitions[j].partition_index,
			};
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q->group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!gc) {
		offset_delete_respond(&ctx->done, err);
		return;
	}
	group_offset_delete(gc, q->group_id, ctx->parts, (uint32_t)n, &ctx->done);
}
