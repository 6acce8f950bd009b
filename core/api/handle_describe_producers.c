/* DescribeProducers (key 61), v0: each partition's active producers from its
 * producer state (core/log/producer_state.h), as Kafka's ProducerStateManager
 * lists them (kafka-transactions.sh describe-producers). The request starts on
 * the control shard and visits every io shard in turn (request_relay), each
 * answering the partitions it owns into the request's arena; the last one
 * answers. Each shard looks the topics up in its own metadata image. */
#include <assert.h>

#include "core/api/handlers.h"
#include "core/log/partition_log.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

static const char UNKNOWN_TOPIC_MESSAGE[] = "This server does not host this topic-partition.";

struct describe_producers_ctx {
	struct describe_producers_request q;
	struct describe_producers_response resp;
};

struct describe_producers_fill {
	struct describe_producers_response_producer_state *out;
	int32_t n;
};

static void describe_producers_one(const struct producer_entry *e, void *ctx)
{
	struct describe_producers_fill *f = ctx;
	const struct producer_batch *last = producer_entry_last(e);
	struct describe_producers_response_producer_state *o = &f->out[f->n++];
	describe_producers_response_producer_state_init(o);
	o->producer_id = e->producer_id;
	o->producer_epoch = e->epoch;
	o->last_sequence = last ? last->last_seq : -1;
	o->last_timestamp = e->last_timestamp;
	o->coordinator_epoch = e->coordinator_epoch;
	o->current_txn_start_offset = e->current_txn_first_offset;
}

/* On the partition's owner. */
static void describe_producers_partition(struct request *req, struct partition *p,
					 struct describe_producers_response_partition_response *out)
{
	if (!p->log || partition_log_offline(p->log)) {
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	const struct producer_state *ps = partition_log_producers(p->log);
	struct describe_producers_fill fill = {
		.out = request_alloc(req, (size_t)ps->count + 1, sizeof(*fill.out)),
	};
	if (!fill.out) {
		req->body.err = RC_ALLOC;
		return;
	}
	producer_state_for_each(ps, describe_producers_one, &fill);
	out->active_producers = fill.out;
	out->active_producers_count = fill.n;
}

static void describe_producers_respond(struct request *req, struct describe_producers_ctx *ctx)
{
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, describe_producers, version, &ctx->resp);
}

/* Answers the partitions this shard owns, then goes on to the next io shard
 * or answers. */
static void describe_producers_continue(struct request *req)
{
	struct describe_producers_ctx *ctx = req->handler_ctx;
	struct shard *here = request_shard(req);
	for (int32_t i = 0; i < ctx->q.topics_count && req->body.err == RC_OK; i++) {
		const struct describe_producers_request_topic_request *qt = &ctx->q.topics[i];
		struct topic *t = topics_lookup(request_runtime(req), qt->name);
		for (int32_t j = 0; j < qt->partition_indexes_count; j++) {
			struct describe_producers_response_partition_response *out =
				&ctx->resp.topics[i].partitions[j];
			struct partition *p = t ? topic_partition(t, out->partition_index) : NULL;
			if (p && p->shard == here->id) {
				describe_producers_partition(req, p, out);
			} else if (!p && here->id == SHARD_CONTROL) {
				/* Kafka's words for an unknown topic only. */
				out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				if (!t)
					out->error_message = kstr_from_cstr(UNKNOWN_TOPIC_MESSAGE);
			}
		}
	}
	if (req->body.err != RC_OK)
		request_reject_malformed(req);
	else if (here->id + 1 < request_runtime(req)->io_shards)
		request_relay(req, here->id + 1, describe_producers_continue);
	else
		describe_producers_respond(req, ctx);
}

void handle_describe_producers(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_producers_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || describe_producers_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct describe_producers_response *r = &ctx->resp;
	describe_producers_response_init(r);
	r->topics = request_alloc(req, (size_t)ctx->q.topics_count + 1, sizeof(*r->topics));
	r->topics_count = ctx->q.topics_count;
	bool ok = r->topics != NULL;
	for (int32_t i = 0; ok && i < ctx->q.topics_count; i++) {
		const struct describe_producers_request_topic_request *qt = &ctx->q.topics[i];
		struct describe_producers_response_topic_response *tr = &r->topics[i];
		describe_producers_response_topic_response_init(tr);
		tr->name = qt->name;
		tr->partitions_count = qt->partition_indexes_count;
		tr->partitions = request_alloc(req, (size_t)qt->partition_indexes_count + 1,
					       sizeof(*tr->partitions));
		ok = tr->partitions != NULL;
		for (int32_t j = 0; ok && j < qt->partition_indexes_count; j++) {
			describe_producers_response_partition_response_init(&tr->partitions[j]);
			tr->partitions[j].partition_index = qt->partition_indexes[j];
			tr->partitions[j].error_message = (struct kstr){ NULL, -1 };
		}
	}
	if (!ok) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	/* Shard 0, the control shard, is the first io shard. */
	assert(request_on_control(req));
	req->handler_ctx = ctx;
	describe_producers_continue(req);
}
