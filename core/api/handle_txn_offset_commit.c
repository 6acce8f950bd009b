/* TxnOffsetCommit (key 28), v0-v4: a transactional producer commits a
 * group's offsets inside its transaction, on the group's coordinator; they
 * stay pending until the transaction's marker (core/group/group_txn.h).
 * As in Kafka 4, the write waits for the transaction coordinator to confirm
 * that the group's __consumer_offsets partition is in the producer's ongoing
 * transaction (AddOffsetsToTxn put it there): a commit outside one is
 * refused with INVALID_TXN_STATE, a stale or unknown epoch with
 * INVALID_PRODUCER_EPOCH. */
#include "core/api/group_route.h"
#include "core/api/handlers.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_store.h"
#include "core/group/group_txn.h"
#include "core/net/request.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct txn_commit_ctx {
	struct group_done done;
	struct request *req;
	struct txn_offset_commit_request q;
	struct group_txn_commit_args args;
	struct group_coordinator *gc;
	int32_t partition;            /* the group's, of __consumer_offsets */
	struct txn_verify verify;
};

/* Kafka answers the partitions it refused before asking the coordinator
 * first (unknown topics and partitions), then the coordinator's, each topic
 * once, in the order its name first appears. */
static bool txn_commit_answer(struct request *req, const struct group_txn_commit_args *a,
			      int16_t err, struct txn_offset_commit_response *r)
{
	uint32_t *order = request_alloc(req, a->count + 1, sizeof(*order));
	uint32_t *topic_of = request_alloc(req, a->count + 1, sizeof(*topic_of));
	r->topics = request_alloc(req, a->count + 1, sizeof(*r->topics));
	if (!order || !topic_of || !r->topics)
		return false;
	uint32_t n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < a->count; i++)
			if ((a->parts[i].error == KERR_UNKNOWN_TOPIC_OR_PARTITION) == (pass == 0))
				order[n++] = i;
	r->topics_count = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct group_commit_partition *p = &a->parts[order[k]];
		int32_t t = 0;
		while (t < r->topics_count && !kstr_eq(r->topics[t].name, p->topic))
			t++;
		if (t == r->topics_count) {
			txn_offset_commit_response_txn_offset_commit_response_topic_init(&r->topics[t]);
			r->topics[t].name = p->topic;
			r->topics_count++;
		}
		topic_of[k] = (uint32_t)t;
		r->topics[t].partitions_count++;
	}
	for (int32_t t = 0; t < r->topics_count; t++) {
		r->topics[t].partitions = request_alloc(req, (size_t)r->topics[t].partitions_count + 1,
							sizeof(*r->topics[t].partitions));
		if (!r->topics[t].partitions)
			return false;
		r->topics[t].partitions_count = 0;
	}
	for (uint32_t k = 0; k < n; k++) {
		const struct group_commit_partition *p = &a->parts[order[k]];
		struct txn_offset_commit_response_txn_offset_commit_response_topic *rt = &r->topics[topic_of[k]];
		struct txn_offset_commit_response_txn_offset_commit_response_partition *rp =
			&rt->partitions[rt->partitions_count++];
		txn_offset_commit_response_txn_offset_commit_response_partition_init(rp);
		rp->partition_index = p->partition;
		rp->error_code = err != KERR_NONE ? err : p->error;
	}
	return true;
}

static void txn_commit_respond(struct group_done *d, int16_t err)
{
	struct txn_commit_ctx *ctx = container_of(d, struct txn_commit_ctx, done);
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	struct txn_offset_commit_response r;
	txn_offset_commit_response_init(&r);
	if (!txn_commit_answer(req, &ctx->args, err, &r)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	/* Clients before v2 (Kafka 2.0) do not retry a loading coordinator. */
	for (int32_t t = 0; version < 2 && t < r.topics_count; t++)
		for (int32_t p = 0; p < r.topics[t].partitions_count; p++)
			if (r.topics[t].partitions[p].error_code == KERR_COORDINATOR_LOAD_IN_PROGRESS)
				r.topics[t].partitions[p].error_code = KERR_COORDINATOR_NOT_AVAILABLE;
	REQUEST_RESPOND(req, txn_offset_commit, version, &r);
}

/* The coordinator's answer: the commit goes on, or every partition that
 * exists gets the error (Kafka turns a fenced epoch into
 * INVALID_PRODUCER_EPOCH for this request). */
static void txn_commit_verified(struct txn_verify *v)
{
	struct txn_commit_ctx *ctx = container_of(v, struct txn_commit_ctx, verify);
	if (v->error == KERR_NONE) {
		group_txn_commit(ctx->gc, ctx->partition, &ctx->args, &ctx->done);
		return;
	}
	int16_t err = v->error == KERR_PRODUCER_FENCED ? KERR_INVALID_PRODUCER_EPOCH : v->error;
	for (uint32_t i = 0; i < ctx->args.count; i++)
		if (ctx->args.parts[i].error == KERR_NONE)
			ctx->args.parts[i].error = err;
	txn_commit_respond(&ctx->done, KERR_NONE);
}

void handle_txn_offset_commit(struct request *req)
{
	int16_t version = req->header.api_version;
	struct txn_commit_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || txn_offset_commit_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	const struct txn_offset_commit_request *q = &ctx->q;
	ctx->req = req;
	ctx->done.fn = txn_commit_respond;
	size_t n = 0;
	for (int32_t i = 0; i < q->topics_count; i++)
		n += (size_t)q->topics[i].partitions_count;
	struct group_commit_partition *parts = request_alloc(req, n + 1, sizeof(*parts));
	if (!parts) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	size_t k = 0;
	for (int32_t i = 0; i < q->topics_count; i++) {
		for (int32_t j = 0; j < q->topics[i].partitions_count; j++) {
			const struct txn_offset_commit_request_txn_offset_commit_request_partition *p =
				&q->topics[i].partitions[j];
			parts[k++] = (struct group_commit_partition){
				.topic = q->topics[i].name,
				.partition = p->partition_index,
				.offset = p->committed_offset,
				.leader_epoch = p->committed_leader_epoch,
				.commit_timestamp = -1,
				.metadata = p->committed_metadata,
			};
		}
	}
	ctx->args = (struct group_txn_commit_args){
		.group_id = q->group_id,
		.producer_id = q->producer_id,
		.producer_epoch = q->producer_epoch,
		.member_id = version >= 3 ? q->member_id : kstr_from_cstr(""),
		.instance_id = version >= 3 ? q->group_instance_id : (struct kstr){ NULL, -1 },
		.generation = version >= 3 ? q->generation_id : -1,
		.count = (uint32_t)n,
		.parts = parts,
	};
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), q->group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!gc) {
		txn_commit_respond(&ctx->done, err);
		return;
	}
	ctx->gc = gc;
	ctx->partition = partition;
	/* Kafka checks the partitions and the group id before asking the
	 * transaction coordinator, and asks only while the producer has no
	 * transaction open in the group's partition. */
	if (group_txn_commit_known(request_runtime(req), &ctx->args) == 0 || q->group_id.len <= 0 ||
	    group_store_txn_open(request_runtime(req), partition, q->producer_id, q->producer_epoch)) {
		group_txn_commit(gc, partition, &ctx->args, &ctx->done);
		return;
	}
	ctx->verify = (struct txn_verify){
		.transactional_id = q->transactional_id,
		.producer_id = q->producer_id,
		.producer_epoch = q->producer_epoch,
		.topic = kstr_from_cstr(GROUP_STORE_TOPIC),
		.partition = partition,
		.done = txn_commit_verified,
	};
	txn_verify_start(request_runtime(req), request_shard(req), &ctx->verify);
}
