/* Produce (key 0), v3-v11: validate each partition's record batch (a
 * compressed one is inflated through a small window, bounded by
 * sluice.batch.inflated.max.bytes, and every inner record checked, as
 * Kafka's LogValidator does), assign offsets in place, append through the partition's
 * log, and answer once every append has completed (acks=1/all; on a single
 * node the in-sync replicas are this node), or send nothing (acks=0) but
 * still hold the request until its bytes are written, since the batches are
 * written straight from the request buffer.
 *
 * The connection's shard resolves topics in the metadata image and sends each
 * io shard the partitions it owns (validation and appends run there, on the
 * request's own buffer); a topic to auto-create sends the whole request to the
 * control shard first. */
#include <string.h>
#include <time.h>

#include "core/broker.h"
#include "core/conn.h"
#include "core/handlers.h"
#include "core/log.h"
#include "core/partition_log.h"
#include "core/request.h"
#include "core/shard.h"
#include "core/shard_call.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"
#include "proto/record_batch.h"

struct produce_ctx;
struct produce_shard;

/* One partition's append, pointing at its slot in the response. */
struct produce_part {
	struct log_append append;
	struct produce_shard *owner;
	struct produce_part *next;  /* the owner's list */
	const struct topic *topic;
	struct partition *partition;
	struct produce_request_partition_produce_data *in;
	struct produce_response_partition_produce_response *out;
	struct partition_log *log;
};

/* The partitions of one io shard. */
struct produce_shard {
	struct shard_call call;
	struct produce_ctx *ctx;
	struct produce_part *parts;
	uint32_t pending;
};

struct produce_ctx {
	struct request *req;
	struct produce_response resp;
	struct produce_shard *shards; /* per io shard */
	uint32_t pending;
	bool acks_none;
	bool acks_all;
};

static int64_t produce_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool produce_any_error(const struct produce_response *r)
{
	for (int32_t i = 0; i < r->responses_count; i++) {
		const struct produce_response_topic_produce_response *t = &r->responses[i];
		for (int32_t j = 0; j < t->partition_responses_count; j++)
			if (t->partition_responses[j].error_code != KERR_NONE)
				return true;
	}
	return false;
}

static void produce_respond(struct produce_ctx *ctx)
{
	struct request *req = ctx->req;
	if (ctx->acks_none) {
		/* Kafka closes an acks=0 connection on error: the producer has no
		 * other way to learn that its records were not written. */
		if (produce_any_error(&ctx->resp))
			conn_close(req->conn, "acks=0 produce failed");
		request_finish_without_response(req);
		return;
	}
	int16_t version = req->header.api_version;
	size_t size = produce_response_size(&ctx->resp, version);
	produce_response_encode(request_response_begin(req, size, 0, 0), version, &ctx->resp);
	request_finish(req);
}

/* On the connection's shard: one io shard's partitions are done. */
static void produce_shard_done(struct shard_call *call)
{
	struct produce_shard *ps = container_of(call, struct produce_shard, call);
	struct produce_ctx *ctx = ps->ctx;
	if (--ctx->pending == 0)
		produce_respond(ctx);
}

/* On the owning shard. */
static void produce_on_append(struct log_append *a, int16_t error_code)
{
	struct produce_part *part = container_of(a, struct produce_part, append);
	struct produce_shard *ps = part->owner;
	part->out->error_code = error_code;
	if (error_code == KERR_NONE) {
		part->out->base_offset = a->base_offset;
		part->out->log_append_time_ms = a->log_append_time;
	}
	part->out->log_start_offset = partition_log_start_offset(part->log);
	if (--ps->pending == 0)
		shard_call_return(&ps->call);
}

static void produce_partition_error(struct produce_response_partition_produce_response *out,
				    int16_t code, const char *reason)
{
	out->error_code = code;
	if (reason)
		out->error_message = kstr_from_cstr(reason);
}

/* On the owning shard: validates and appends one partition's records; on
 * success the append is pending and counted. */
static void produce_partition(struct shard *s, struct produce_part *part)
{
	const struct topic *t = part->topic;
	struct produce_request_partition_produce_data *in = part->in;
	struct produce_response_partition_produce_response *out = part->out;
	struct partition_log *log = part->partition->log;
	if (!log) {
		produce_partition_error(out, KERR_KAFKA_STORAGE_ERROR, "the partition is offline");
		return;
	}
	struct batch_limits lim = {
		.max_batch_bytes = t->cfg.max_message_bytes,
		.max_inflated_bytes = (size_t)s->broker->cfg.batch_inflated_max_bytes,
	};
	struct batch_verdict v;
	record_batch_validate(in->records.mem, (size_t)in->records.len, &lim, &v);
	if (v.error_code != KERR_NONE) {
		slog_debug("produce", "%s-%d: %s", t->name, in->index, v.reason);
		produce_partition_error(out, v.error_code, v.reason);
		return;
	}
	part->log = log;
	part->append.done = produce_on_append;
	part->append.log_append_time = -1;
	if (t->cfg.message_timestamp_type_log_append) {
		int64_t now = produce_now_ms();
		record_batch_set_log_append_time(in->records.mem, (size_t)in->records.len, now);
		part->append.log_append_time = now;
	}
	part->owner->pending++;
	int16_t err = partition_log_append(log, in->records.mem, (size_t)in->records.len, &v.header,
					   &part->append);
	if (err != KERR_NONE) {
		part->owner->pending--;
		out->error_code = err;
		return;
	}
	METRIC_ADD(s->metrics.produce_bytes, (uint64_t)in->records.len);
	METRIC_ADD(s->metrics.produce_batches, 1);
}

static void produce_shard_run(struct shard_call *call)
{
	struct produce_shard *ps = container_of(call, struct produce_shard, call);
	/* One extra count so that appends completing during the loop cannot
	 * return the call before every partition has been looked at. */
	ps->pending = 1;
	for (struct produce_part *part = ps->parts; part; part = part->next)
		produce_partition(call->target, part);
	if (--ps->pending == 0)
		shard_call_return(call);
}

/* Checks what the connection's shard can (partition, records, acks) and
 * queues the partition for its owner. */
static void produce_route(struct produce_ctx *ctx, struct topic *t,
			  struct produce_request_partition_produce_data *in,
			  struct produce_response_partition_produce_response *out,
			  struct produce_part *part)
{
	struct partition *p = topic_partition(t, in->index);
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (in->records.len <= 0) {
		produce_partition_error(out, KERR_CORRUPT_MESSAGE, "no record batch");
		return;
	}
	if (ctx->acks_all && t->cfg.min_insync_replicas > 1) {
		/* One replica can never satisfy a larger min.insync.replicas. */
		out->error_code = KERR_NOT_ENOUGH_REPLICAS;
		return;
	}
	struct produce_shard *ps = &ctx->shards[p->shard];
	part->owner = ps;
	part->topic = t;
	part->partition = p;
	part->in = in;
	part->out = out;
	part->next = ps->parts;
	ps->parts = part;
}

static void produce_topic(struct produce_ctx *ctx, struct produce_request_topic_produce_data *in,
			  struct produce_response_topic_produce_response *out, int16_t acks_error)
{
	struct request *req = ctx->req;
	out->name = in->name;
	out->partition_responses = request_alloc(req, (size_t)in->partition_data_count + 1,
						 sizeof(*out->partition_responses));
	struct produce_part *parts = request_alloc(req, (size_t)in->partition_data_count + 1,
						   sizeof(*parts));
	if (!out->partition_responses || !parts) {
		req->body.err = RC_ALLOC;
		return;
	}
	out->partition_responses_count = in->partition_data_count;
	int16_t topic_error = acks_error;
	struct topic *t = NULL;
	if (topic_error == KERR_NONE)
		t = topics_get_or_create(request_broker(req), in->name, true, &topic_error);
	if (t && t->internal) {
		/* Only the broker writes its internal topics, as in Kafka. */
		topic_error = KERR_INVALID_TOPIC_EXCEPTION;
		t = NULL;
	}
	for (int32_t i = 0; i < in->partition_data_count; i++) {
		struct produce_response_partition_produce_response *po = &out->partition_responses[i];
		produce_response_partition_produce_response_init(po);
		po->index = in->partition_data[i].index;
		if (!t)
			po->error_code = topic_error;
		else
			produce_route(ctx, t, &in->partition_data[i], po, &parts[i]);
	}
}

/* Whether a topic of the request is missing and would be auto-created: only
 * the control shard may create it. */
static bool produce_needs_control(struct request *req, const struct produce_request *q)
{
	struct broker *b = request_broker(req);
	if (request_on_control(req))
		return false;
	for (int32_t i = 0; i < q->topic_data_count; i++)
		if (!topics_lookup(b, q->topic_data[i].name) &&
		    topics_auto_creatable(b, q->topic_data[i].name, true))
			return true;
	return false;
}

void handle_produce(struct request *req)
{
	struct broker *b = request_broker(req);
	int16_t version = req->header.api_version;
	struct produce_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	struct produce_request q;
	if (!ctx || produce_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	int16_t acks_error = (q.acks == 0 || q.acks == 1 || q.acks == -1) ? KERR_NONE
									  : KERR_INVALID_REQUIRED_ACKS;
	if (q.transactional_id.len >= 0 && acks_error == KERR_NONE)
		acks_error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	if (acks_error == KERR_NONE && produce_needs_control(req, &q)) {
		request_forward_to_control(req);
		return;
	}
	ctx->req = req;
	ctx->acks_none = q.acks == 0;
	ctx->acks_all = q.acks == -1;
	produce_response_init(&ctx->resp);
	ctx->resp.responses = request_alloc(req, (size_t)q.topic_data_count + 1,
					    sizeof(*ctx->resp.responses));
	ctx->shards = request_alloc(req, b->io_shards, sizeof(*ctx->shards));
	if (!ctx->resp.responses || !ctx->shards) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	ctx->resp.responses_count = q.topic_data_count;
	for (int32_t i = 0; i < q.topic_data_count && req->body.err == RC_OK; i++) {
		produce_response_topic_produce_response_init(&ctx->resp.responses[i]);
		produce_topic(ctx, &q.topic_data[i], &ctx->resp.responses[i], acks_error);
	}
	if (req->body.err != RC_OK) {
		request_reject_malformed(req);
		return;
	}
	for (uint32_t k = 0; k < b->io_shards; k++) {
		struct produce_shard *ps = &ctx->shards[k];
		ps->ctx = ctx;
		ps->call = (struct shard_call){ .origin = request_shard(req), .target = &b->shards[k],
						.run = ps->parts ? produce_shard_run : NULL,
						.done = produce_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), b->io_shards,
				   &ctx->pending))
		produce_respond(ctx);
}
