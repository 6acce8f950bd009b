/* CreatePartitions (key 37), v0-v3: raises topics' partition counts on the
 * control shard (topic_partitions.h), with Kafka's checks and messages: a
 * count not above the current one, too many partitions, manual assignments
 * (one replica, this node, one per new partition), unknown topics, a topic
 * named twice (one INVALID_REQUEST result, listed first, as Kafka does);
 * validate_only checks everything and changes nothing. A topic being grown
 * by another request is checked once that growth is answered, as Kafka's
 * controller applies one change after the other. A timeout_ms of 0 or
 * less is REQUEST_TIMED_OUT for every topic, checked or not, as Kafka's
 * controller answers a deadline already past; otherwise the response waits
 * for every growth to be recorded and published, which takes no longer than
 * opening the new logs.
 * Internal topics keep the partition count their coordinators hash over
 * (offsets.topic.num.partitions, transaction.state.log.num.partitions):
 * growing one is refused (Kafka allows it and moves groups). */
#include <stdio.h>
#include <string.h>

#include "core/api/handlers.h"
#include "core/meta/topic_partitions.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct create_partitions_ctx {
	struct request *req;
	struct create_partitions_request q;
	struct create_partitions_response resp;
	uint32_t pending;
};

/* One topic of the request: its growth's answer lands in its result; while
 * another growth of the topic is in flight, it waits for that one. */
struct create_partitions_item {
	struct create_partitions_ctx *ctx;
	int32_t index;
	struct topic_growth_waiter waiter;
	struct create_partitions_response_create_partitions_topic_result *out;
};

static struct kstr create_partitions_copy(struct request *req, const char *s)
{
	size_t len = strlen(s);
	char *p = request_alloc(req, len + 1, 1);
	if (!p)
		return (struct kstr){ NULL, -1 };
	memcpy(p, s, len + 1);
	return (struct kstr){ p, (int32_t)len };
}

static void create_partitions_settle(struct create_partitions_ctx *ctx)
{
	if (--ctx->pending > 0)
		return;
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, create_partitions, version, &ctx->resp);
}

static void create_partitions_grown(void *arg, int16_t error, const char *msg)
{
	struct create_partitions_item *item = arg;
	item->out->error_code = error;
	if (error != KERR_NONE)
		item->out->error_message = create_partitions_copy(item->ctx->req, msg);
	create_partitions_settle(item->ctx);
}

/* One replica list of a new partition, as Kafka checks a manual assignment,
 * on a cluster of this one node. */
static bool create_partitions_replicas_ok(const struct create_partitions_request_create_partitions_assignment *a,
					  int32_t node, char *msg, size_t msglen)
{
	if (a->broker_ids_count <= 0) {
		snprintf(msg, msglen, "The manual partition assignment includes an empty replica list.");
		return false;
	}
	for (int32_t i = 0; i < a->broker_ids_count; i++) {
		for (int32_t k = 0; k < i; k++) {
			if (a->broker_ids[k] == a->broker_ids[i]) {
				snprintf(msg, msglen, "The manual partition assignment includes the broker "
					 "%d more than once.", a->broker_ids[i]);
				return false;
			}
		}
	}
	for (int32_t i = 0; i < a->broker_ids_count; i++) {
		if (a->broker_ids[i] != node) {
			snprintf(msg, msglen, "The manual partition assignment includes broker %d, but "
				 "no such broker is registered.", a->broker_ids[i]);
			return false;
		}
	}
	return true;
}

static int16_t create_partitions_check_assignments(struct request *req,
						   const struct create_partitions_request_create_partitions_topic *ct,
						   const struct topic *t, char *msg, size_t msglen)
{
	if (ct->assignments_count < 0)
		return KERR_NONE;
	int32_t added = ct->count - t->partition_count;
	if (ct->assignments_count != added) {
		snprintf(msg, msglen, "Attempted to add %d additional partition(s), but only %d "
			 "assignment(s) were specified.", added, ct->assignments_count);
		return KERR_INVALID_REPLICA_ASSIGNMENT;
	}
	int32_t node = request_runtime(req)->cfg.node_id;
	for (int32_t i = 0; i < ct->assignments_count; i++)
		if (!create_partitions_replicas_ok(&ct->assignments[i], node, msg, msglen))
			return KERR_INVALID_REPLICA_ASSIGNMENT;
	return KERR_NONE;
}

static void create_partitions_one(struct create_partitions_item *item);

static void create_partitions_retry(struct topic_growth_waiter *w)
{
	struct create_partitions_item *item = container_of(w, struct create_partitions_item, waiter);
	create_partitions_one(item);
	create_partitions_settle(item->ctx);
}

/* Checks one topic's request (once no other growth of the topic is in
 * flight); on success and not validate_only, starts its growth. */
static void create_partitions_one(struct create_partitions_item *item)
{
	struct create_partitions_ctx *ctx = item->ctx;
	const struct create_partitions_request *q = &ctx->q;
	struct request *req = ctx->req;
	struct runtime *rt = request_runtime(req);
	const struct create_partitions_request_create_partitions_topic *ct = &q->topics[item->index];
	struct create_partitions_response_create_partitions_topic_result *out = item->out;
	char msg[TOPIC_GROWTH_MESSAGE_BYTES] = "";
	if (q->timeout_ms <= 0) {
		out->error_code = KERR_REQUEST_TIMED_OUT;
		return;
	}
	struct topic *t = topics_find(topics_registry(rt), ct->name);
	if (!t) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (t->internal) {
		snprintf(msg, sizeof(msg), "Topic %.64s is an internal topic: its partition count is "
			 "fixed by its coordinator's configuration.", t->name);
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = create_partitions_copy(req, msg);
		return;
	}
	if (topic_partitions_busy(rt, t)) {
		item->waiter.ready = create_partitions_retry;
		ctx->pending++;
		topic_partitions_wait(rt, t, &item->waiter);
		return;
	}
	out->error_code = topic_partitions_check(t, ct->count, msg, sizeof(msg));
	if (out->error_code == KERR_NONE)
		out->error_code = create_partitions_check_assignments(req, ct, t, msg, sizeof(msg));
	if (out->error_code == KERR_NONE && !q->validate_only) {
		/* Counted first: the growth may be answered before it returns. */
		ctx->pending++;
		int16_t err = topic_partitions_grow(rt, t, ct->count, create_partitions_grown, item,
						    msg, sizeof(msg));
		if (err == KERR_NONE)
			return;
		ctx->pending--;
		out->error_code = err;
	}
	if (out->error_code != KERR_NONE)
		out->error_message = create_partitions_copy(req, msg);
}

static int32_t create_partitions_name_count(const struct create_partitions_request *q,
					    struct kstr name)
{
	int32_t n = 0;
	for (int32_t k = 0; k < q->topics_count; k++)
		n += kstr_eq(q->topics[k].name, name);
	return n;
}

static bool create_partitions_named_before(const struct create_partitions_request *q,
					   int32_t index)
{
	for (int32_t k = 0; k < index; k++)
		if (kstr_eq(q->topics[k].name, q->topics[index].name))
			return true;
	return false;
}

static struct create_partitions_response_create_partitions_topic_result *
create_partitions_result(struct create_partitions_ctx *ctx, struct kstr name)
{
	struct create_partitions_response_create_partitions_topic_result *out =
		&ctx->resp.results[ctx->resp.results_count++];
	create_partitions_response_create_partitions_topic_result_init(out);
	out->name = name;
	out->error_message = (struct kstr){ NULL, -1 };
	return out;
}

/* Kafka answers every topic named more than once first, once each. */
static void create_partitions_duplicates(struct create_partitions_ctx *ctx,
					 const struct create_partitions_request *q)
{
	for (int32_t i = 0; i < q->topics_count; i++) {
		if (create_partitions_named_before(q, i) ||
		    create_partitions_name_count(q, q->topics[i].name) < 2)
			continue;
		struct create_partitions_response_create_partitions_topic_result *out =
			create_partitions_result(ctx, q->topics[i].name);
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = kstr_from_cstr("Duplicate topic name.");
	}
}

void handle_create_partitions(struct request *req)
{
	int16_t version = req->header.api_version;
	struct create_partitions_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || create_partitions_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	const struct create_partitions_request *q = &ctx->q;
	size_t count = (size_t)(q->topics_count > 0 ? q->topics_count : 0);
	ctx->req = req;
	create_partitions_response_init(&ctx->resp);
	ctx->resp.results = request_alloc(req, count + 1, sizeof(*ctx->resp.results));
	struct create_partitions_item *items = request_alloc(req, count + 1, sizeof(*items));
	if (!ctx->resp.results || !items) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	create_partitions_duplicates(ctx, q);
	/* One count for the loop itself: growths may answer before it ends. */
	ctx->pending = 1;
	for (int32_t i = 0; i < q->topics_count; i++) {
		if (create_partitions_name_count(q, q->topics[i].name) > 1)
			continue;
		items[i] = (struct create_partitions_item){
			.ctx = ctx, .index = i, .out = create_partitions_result(ctx, q->topics[i].name) };
		create_partitions_one(&items[i]);
	}
	create_partitions_settle(ctx);
}
