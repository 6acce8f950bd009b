/* Fetch (key 1), v4-v17: plan file ranges of whole batches per partition
 * within max_bytes and partition_max_bytes (the first batch of the first
 * non-empty partition always whole, KIP-74), answer at once when min_bytes is
 * met, max_wait_ms is 0 or a partition has an error, and otherwise wait on the
 * partitions until an append brings enough or the timer fires. Log bytes are
 * never read here: the response carries file ranges that the connection
 * splices from the segment to the socket.
 *
 * Fetch sessions (KIP-227) are declined the way Kafka allows: every response
 * carries session id 0, so clients send full fetches. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "core/broker.h"
#include "core/conn.h"
#include "core/fetch_wait.h"
#include "core/handlers.h"
#include "core/log.h"
#include "core/partition_log.h"
#include "core/request.h"
#include "core/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

static const uint64_t NS_PER_MS = 1000000;

struct fetch_ctx;

struct fetch_link {
	struct fetch_waiter waiter;
	struct fetch_ctx *ctx;
};

struct fetch_ctx {
	struct request *req;
	struct fetch_request q;
	struct fetch_response resp;
	struct fetch_link *links;  /* one per requested partition */
	uint32_t link_count;
	struct io_timer timer;
	uint64_t planned_bytes;
	uint32_t planned_ranges;
	bool any_error;
};

static struct topic *fetch_topic_lookup(struct fetch_ctx *ctx, const struct fetch_request_fetch_topic *ft,
					int16_t *err)
{
	struct broker *b = request_broker(ctx->req);
	if (ctx->req->header.api_version >= 13) {
		struct topic *t = topics_find_id(&b->topics, ft->topic_id);
		*err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_ID;
		return t;
	}
	struct topic *t = topics_find(&b->topics, ft->topic);
	*err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
	return t;
}

/* Plans one partition; returns the bytes planned. */
static uint32_t fetch_plan_partition(struct fetch_ctx *ctx, struct topic *t, int16_t topic_err,
				     const struct fetch_request_fetch_partition *fp,
				     struct fetch_response_partition_data *out, uint64_t budget, bool first)
{
	fetch_response_partition_data_init(out);
	out->partition_index = fp->partition;
	out->records.fd = -1;
	out->records.len = 0;
	struct partition *p = t ? topic_partition(t, fp->partition) : NULL;
	if (!p) {
		out->error_code = t ? KERR_UNKNOWN_TOPIC_OR_PARTITION : topic_err;
		ctx->any_error = true;
		return 0;
	}
	out->high_watermark = partition_log_high_watermark(p->log);
	out->last_stable_offset = out->high_watermark;
	out->log_start_offset = partition_log_start_offset(p->log);
	uint64_t limit = (uint64_t)(fp->partition_max_bytes > 0 ? fp->partition_max_bytes : 0);
	if (limit > budget)
		limit = budget;
	if (limit == 0 && !first)
		return 0;
	struct log_read rd;
	int16_t err = partition_log_read(p->log, fp->fetch_offset, (uint32_t)limit, first, &rd);
	if (err != KERR_NONE) {
		out->error_code = err;
		ctx->any_error = true;
		return 0;
	}
	if (rd.len == 0)
		return 0;
	out->records.fd = rd.fd;
	out->records.file_off = rd.file_off;
	out->records.len = (int32_t)rd.len;
	return rd.len;
}

/* Fills ctx->resp from the logs' current state. */
static void fetch_plan(struct fetch_ctx *ctx)
{
	const struct fetch_request *q = &ctx->q;
	struct broker *b = request_broker(ctx->req);
	uint64_t budget = ctx->req->header.api_version >= 3 && q->max_bytes >= 0
				  ? (uint64_t)q->max_bytes : UINT64_MAX;
	if (budget > b->cfg.fetch_max_bytes)
		budget = b->cfg.fetch_max_bytes;
	ctx->planned_bytes = 0;
	ctx->planned_ranges = 0;
	ctx->any_error = false;
	for (int32_t i = 0; i < q->topics_count; i++) {
		const struct fetch_request_fetch_topic *ft = &q->topics[i];
		struct fetch_response_fetchable_topic_response *rt = &ctx->resp.responses[i];
		int16_t topic_err;
		struct topic *t = fetch_topic_lookup(ctx, ft, &topic_err);
		rt->topic = ft->topic;
		rt->topic_id = ft->topic_id;
		for (int32_t j = 0; j < ft->partitions_count; j++) {
			uint64_t left = budget > ctx->planned_bytes ? budget - ctx->planned_bytes : 0;
			uint32_t n = fetch_plan_partition(ctx, t, topic_err, &ft->partitions[j],
							  &rt->partitions[j], left,
							  ctx->planned_bytes == 0);
			ctx->planned_bytes += n;
			ctx->planned_ranges += n > 0;
		}
	}
}

/* Duplicates the planned segment descriptors so the response owns them
 * (a segment may be deleted while the response waits to be sent). */
static uint64_t fetch_take_ranges(struct fetch_ctx *ctx)
{
	uint64_t file_bytes = 0;
	for (int32_t i = 0; i < ctx->resp.responses_count; i++) {
		struct fetch_response_fetchable_topic_response *rt = &ctx->resp.responses[i];
		for (int32_t j = 0; j < rt->partitions_count; j++) {
			struct krecords *r = &rt->partitions[j].records;
			if (r->len <= 0)
				continue;
			int fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0) {
				slog_warn("fetch", "cannot hold a segment for %s: %s; "
					  "answering without its data", ctx->req->conn->peer,
					  strerror(errno));
				r->fd = -1;
				r->len = 0;
				continue;
			}
			r->fd = fd;
			file_bytes += (uint64_t)r->len;
		}
	}
	return file_bytes;
}

static void fetch_detach_all(struct fetch_ctx *ctx)
{
	for (uint32_t i = 0; i < ctx->link_count; i++)
		fetch_waiter_detach(&ctx->links[i].waiter);
	io_timer_stop(request_shard(ctx->req)->reactor, &ctx->timer);
}

static void fetch_respond(struct fetch_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	fetch_detach_all(ctx);
	uint64_t file_bytes = fetch_take_ranges(ctx);
	size_t size = fetch_response_size(&ctx->resp, version);
	struct wcursor *w = request_response_begin(req, size, file_bytes, ctx->planned_ranges);
	fetch_response_encode(w, version, &ctx->resp);
	request_finish(req);
}

static void fetch_on_timer(struct io_timer *t)
{
	struct fetch_ctx *ctx = container_of(t, struct fetch_ctx, timer);
	fetch_plan(ctx);
	fetch_respond(ctx);
}

static void fetch_on_wake(struct fetch_waiter *w, bool final)
{
	struct fetch_ctx *ctx = container_of(w, struct fetch_link, waiter)->ctx;
	if (final) {
		/* The partition is going away: detach first so the plan below
		 * cannot reach it. */
		fetch_detach_all(ctx);
	}
	fetch_plan(ctx);
	if (final || ctx->any_error || ctx->planned_bytes >= (uint64_t)ctx->q.min_bytes)
		fetch_respond(ctx);
}

/* Waits on every known partition of the request until data or the timer. */
static void fetch_wait(struct fetch_ctx *ctx)
{
	uint32_t n = 0;
	for (int32_t i = 0; i < ctx->q.topics_count; i++) {
		const struct fetch_request_fetch_topic *ft = &ctx->q.topics[i];
		int16_t err;
		struct topic *t = fetch_topic_lookup(ctx, ft, &err);
		for (int32_t j = 0; t && j < ft->partitions_count; j++) {
			struct partition *p = topic_partition(t, ft->partitions[j].partition);
			if (!p)
				continue;
			ctx->links[n].ctx = ctx;
			fetch_waiter_attach(&ctx->links[n].waiter, p, fetch_on_wake);
			n++;
		}
	}
	ctx->link_count = n;
	io_timer_arm(request_shard(ctx->req)->reactor, &ctx->timer,
		     (uint64_t)ctx->q.max_wait_ms * NS_PER_MS, fetch_on_timer);
}

/* Allocates the response arrays once; re-planning refills them in place. */
static bool fetch_ctx_alloc(struct fetch_ctx *ctx)
{
	struct request *req = ctx->req;
	const struct fetch_request *q = &ctx->q;
	uint32_t partitions = 0;
	ctx->resp.responses = request_alloc(req, (size_t)q->topics_count + 1, sizeof(*ctx->resp.responses));
	if (!ctx->resp.responses)
		return false;
	ctx->resp.responses_count = q->topics_count;
	for (int32_t i = 0; i < q->topics_count; i++) {
		struct fetch_response_fetchable_topic_response *rt = &ctx->resp.responses[i];
		fetch_response_fetchable_topic_response_init(rt);
		rt->partitions = request_alloc(req, (size_t)q->topics[i].partitions_count + 1,
					       sizeof(*rt->partitions));
		if (!rt->partitions)
			return false;
		rt->partitions_count = q->topics[i].partitions_count;
		partitions += (uint32_t)q->topics[i].partitions_count;
	}
	ctx->links = request_alloc(req, (size_t)partitions + 1, sizeof(*ctx->links));
	return ctx->links != NULL;
}

void handle_fetch(struct request *req)
{
	int16_t version = req->header.api_version;
	struct fetch_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || fetch_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	io_timer_init(&ctx->timer);
	fetch_response_init(&ctx->resp);
	ctx->resp.session_id = 0;
	if (ctx->q.session_id != 0) {
		ctx->resp.error_code = KERR_FETCH_SESSION_ID_NOT_FOUND;
		fetch_respond(ctx);
		return;
	}
	if (!fetch_ctx_alloc(ctx)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	fetch_plan(ctx);
	bool enough = ctx->planned_bytes >= (uint64_t)(ctx->q.min_bytes > 0 ? ctx->q.min_bytes : 0);
	if (enough || ctx->any_error || ctx->q.max_wait_ms <= 0 || ctx->q.topics_count == 0) {
		fetch_respond(ctx);
		return;
	}
	fetch_wait(ctx);
}
