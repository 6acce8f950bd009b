/* WriteTxnMarkers (key 27), v0-v1: writes each marker's COMMIT or ABORT
 * control batch to its partitions (core/txn/txn_markers.h), the request
 * Kafka's transaction coordinators send partition leaders. The markers of
 * one request are written at once; the answer lists every partition in
 * request order with its error: UNKNOWN_TOPIC_OR_PARTITION for one this
 * broker does not have, INVALID_PRODUCER_EPOCH or
 * TRANSACTION_COORDINATOR_FENCED from the partition's producer state,
 * KAFKA_STORAGE_ERROR when the write fails. Every log here is v2 (sluice
 * writes no older format), so UNSUPPORTED_FOR_MESSAGE_FORMAT never arises. */
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "core/txn/txn_markers.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct write_markers_ctx;

/* One marker of the request and its partitions' targets. */
struct write_markers_one {
	struct txn_markers_write w;
	struct write_markers_ctx *ctx;
	struct write_txn_markers_response_writable_txn_marker_result *out;
};

struct write_markers_ctx {
	struct request *req;
	struct write_txn_markers_response resp;
	uint32_t pending; /* markers being written, + 1 while starting */
};

static void write_markers_respond(struct write_markers_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, write_txn_markers, version, &ctx->resp);
}

static void write_markers_release(struct write_markers_ctx *ctx)
{
	if (--ctx->pending == 0)
		write_markers_respond(ctx);
}

/* Copies the targets' errors into the marker's answer, in request order. */
static void write_markers_on_done(struct txn_markers_write *w)
{
	struct write_markers_one *one = container_of(w, struct write_markers_one, w);
	uint32_t k = 0;
	for (int32_t i = 0; i < one->out->topics_count; i++) {
		struct write_txn_markers_response_writable_txn_marker_topic_result *t = &one->out->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++)
			t->partitions[j].error_code = w->targets[k++].error;
	}
	write_markers_release(one->ctx);
}

/* Lays out one marker's answer and targets from the request's arena. */
static bool write_markers_prepare(struct request *req, struct write_markers_one *one,
				  const struct write_txn_markers_request_writable_txn_marker *in)
{
	struct write_txn_markers_response_writable_txn_marker_result *out = one->out;
	write_txn_markers_response_writable_txn_marker_result_init(out);
	out->producer_id = in->producer_id;
	out->topics = request_alloc(req, (size_t)in->topics_count + 1, sizeof(*out->topics));
	if (!out->topics)
		return false;
	out->topics_count = in->topics_count;
	size_t targets = 0;
	for (int32_t i = 0; i < in->topics_count; i++)
		targets += (size_t)in->topics[i].partition_indexes_count;
	struct txn_marker_target *tg = request_alloc(req, targets + 1, sizeof(*tg));
	if (!tg)
		return false;
	one->w = (struct txn_markers_write){ .producer_id = in->producer_id,
					     .producer_epoch = in->producer_epoch,
					     .coordinator_epoch = in->coordinator_epoch,
					     .commit = in->transaction_result,
					     .targets = tg, .count = (uint32_t)targets,
					     .done = write_markers_on_done };
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct write_txn_markers_request_writable_txn_marker_topic *qt = &in->topics[i];
		struct write_txn_markers_response_writable_txn_marker_topic_result *t = &out->topics[i];
		write_txn_markers_response_writable_txn_marker_topic_result_init(t);
		t->name = qt->name;
		t->partitions = request_alloc(req, (size_t)qt->partition_indexes_count + 1,
					      sizeof(*t->partitions));
		if (!t->partitions)
			return false;
		t->partitions_count = qt->partition_indexes_count;
		for (int32_t j = 0; j < qt->partition_indexes_count; j++) {
			write_txn_markers_response_writable_txn_marker_partition_result_init(&t->partitions[j]);
			t->partitions[j].partition_index = qt->partition_indexes[j];
			*tg++ = (struct txn_marker_target){ .topic = qt->name,
							    .partition = qt->partition_indexes[j] };
		}
	}
	return true;
}

void handle_write_txn_markers(struct request *req)
{
	int16_t version = req->header.api_version;
	struct write_txn_markers_request q;
	struct write_markers_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || write_txn_markers_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	write_txn_markers_response_init(&ctx->resp);
	ctx->resp.markers = request_alloc(req, (size_t)q.markers_count + 1, sizeof(*ctx->resp.markers));
	struct write_markers_one *ones = request_alloc(req, (size_t)q.markers_count + 1, sizeof(*ones));
	if (!ctx->resp.markers || !ones)
		goto no_memory;
	ctx->resp.markers_count = q.markers_count;
	for (int32_t i = 0; i < q.markers_count; i++) {
		ones[i].ctx = ctx;
		ones[i].out = &ctx->resp.markers[i];
		if (!write_markers_prepare(req, &ones[i], &q.markers[i]))
			goto no_memory;
	}
	ctx->pending = 1;
	for (int32_t i = 0; i < q.markers_count; i++) {
		ctx->pending++;
		txn_markers_write_start(request_runtime(req), request_shard(req), &ones[i].w);
	}
	write_markers_release(ctx);
	return;
no_memory:
	req->body.err = RC_ALLOC;
	request_reject_malformed(req);
}
