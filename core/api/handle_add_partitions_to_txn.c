/* AddPartitionsToTxn (key 24), v0-v5: adds partitions to a producer's
 * ongoing transaction (v0-v3, one transactional id), or, from v4, for
 * several ids at once and with the verify-only form of KIP-890 part 1. A
 * partition that does not exist fails its transaction before any
 * coordinator is asked: UNKNOWN_TOPIC_OR_PARTITION for it,
 * OPERATION_NOT_ATTEMPTED for the others, as in Kafka. The request starts
 * on the control shard and visits each id's coordinating shard in turn
 * (txn_route.h). */
#include "core/api/handlers.h"
#include "core/api/txn_route.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { ADD_PARTITIONS_FENCED_FROM = 2, ADD_PARTITIONS_BATCHED_FROM = 4 };

/* One transaction of the request, in either version's shape. */
struct add_one {
	struct txn_add_args args;
	const struct kstr *topic_names;  /* per topic */
	const int32_t *topic_counts;     /* per topic: its partitions */
	int32_t topic_count;
	int16_t error;                   /* for every partition, unless verify-only */
};

struct add_ctx {
	struct request *req;
	struct add_partitions_to_txn_request q;
	struct add_one *txns;
	int32_t count;
	int32_t next;         /* the transaction being handled */
	bool running;         /* inside txn_add_partitions */
	bool done_inline;     /* its reply came before it returned */
	struct txn_reply reply;
};

static void add_step(struct request *req);

static bool add_flatten(struct add_ctx *ctx, struct add_one *one, const struct kstr *names,
			const int32_t *counts, int32_t *const *parts, int32_t topic_count)
{
	uint32_t n = 0;
	for (int32_t i = 0; i < topic_count; i++)
		n += (uint32_t)counts[i];
	one->topic_names = names;
	one->topic_counts = counts;
	one->topic_count = topic_count;
	one->args.partitions = request_alloc(ctx->req, (size_t)n + 1, sizeof(*one->args.partitions));
	if (!one->args.partitions)
		return false;
	one->args.count = n;
	uint32_t k = 0;
	for (int32_t i = 0; i < topic_count; i++)
		for (int32_t j = 0; j < counts[i]; j++)
			one->args.partitions[k++] = (struct txn_add_partition){ names[i], parts[i][j],
										KERR_NONE };
	return true;
}

/* The request's topics as parallel arrays (both versions' topic structs). */
#define ADD_TOPIC_ARRAYS(ctx, src, count, names, counts, parts)                          \
	do {                                                                             \
		names = request_alloc((ctx)->req, (size_t)(count) + 1, sizeof(*names));   \
		counts = request_alloc((ctx)->req, (size_t)(count) + 1, sizeof(*counts)); \
		parts = request_alloc((ctx)->req, (size_t)(count) + 1, sizeof(*parts));   \
		for (int32_t t_ = 0; names && counts && parts && t_ < (count); t_++) {    \
			names[t_] = (src)[t_].name;                                       \
			counts[t_] = (src)[t_].partitions_count;                          \
			parts[t_] = (src)[t_].partitions;                                 \
		}                                                                         \
	} while (0)

static bool add_prepare(struct add_ctx *ctx, int16_t version)
{
	struct add_partitions_to_txn_request *q = &ctx->q;
	ctx->count = version < ADD_PARTITIONS_BATCHED_FROM ? 1 : q->transactions_count;
	ctx->txns = request_alloc(ctx->req, (size_t)ctx->count + 1, sizeof(*ctx->txns));
	if (!ctx->txns)
		return false;
	for (int32_t i = 0; i < ctx->count; i++) {
		struct add_one *one = &ctx->txns[i];
		struct kstr *names;
		int32_t *counts;
		int32_t **parts;
		int32_t tc;
		if (version < ADD_PARTITIONS_BATCHED_FROM) {
			one->args = (struct txn_add_args){ q->v3_and_below_transactional_id,
							   q->v3_and_below_producer_id,
							   q->v3_and_below_producer_epoch, false, NULL, 0 };
			tc = q->v3_and_below_topics_count;
			ADD_TOPIC_ARRAYS(ctx, q->v3_and_below_topics, tc, names, counts, parts);
		} else {
			const struct add_partitions_to_txn_request_add_partitions_to_txn_transaction *x =
				&q->transactions[i];
			one->args = (struct txn_add_args){ x->transactional_id, x->producer_id,
							   x->producer_epoch, x->verify_only, NULL, 0 };
			tc = x->topics_count;
			ADD_TOPIC_ARRAYS(ctx, x->topics, tc, names, counts, parts);
		}
		if (!names || !counts || !parts || !add_flatten(ctx, one, names, counts, parts, tc))
			return false;
	}
	return true;
}

/* Kafka's checks before the coordinator: the id, then every partition. */
static bool add_precheck(struct request *req, struct add_one *one)
{
	if (one->args.transactional_id.len <= 0) {
		one->error = KERR_INVALID_REQUEST;
		return false;
	}
	struct runtime *rt = request_runtime(req);
	bool known = true;
	for (uint32_t k = 0; k < one->args.count; k++) {
		struct txn_add_partition *p = &one->args.partitions[k];
		struct topic *t = topics_lookup(rt, p->topic);
		bool ok = t && p->partition >= 0 && p->partition < t->partition_count;
		p->error = ok ? KERR_OPERATION_NOT_ATTEMPTED : KERR_UNKNOWN_TOPIC_OR_PARTITION;
		known = known && ok;
	}
	one->error = KERR_NONE;
	if (!known)
		one->args.verify_only = true; /* the partitions carry their errors */
	return known;
}

static void add_reply_done(struct txn_reply *r)
{
	struct add_ctx *ctx = container_of(r, struct add_ctx, reply);
	ctx->txns[ctx->next].error = r->error;
	ctx->next++;
	if (ctx->running) {
		ctx->done_inline = true;
		return;
	}
	add_step(ctx->req);
}

static int16_t add_partition_error(const struct add_one *one, uint32_t k, int16_t version)
{
	int16_t err = one->args.verify_only && one->error == KERR_NONE ? one->args.partitions[k].error
								      : one->error;
	return txn_route_error_for_version(err, version, ADD_PARTITIONS_FENCED_FROM);
}

/* The per-topic results of one transaction; the two versions' result
 * structs have the same fields. */
#define ADD_TOPIC_RESULTS(req, one, version, out, out_count, ok)                                   \
	do {                                                                                      \
		out_count = (one)->topic_count;                                                   \
		out = request_alloc(req, (size_t)(one)->topic_count + 1, sizeof(*out));           \
		uint32_t k_ = 0;                                                                  \
		for (int32_t t_ = 0; out && t_ < (one)->topic_count; t_++) {                      \
			out[t_].name = (one)->topic_names[t_];                                    \
			out[t_].results_by_partition_count = (one)->topic_counts[t_];             \
			out[t_].results_by_partition = request_alloc(                             \
				req, (size_t)(one)->topic_counts[t_] + 1,                          \
				sizeof(*out[t_].results_by_partition));                            \
			if (!out[t_].results_by_partition) {                                      \
				out = NULL;                                                       \
				break;                                                            \
			}                                                                         \
			for (int32_t j_ = 0; j_ < (one)->topic_counts[t_]; j_++, k_++) {          \
				out[t_].results_by_partition[j_].partition_index =                \
					(one)->args.partitions[k_].partition;                     \
				out[t_].results_by_partition[j_].partition_error_code =           \
					add_partition_error(one, k_, version);                    \
			}                                                                         \
		}                                                                                 \
		ok = out != NULL;                                                                 \
	} while (0)

static void add_respond(struct add_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	struct add_partitions_to_txn_response r;
	add_partitions_to_txn_response_init(&r);
	bool ok = true;
	if (version < ADD_PARTITIONS_BATCHED_FROM) {
		ADD_TOPIC_RESULTS(req, &ctx->txns[0], version, r.results_by_topic_v3_and_below,
				  r.results_by_topic_v3_and_below_count, ok);
	} else {
		r.results_by_transaction_count = ctx->count;
		r.results_by_transaction = request_alloc(req, (size_t)ctx->count + 1,
							 sizeof(*r.results_by_transaction));
		ok = r.results_by_transaction != NULL;
		for (int32_t i = 0; ok && i < ctx->count; i++) {
			struct add_partitions_to_txn_response_add_partitions_to_txn_result *x =
				&r.results_by_transaction[i];
			x->transactional_id = ctx->txns[i].args.transactional_id;
			ADD_TOPIC_RESULTS(req, &ctx->txns[i], version, x->topic_results,
					  x->topic_results_count, ok);
		}
	}
	if (!ok) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	REQUEST_RESPOND(req, add_partitions_to_txn, version, &r);
}

/* Runs on the shard coordinating transaction ctx->next, moving there when
 * it is elsewhere; a reply that comes later runs it again. */
static void add_step(struct request *req)
{
	struct add_ctx *ctx = req->handler_ctx;
	while (ctx->next < ctx->count) {
		struct add_one *one = &ctx->txns[ctx->next];
		if (!add_precheck(req, one)) {
			ctx->next++;
			continue;
		}
		int16_t err;
		struct txn_coordinator *tc = txn_coordinator_route(request_runtime(req),
								   one->args.transactional_id, &err);
		if (!tc) {
			one->error = err;
			ctx->next++;
			continue;
		}
		if (tc->shard != request_shard(req)) {
			request_relay(req, tc->shard->id, add_step);
			return;
		}
		ctx->running = true;
		ctx->done_inline = false;
		txn_add_partitions(tc, &one->args, &ctx->reply);
		ctx->running = false;
		if (!ctx->done_inline)
			return;
	}
	add_respond(ctx);
}

void handle_add_partitions_to_txn(struct request *req)
{
	int16_t version = req->header.api_version;
	struct add_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->reply.done = add_reply_done;
	if (add_partitions_to_txn_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	if (!add_prepare(ctx, version)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	req->handler_ctx = ctx;
	add_step(req);
}
