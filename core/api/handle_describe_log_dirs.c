/* DescribeLogDirs (key 35), v1-v4: the one log dir, with the size of each
 * partition asked (null topics: every partition; unknown ones are left out,
 * as are topics with none of theirs asked, as Kafka does), offset lag 0 (the
 * high watermark is the log end on one node), never a future log, and (v4+)
 * the volume's total and usable bytes. The connection's shard picks the
 * partitions from the metadata image; each one's size comes from its owning
 * io shard (partition_fanout.h; a topic deleted meanwhile answers size 0). */
#include <stdlib.h>
#include <string.h>

#include "core/api/handlers.h"
#include "core/api/partition_fanout.h"
#include "core/log/log_space.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct log_dirs_ctx {
	struct request *req;
	struct describe_log_dirs_response resp;
	struct describe_log_dirs_response_result *dir;
	struct fanout fanout;
	bool failed; /* the arena's bound was reached */
};

/* On the owning shard. */
static void log_dirs_partition(struct fanout_slot *slot, struct partition *p)
{
	struct describe_log_dirs_response_partition *out = slot->out;
	if (p && p->log)
		out->partition_size = (int64_t)partition_log_size_bytes(p->log);
}

static void log_dirs_respond(struct fanout *f)
{
	struct log_dirs_ctx *ctx = f->ctx;
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, describe_log_dirs, version, &ctx->resp);
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
	struct fanout_slot *slots = request_alloc(ctx->req, (size_t)count, sizeof(*slots));
	if (!out->partitions || !slots || out->name.len < 0) {
		ctx->failed = true;
		return;
	}
	for (int32_t i = 0; i < t->partition_count; i++) {
		if (asked && !asked[i])
			continue;
		struct describe_log_dirs_response_partition *p = &out->partitions[out->partitions_count];
		struct fanout_slot *slot = &slots[out->partitions_count++];
		describe_log_dirs_response_partition_init(p);
		p->partition_index = i;
		*slot = (struct fanout_slot){ .topic = out->name, .partition = i, .out = p };
		fanout_add(&ctx->fanout, &t->partitions[i], slot);
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
	bool ok = ctx->dir && fanout_init(&ctx->fanout, req, log_dirs_partition, log_dirs_respond, ctx);
	if (ok) {
		describe_log_dirs_response_result_init(ctx->dir);
		ctx->resp.results = ctx->dir;
		ctx->resp.results_count = 1;
		log_dirs_fill(ctx, &q);
	}
	if (!ok || ctx->failed) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	fanout_start(&ctx->fanout);
}
