/* DescribeLogDirs (key 35), v1-v4: the one log dir, with the size of each
 * partition asked (null topics: every partition; unknown ones are left out,
 * as are topics with none of theirs asked, as Kafka does), offset lag 0 (the
 * high watermark is the log end on one node), never a future log, and (v4+)
 * the volume's total and usable bytes. The connection's shard picks the
 * partitions from the metadata image and asks each io shard for the sizes of
 * those it owns; the owner looks each one up again in its own image (a topic
 * deleted meanwhile answers size 0). */
#include <stdlib.h>
#include <string.h>

#include "core/api/handlers.h"
#include "core/log/log_space.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* One partition, queued for its owner. */
struct log_dirs_slot {
	struct log_dirs_slot *next;
	struct kstr topic;
	struct describe_log_dirs_response_partition *out;
};

struct log_dirs_shard {
	struct shard_call call;
	struct log_dirs_ctx *ctx;
	struct log_dirs_slot *slots;
};

struct log_dirs_ctx {
	struct request *req;
	struct describe_log_dirs_response resp;
	struct describe_log_dirs_response_result *dir;
	struct log_dirs_shard *shards; /* per io shard */
	uint32_t pending;
	bool failed;                   /* the arena's bound was reached */
};

/* On the owning shard. */
static void log_dirs_partition(struct shard *s, struct log_dirs_slot *slot)
{
	struct topic *t = topics_lookup(s->rt, slot->topic);
	struct partition *p = t ? topic_partition(t, slot->out->partition_index) : NULL;
	if (p && p->shard == s->id && p->log)
		slot->out->partition_size = (int64_t)partition_log_size_bytes(p->log);
}

static void log_dirs_shard_run(struct shard_call *call)
{
	struct log_dirs_shard *ls = container_of(call, struct log_dirs_shard, call);
	for (struct log_dirs_slot *slot = ls->slots; slot; slot = slot->next)
		log_dirs_partition(call->target, slot);
	shard_call_return(call);
}

static void log_dirs_respond(struct log_dirs_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	size_t size = describe_log_dirs_response_size(&ctx->resp, version);
	describe_log_dirs_response_encode(request_response_begin(req, size, 0, 0), version, &ctx->resp);
	request_finish(req);
}

static void log_dirs_shard_done(struct shard_call *call)
{
	struct log_dirs_shard *ls = container_of(call, struct log_dirs_shard, call);
	if (--ls->ctx->pending == 0)
		log_dirs_respond(ls->ctx);
}

/* Adds topic t with the partitions marked in `asked` (NULL: all), each
 * queued for its owner; a topic with none is left out. */
static void log_dirs_add_topic(struct log_dirs_ctx *ctx, struct topic *t, const bool *asked)
{
	int32_t count = 0;
	for (int32_t i = 0; i < t->partition_count; i++)
		count += !asked || asked[i];
	if (count == 0)
		return;
	struct describe_log_dirs_response_topic *out = &ctx->dir->topics[ctx->dir->topics_count++];
	describe_log_dirs_response_topic_init(out);
	out->name = request_copy_cstr(ctx->req, t->name);
	out->partitions = request_alloc(ctx->req, (size_t)count, sizeof(*out->partitions));
	struct log_dirs_slot *slots = request_alloc(ctx->req, (size_t)count, sizeof(*slots));
	if (!out->partitions || !slots || out->name.len < 0) {
		ctx->failed = true;
		return;
	}
	for (int32_t i = 0; i < t->partition_count; i++) {
		if (asked && !asked[i])
			continue;
		struct describe_log_dirs_response_partition *p = &out->partitions[out->partitions_count];
		struct log_dirs_slot *slot = &slots[out->partitions_count++];
		describe_log_dirs_response_partition_init(p);
		p->partition_index = i;
		struct log_dirs_shard *ls = &ctx->shards[t->partitions[i].shard];
		*slot = (struct log_dirs_slot){ .next = ls->slots, .topic = out->name, .out = p };
		ls->slots = slot;
	}
}

static int log_dirs_topic_order(const void *a, const void *b)
{
	const struct describe_log_dirs_request_topic *x = *(const void *const *)a;
	const struct describe_log_dirs_request_topic *y = *(const void *const *)b;
	int32_t len = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
	int c = memcmp(x->topic.ptr, y->topic.ptr, (size_t)len);
	return c ? c : (x->topic.len > y->topic.len) - (x->topic.len < y->topic.len);
}

/* The topics asked, sorted by name so that a name listed twice is one topic
 * (Kafka reads the request as a set of partitions). */
static void log_dirs_add_asked(struct log_dirs_ctx *ctx, const struct describe_log_dirs_request *q)
{
	struct runtime *rt = request_runtime(ctx->req);
	const struct describe_log_dirs_request_topic **sorted =
		request_alloc(ctx->req, (size_t)q->topics_count + 1, sizeof(*sorted));
	if (!sorted) {
		ctx->failed = true;
		return;
	}
	for (int32_t i = 0; i < q->topics_count; i++)
		sorted[i] = &q->topics[i];
	qsort(sorted, (size_t)q->topics_count, sizeof(*sorted), log_dirs_topic_order);
	for (int32_t i = 0; i < q->topics_count && !ctx->failed;) {
		struct topic *t = topics_lookup(rt, sorted[i]->topic);
		bool *asked = t ? request_alloc(ctx->req, (size_t)t->partition_count + 1, sizeof(bool))
				: NULL;
		if (t && !asked)
			ctx->failed = true;
		int32_t j = i;
		for (; j < q->topics_count && log_dirs_topic_order(&sorted[i], &sorted[j]) == 0; j++)
			for (int32_t k = 0; asked && k < sorted[j]->partitions_count; k++) {
				int32_t index = sorted[j]->partitions[k];
				if (index >= 0 && index < t->partition_count)
					asked[index] = true;
			}
		if (asked)
			log_dirs_add_topic(ctx, t, asked);
		i = j;
	}
}

/* The log dir's result: the volume, then the topics asked. */
static void log_dirs_fill(struct log_dirs_ctx *ctx, const struct describe_log_dirs_request *q)
{
	struct runtime *rt = request_runtime(ctx->req);
	struct describe_log_dirs_response_result *dir = ctx->dir;
	struct log_space_volume volume;
	if (log_space_describe(&topics_registry(rt)->space, &volume) != 0) {
		dir->error_code = KERR_KAFKA_STORAGE_ERROR;
	} else {
		dir->total_bytes = volume.total_bytes > INT64_MAX ? INT64_MAX : (int64_t)volume.total_bytes;
		dir->usable_bytes = volume.usable_bytes > INT64_MAX ? INT64_MAX
								     : (int64_t)volume.usable_bytes;
	}
	dir->log_dir = request_copy_cstr(ctx->req, volume.path);
	struct metadata_image *im = metadata_current(rt);
	size_t most = q->topics_count < 0 ? im->topic_count : (size_t)q->topics_count;
	dir->topics = request_alloc(ctx->req, most + 1, sizeof(*dir->topics));
	if (!dir->topics || dir->log_dir.len < 0) {
		ctx->failed = true;
		return;
	}
	if (dir->error_code != KERR_NONE)
		return;
	if (q->topics_count >= 0) {
		log_dirs_add_asked(ctx, q);
		return;
	}
	for (size_t i = 0; i < im->topic_count && !ctx->failed; i++)
		log_dirs_add_topic(ctx, im->topics[i], NULL);
}

void handle_describe_log_dirs(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct describe_log_dirs_request q;
	struct log_dirs_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || describe_log_dirs_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	describe_log_dirs_response_init(&ctx->resp);
	ctx->dir = request_alloc(req, 1, sizeof(*ctx->dir));
	ctx->shards = request_alloc(req, rt->io_shards, sizeof(*ctx->shards));
	if (ctx->dir && ctx->shards) {
		describe_log_dirs_response_result_init(ctx->dir);
		ctx->resp.results = ctx->dir;
		ctx->resp.results_count = 1;
		log_dirs_fill(ctx, &q);
	}
	if (!ctx->dir || !ctx->shards || ctx->failed) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct log_dirs_shard *ls = &ctx->shards[k];
		ls->ctx = ctx;
		ls->call = (struct shard_call){ .origin = request_shard(req), .target = &rt->shards[k],
						.run = ls->slots ? log_dirs_shard_run : NULL,
						.done = log_dirs_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), rt->io_shards,
				   &ctx->pending))
		log_dirs_respond(ctx);
}
