/* OffsetForLeaderEpoch (key 23), v2-v4: per partition, the end offset of the
 * largest leader epoch at or below the one asked (Kafka's
 * LeaderEpochFileCache.endOffsetFor, partition_log.h), which consumers use to
 * detect truncation after a leader change (KIP-320). A current_leader_epoch
 * other than -1 is checked first against the partition's epoch: older answers
 * FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. The leader answers every
 * replica_id alike (consumers send -1, followers their id), as Kafka's does.
 * The connection's shard resolves the topics and sends each io shard the
 * partitions it owns; the owner looks each one up again in its own image. */
#include "core/api/handlers.h"
#include "core/log/partition_log.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* One partition, queued for its owner. */
struct epoch_slot {
	struct epoch_slot *next;
	struct kstr topic;
	const struct offset_for_leader_epoch_request_partition *in;
	struct offset_for_leader_epoch_response_epoch_end_offset *out;
};

struct epoch_shard {
	struct shard_call call;
	struct epoch_ctx *ctx;
	struct epoch_slot *slots;
};

struct epoch_ctx {
	struct request *req;
	struct offset_for_leader_epoch_response resp;
	struct epoch_shard *shards; /* per io shard */
	uint32_t pending;
};

/* Kafka's Partition.checkCurrentLeaderEpoch. */
static int16_t epoch_check_current(int32_t current_leader_epoch)
{
	if (current_leader_epoch == PARTITION_LOG_NO_EPOCH ||
	    current_leader_epoch == PARTITION_LOG_LEADER_EPOCH)
		return KERR_NONE;
	return current_leader_epoch < PARTITION_LOG_LEADER_EPOCH ? KERR_FENCED_LEADER_EPOCH
								 : KERR_UNKNOWN_LEADER_EPOCH;
}

/* On the owning shard. */
static void epoch_partition(struct shard *s, struct epoch_slot *slot)
{
	struct topic *t = topics_lookup(s->rt, slot->topic);
	struct partition *p = t ? topic_partition(t, slot->in->partition) : NULL;
	if (!p || p->shard != s->id) {
		slot->out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (!p->log) {
		slot->out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	slot->out->error_code = epoch_check_current(slot->in->current_leader_epoch);
	if (slot->out->error_code == KERR_NONE)
		partition_log_epoch_end_offset(p->log, slot->in->leader_epoch,
					       &slot->out->leader_epoch, &slot->out->end_offset);
}

static void epoch_shard_run(struct shard_call *call)
{
	struct epoch_shard *es = container_of(call, struct epoch_shard, call);
	for (struct epoch_slot *slot = es->slots; slot; slot = slot->next)
		epoch_partition(call->target, slot);
	shard_call_return(call);
}

static void epoch_respond(struct epoch_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	size_t size = offset_for_leader_epoch_response_size(&ctx->resp, version);
	offset_for_leader_epoch_response_encode(request_response_begin(req, size, 0, 0), version,
						&ctx->resp);
	request_finish(req);
}

static void epoch_shard_done(struct shard_call *call)
{
	struct epoch_shard *es = container_of(call, struct epoch_shard, call);
	if (--es->ctx->pending == 0)
		epoch_respond(es->ctx);
}

/* Answers what the connection's shard knows (an unknown topic or partition)
 * and queues the rest for the owner. */
static void epoch_route(struct epoch_ctx *ctx, struct topic *t, struct kstr topic,
			const struct offset_for_leader_epoch_request_partition *in,
			struct offset_for_leader_epoch_response_epoch_end_offset *out,
			struct epoch_slot *slot)
{
	offset_for_leader_epoch_response_epoch_end_offset_init(out);
	out->partition = in->partition;
	struct partition *p = t ? topic_partition(t, in->partition) : NULL;
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	struct epoch_shard *es = &ctx->shards[p->shard];
	*slot = (struct epoch_slot){ .next = es->slots, .topic = topic, .in = in, .out = out };
	es->slots = slot;
}

/* The response's topics, each partition answered or queued; false when the
 * request's arena bound was reached. */
static bool epoch_route_all(struct request *req, struct epoch_ctx *ctx,
			    const struct offset_for_leader_epoch_request *q)
{
	struct runtime *rt = request_runtime(req);
	struct offset_for_leader_epoch_response *r = &ctx->resp;
	r->topics = request_alloc(req, (size_t)q->topics_count + 1, sizeof(*r->topics));
	if (!r->topics)
		return false;
	r->topics_count = q->topics_count;
	for (int32_t i = 0; i < q->topics_count; i++) {
		const struct offset_for_leader_epoch_request_topic *qt = &q->topics[i];
		struct offset_for_leader_epoch_response_topic *tr = &r->topics[i];
		offset_for_leader_epoch_response_topic_init(tr);
		tr->topic = qt->topic;
		tr->partitions = request_alloc(req, (size_t)qt->partitions_count + 1,
					       sizeof(*tr->partitions));
		struct epoch_slot *slots = request_alloc(req, (size_t)qt->partitions_count + 1,
							 sizeof(*slots));
		if (!tr->partitions || !slots)
			return false;
		tr->partitions_count = qt->partitions_count;
		struct topic *t = topics_lookup(rt, qt->topic);
		for (int32_t j = 0; j < qt->partitions_count; j++)
			epoch_route(ctx, t, qt->topic, &qt->partitions[j], &tr->partitions[j], &slots[j]);
	}
	return true;
}

void handle_offset_for_leader_epoch(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct offset_for_leader_epoch_request q;
	struct epoch_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || offset_for_leader_epoch_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	offset_for_leader_epoch_response_init(&ctx->resp);
	ctx->shards = request_alloc(req, rt->io_shards, sizeof(*ctx->shards));
	if (!ctx->shards || !epoch_route_all(req, ctx, &q)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct epoch_shard *es = &ctx->shards[k];
		es->ctx = ctx;
		es->call = (struct shard_call){ .origin = request_shard(req), .target = &rt->shards[k],
						.run = es->slots ? epoch_shard_run : NULL,
						.done = epoch_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), rt->io_shards,
				   &ctx->pending))
		epoch_respond(ctx);
}
