/* ListOffsets (key 2), v1-v10: earliest, latest, max timestamp, and the first
 * offset at or after a timestamp (through the time index). The connection's
 * shard resolves the topics and asks each io shard about the partitions it
 * owns. */
#include "core/broker.h"
#include "core/handlers.h"
#include "core/partition_log.h"
#include "core/request.h"
#include "core/shard.h"
#include "core/shard_call.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum {
	LIST_OFFSETS_LATEST = -1,
	LIST_OFFSETS_EARLIEST = -2,
	LIST_OFFSETS_MAX_TIMESTAMP = -3,
	LIST_OFFSETS_EARLIEST_LOCAL = -4,
	LIST_OFFSETS_LATEST_TIERED = -5,
};

struct list_offsets_ctx;

/* One partition to answer, queued for its owner. */
struct list_offsets_slot {
	struct list_offsets_slot *next;
	struct partition *partition;
	const struct list_offsets_request_list_offsets_partition *in;
	struct list_offsets_response_list_offsets_partition_response *out;
};

struct list_offsets_shard {
	struct shard_call call;
	struct list_offsets_ctx *ctx;
	struct list_offsets_slot *slots;
};

struct list_offsets_ctx {
	struct request *req;
	struct list_offsets_response resp;
	struct list_offsets_shard *shards; /* per io shard */
	uint32_t pending;
};

/* On the owning shard. */
static void list_offsets_partition(struct list_offsets_slot *slot)
{
	const struct list_offsets_request_list_offsets_partition *in = slot->in;
	struct list_offsets_response_list_offsets_partition_response *out = slot->out;
	struct partition_log *log = slot->partition->log;
	if (!log || partition_log_offline(log)) {
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	out->leader_epoch = 0;
	switch (in->timestamp) {
	case LIST_OFFSETS_LATEST:
		out->offset = partition_log_high_watermark(log);
		break;
	case LIST_OFFSETS_EARLIEST:
	case LIST_OFFSETS_EARLIEST_LOCAL:
		out->offset = partition_log_start_offset(log);
		break;
	case LIST_OFFSETS_MAX_TIMESTAMP:
		partition_log_max_timestamp(log, &out->offset, &out->timestamp);
		break;
	case LIST_OFFSETS_LATEST_TIERED:
		/* Nothing is tiered: there is no such offset. */
		break;
	default:
		if (in->timestamp < 0) {
			out->error_code = KERR_INVALID_REQUEST;
			break;
		}
		partition_log_offset_for_time(log, in->timestamp, &out->offset, &out->timestamp);
		break;
	}
}

static void list_offsets_shard_run(struct shard_call *call)
{
	struct list_offsets_shard *ls = container_of(call, struct list_offsets_shard, call);
	for (struct list_offsets_slot *slot = ls->slots; slot; slot = slot->next)
		list_offsets_partition(slot);
	shard_call_return(call);
}

static void list_offsets_respond(struct list_offsets_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	size_t size = list_offsets_response_size(&ctx->resp, version);
	list_offsets_response_encode(request_response_begin(req, size, 0, 0), version, &ctx->resp);
	request_finish(req);
}

static void list_offsets_shard_done(struct shard_call *call)
{
	struct list_offsets_shard *ls = container_of(call, struct list_offsets_shard, call);
	if (--ls->ctx->pending == 0)
		list_offsets_respond(ls->ctx);
}

/* Fills what the connection's shard knows and queues the rest. */
static void list_offsets_route(struct list_offsets_ctx *ctx, struct topic *t,
			       const struct list_offsets_request_list_offsets_partition *in,
			       struct list_offsets_response_list_offsets_partition_response *out,
			       struct list_offsets_slot *slot)
{
	list_offsets_response_list_offsets_partition_response_init(out);
	out->partition_index = in->partition_index;
	out->timestamp = -1;
	out->offset = -1;
	struct partition *p = t ? topic_partition(t, in->partition_index) : NULL;
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	struct list_offsets_shard *ls = &ctx->shards[p->shard];
	slot->partition = p;
	slot->in = in;
	slot->out = out;
	slot->next = ls->slots;
	ls->slots = slot;
}

void handle_list_offsets(struct request *req)
{
	struct broker *b = request_broker(req);
	int16_t version = req->header.api_version;
	struct list_offsets_request q;
	struct list_offsets_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || list_offsets_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	struct list_offsets_response *r = &ctx->resp;
	list_offsets_response_init(r);
	r->topics = request_alloc(req, (size_t)q.topics_count + 1, sizeof(*r->topics));
	ctx->shards = request_alloc(req, b->io_shards, sizeof(*ctx->shards));
	if (!r->topics || !ctx->shards)
		goto no_memory;
	r->topics_count = q.topics_count;
	for (int32_t i = 0; i < q.topics_count; i++) {
		const struct list_offsets_request_list_offsets_topic *qt = &q.topics[i];
		struct list_offsets_response_list_offsets_topic_response *rt = &r->topics[i];
		list_offsets_response_list_offsets_topic_response_init(rt);
		rt->name = qt->name;
		rt->partitions = request_alloc(req, (size_t)qt->partitions_count + 1,
					       sizeof(*rt->partitions));
		if (!rt->partitions)
			goto no_memory;
		struct list_offsets_slot *slots = request_alloc(req, (size_t)qt->partitions_count + 1,
								sizeof(*slots));
		if (!slots)
			goto no_memory;
		rt->partitions_count = qt->partitions_count;
		struct topic *t = topics_lookup(b, qt->name);
		for (int32_t j = 0; j < qt->partitions_count; j++)
			list_offsets_route(ctx, t, &qt->partitions[j], &rt->partitions[j], &slots[j]);
	}
	for (uint32_t k = 0; k < b->io_shards; k++) {
		struct list_offsets_shard *ls = &ctx->shards[k];
		ls->ctx = ctx;
		ls->call = (struct shard_call){ .origin = request_shard(req), .target = &b->shards[k],
						.run = ls->slots ? list_offsets_shard_run : NULL,
						.done = list_offsets_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), b->io_shards,
				   &ctx->pending))
		list_offsets_respond(ctx);
	return;
no_memory:
	req->body.err = RC_ALLOC;
	request_reject_malformed(req);
}
