/* DeleteRecords (key 21), v0-v2: moves each partition's log start offset up
 * to the requested offset (-1: the high watermark) and removes the segments
 * wholly below it (partition_log.h). The connection's shard resolves the
 * topics and sends each io shard the partitions it owns; the owner looks each
 * one up again in its own image (the topic may have been deleted since),
 * applies it, and returns the call. On a single node the new low watermark
 * is known at once, so timeout_ms never runs out. */
#include "core/api/handlers.h"
#include "core/log/partition_log.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* Kafka's DeleteRecordsResponse.INVALID_LOW_WATERMARK. */
static const int64_t DELETE_RECORDS_NO_LOW_WATERMARK = -1;

/* One partition, queued for its owner. */
struct delete_records_slot {
	struct delete_records_slot *next;
	struct kstr topic;
	const struct delete_records_request_delete_records_partition *in;
	struct delete_records_response_delete_records_partition_result *out;
};

struct delete_records_shard {
	struct shard_call call;
	struct delete_records_ctx *ctx;
	struct delete_records_slot *slots;
};

struct delete_records_ctx {
	struct request *req;
	struct delete_records_response resp;
	struct delete_records_shard *shards; /* per io shard */
	uint32_t pending;
};

/* On the owning shard. */
static void delete_records_partition(struct shard *s, struct delete_records_slot *slot)
{
	struct topic *t = topics_lookup(s->rt, slot->topic);
	struct partition *p = t ? topic_partition(t, slot->in->partition_index) : NULL;
	if (!p || p->shard != s->id) {
		slot->out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (!p->log) {
		slot->out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	slot->out->error_code = partition_log_delete_records(p->log, slot->in->offset,
							     &slot->out->low_watermark);
}

static void delete_records_shard_run(struct shard_call *call)
{
	struct delete_records_shard *ds = container_of(call, struct delete_records_shard, call);
	for (struct delete_records_slot *slot = ds->slots; slot; slot = slot->next)
		delete_records_partition(call->target, slot);
	shard_call_return(call);
}

static void delete_records_respond(struct delete_records_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, delete_records, version, &ctx->resp);
}

static void delete_records_shard_done(struct shard_call *call)
{
	struct delete_records_shard *ds = container_of(call, struct delete_records_shard, call);
	if (--ds->ctx->pending == 0)
		delete_records_respond(ds->ctx);
}

/* Answers what the connection's shard knows (an unknown topic or partition)
 * and queues the rest for the owner. */
static void delete_records_route(struct delete_records_ctx *ctx, struct topic *t, struct kstr topic,
				 const struct delete_records_request_delete_records_partition *in,
				 struct delete_records_response_delete_records_partition_result *out,
				 struct delete_records_slot *slot)
{
	delete_records_response_delete_records_partition_result_init(out);
	out->partition_index = in->partition_index;
	out->low_watermark = DELETE_RECORDS_NO_LOW_WATERMARK;
	struct partition *p = t ? topic_partition(t, in->partition_index) : NULL;
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	struct delete_records_shard *ds = &ctx->shards[p->shard];
	slot->topic = topic;
	slot->in = in;
	slot->out = out;
	slot->next = ds->slots;
	ds->slots = slot;
}

void handle_delete_records(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct delete_records_request q;
	struct delete_records_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || delete_records_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	struct delete_records_response *r = &ctx->resp;
	delete_records_response_init(r);
	r->topics = request_alloc(req, (size_t)q.topics_count + 1, sizeof(*r->topics));
	ctx->shards = request_alloc(req, rt->io_shards, sizeof(*ctx->shards));
	if (!r->topics || !ctx->shards)
		goto no_memory;
	r->topics_count = q.topics_count;
	for (int32_t i = 0; i < q.topics_count; i++) {
		const struct delete_records_request_delete_records_topic *qt = &q.topics[i];
		struct delete_records_response_delete_records_topic_result *tr = &r->topics[i];
		delete_records_response_delete_records_topic_result_init(tr);
		tr->name = qt->name;
		tr->partitions = request_alloc(req, (size_t)qt->partitions_count + 1,
					       sizeof(*tr->partitions));
		struct delete_records_slot *slots = request_alloc(req, (size_t)qt->partitions_count + 1,
								  sizeof(*slots));
		if (!tr->partitions || !slots)
			goto no_memory;
		tr->partitions_count = qt->partitions_count;
		struct topic *t = topics_lookup(rt, qt->name);
		for (int32_t j = 0; j < qt->partitions_count; j++)
			delete_records_route(ctx, t, qt->name, &qt->partitions[j], &tr->partitions[j],
					     &slots[j]);
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct delete_records_shard *ds = &ctx->shards[k];
		ds->ctx = ctx;
		ds->call = (struct shard_call){ .origin = request_shard(req), .target = &rt->shards[k],
						.run = ds->slots ? delete_records_shard_run : NULL,
						.done = delete_records_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), rt->io_shards,
				   &ctx->pending))
		delete_records_respond(ctx);
	return;
no_memory:
	req->body.err = RC_ALLOC;
	request_reject_malformed(req);
}
