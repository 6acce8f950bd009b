/* Produce (key 0), v3-v11: validate each partition's record batch without
 * decompressing it, assign offsets in place, append through the partition's
 * log, and answer once every append has completed (acks=1/all; on a single
 * node the in-sync replicas are this node), or send nothing (acks=0) but
 * still hold the request until its bytes are written, since the batches are
 * written straight from the request buffer. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/broker.h"
#include "core/conn.h"
#include "core/handlers.h"
#include "core/log.h"
#include "core/partition_log.h"
#include "core/request.h"
#include "core/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"
#include "proto/record_batch.h"

enum { PRODUCE_ERROR_MESSAGE_BYTES = 160 };

struct produce_ctx;

/* One partition's append, pointing at its slot in the response. */
struct produce_part {
	struct log_append append;
	struct produce_ctx *ctx;
	struct produce_response_partition_produce_response *out;
	struct partition_log *log;
};

struct produce_ctx {
	struct request *req;
	struct produce_response resp;
	uint32_t pending;
	bool acks_none;
	bool acks_all;
	int16_t first_error; /* for acks=0, where no response can carry it */
};

static int64_t produce_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void produce_respond(struct produce_ctx *ctx)
{
	struct request *req = ctx->req;
	if (ctx->acks_none) {
		/* Kafka closes an acks=0 connection on error: the producer has no
		 * other way to learn that its records were not written. */
		if (ctx->first_error != KERR_NONE)
			conn_close(req->conn, "acks=0 produce failed");
		request_finish_without_response(req);
		return;
	}
	int16_t version = req->header.api_version;
	size_t size = produce_response_size(&ctx->resp, version);
	produce_response_encode(request_response_begin(req, size, 0, 0), version, &ctx->resp);
	request_finish(req);
}

static void produce_on_append(struct log_append *a, int16_t error_code)
{
	struct produce_part *part = container_of(a, struct produce_part, append);
	struct produce_ctx *ctx = part->ctx;
	part->out->error_code = error_code;
	if (error_code != KERR_NONE && ctx->first_error == KERR_NONE)
		ctx->first_error = error_code;
	if (error_code == KERR_NONE) {
		part->out->base_offset = a->base_offset;
		part->out->log_append_time_ms = a->log_append_time;
	}
	part->out->log_start_offset = partition_log_start_offset(part->log);
	if (--ctx->pending == 0)
		produce_respond(ctx);
}

static void produce_partition_error(struct request *req,
				    struct produce_response_partition_produce_response *out,
				    int16_t code, const char *reason)
{
	out->error_code = code;
	if (!reason)
		return;
	size_t len = strlen(reason);
	char *msg = request_alloc(req, len + 1, 1);
	if (msg) {
		memcpy(msg, reason, len);
		out->error_message.ptr = msg;
		out->error_message.len = (int32_t)len;
	}
}

/* Validates and appends one partition's records; on success the append is
 * pending and ctx->pending counts it. */
static void produce_partition(struct produce_ctx *ctx, struct topic *t,
			      struct produce_request_partition_produce_data *in,
			      struct produce_response_partition_produce_response *out,
			      struct produce_part *part)
{
	struct request *req = ctx->req;
	struct shard *s = request_shard(req);
	out->index = in->index;
	struct partition *p = topic_partition(t, in->index);
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (in->records.len <= 0) {
		produce_partition_error(req, out, KERR_CORRUPT_MESSAGE, "no record batch");
		return;
	}
	if (ctx->acks_all && t->cfg.min_insync_replicas > 1) {
		/* One replica can never satisfy a larger min.insync.replicas. */
		out->error_code = KERR_NOT_ENOUGH_REPLICAS;
		return;
	}
	struct batch_limits lim = { .max_batch_bytes = t->cfg.max_message_bytes };
	struct batch_verdict v;
	record_batch_validate(in->records.mem, (size_t)in->records.len, &lim, &v);
	if (v.error_code != KERR_NONE) {
		slog_debug("produce", "%s-%d from %s: %s", t->name, in->index, req->conn->peer,
			   v.reason);
		produce_partition_error(req, out, v.error_code, v.reason);
		return;
	}
	part->ctx = ctx;
	part->out = out;
	part->log = p->log;
	part->append.done = produce_on_append;
	part->append.log_append_time = -1;
	if (t->cfg.message_timestamp_type_log_append) {
		int64_t now = produce_now_ms();
		record_batch_set_log_append_time(in->records.mem, (size_t)in->records.len, now);
		part->append.log_append_time = now;
	}
	int16_t err = partition_log_append(p->log, in->records.mem, (size_t)in->records.len,
					   &v.header, &part->append);
	if (err != KERR_NONE) {
		out->error_code = err;
		return;
	}
	METRIC_ADD(s->metrics.produce_bytes, (uint64_t)in->records.len);
	METRIC_ADD(s->metrics.produce_batches, 1);
	ctx->pending++;
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
		if (!t) {
			po->error_code = topic_error;
			continue;
		}
		produce_partition(ctx, t, &in->partition_data[i], po, &parts[i]);
	}
}

/* Records the first partition error found before any append completed. */
static void produce_note_errors(struct produce_ctx *ctx)
{
	for (int32_t i = 0; i < ctx->resp.responses_count && ctx->first_error == KERR_NONE; i++) {
		const struct produce_response_topic_produce_response *t = &ctx->resp.responses[i];
		for (int32_t j = 0; j < t->partition_responses_count; j++) {
			if (t->partition_responses[j].error_code != KERR_NONE) {
				ctx->first_error = t->partition_responses[j].error_code;
				break;
			}
		}
	}
}

void handle_produce(struct request *req)
{
	int16_t version = req->header.api_version;
	struct produce_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	struct produce_request q;
	if (!ctx || produce_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->acks_none = q.acks == 0;
	ctx->acks_all = q.acks == -1;
	produce_response_init(&ctx->resp);
	int16_t acks_error = (q.acks == 0 || q.acks == 1 || q.acks == -1) ? KERR_NONE
									  : KERR_INVALID_REQUIRED_ACKS;
	if (q.transactional_id.len >= 0 && acks_error == KERR_NONE)
		acks_error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	ctx->resp.responses = request_alloc(req, (size_t)q.topic_data_count + 1,
					    sizeof(*ctx->resp.responses));
	if (!ctx->resp.responses) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	ctx->resp.responses_count = q.topic_data_count;
	/* One extra pending count so that appends completing during this loop
	 * cannot answer before every partition has been looked at. */
	ctx->pending = 1;
	for (int32_t i = 0; i < q.topic_data_count && req->body.err == RC_OK; i++) {
		produce_response_topic_produce_response_init(&ctx->resp.responses[i]);
		produce_topic(ctx, &q.topic_data[i], &ctx->resp.responses[i], acks_error);
	}
	if (req->body.err != RC_OK && ctx->pending == 1) {
		request_reject_malformed(req);
		return;
	}
	produce_note_errors(ctx);
	if (--ctx->pending == 0)
		produce_respond(ctx);
}
