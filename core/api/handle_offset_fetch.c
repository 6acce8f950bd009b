/* OffsetFetch (key 9), v0-v9: committed offsets of the listed partitions, or
 * of every partition the group committed (null topics, v2+); several groups in
 * one request from v8, answered by each group's shard in turn (group_route.h).
 * A partition without a commit answers offset -1. With require_stable (v7+),
 * a partition an open transaction holds an offset of answers
 * UNSTABLE_OFFSET_COMMIT (offset -1), as Kafka does, so that the consumer
 * retries once the transaction is over. */
#include <assert.h>

#include "core/group/group_coordinator.h"
#include "core/group/group_txn.h"
#include "core/api/group_route.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* One answered partition, whatever the version's struct. */
struct fetched {
	struct kstr topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	struct kstr metadata;
	int16_t error;
};

/* Strings taken from a group are copied into the request: a response of
 * several groups is encoded on another shard. */
struct fetched_list {
	struct request *req;
	struct fetched *items;
	size_t n;
	size_t cap;
	const struct group *group;  /* NULL: no such group */
	bool require_stable;
};

static void fetched_add(struct fetched_list *l, struct kstr topic, int32_t partition,
			const struct group_offset *o)
{
	assert(l->n < l->cap);
	if (l->require_stable && l->group && group_txn_has_pending(l->group, topic, partition)) {
		l->items[l->n++] = (struct fetched){
			.topic = topic, .partition = partition, .offset = -1, .leader_epoch = -1,
			.metadata = kstr_from_cstr(""), .error = KERR_UNSTABLE_OFFSET_COMMIT,
		};
		return;
	}
	l->items[l->n++] = (struct fetched){
		.topic = topic,
		.partition = partition,
		.offset = o ? o->offset : -1,
		.leader_epoch = o ? o->leader_epoch : -1,
		.metadata = o ? request_copy_kstr(l->req, o->metadata) : kstr_from_cstr(""),
	};
}

static void fetched_add_offset(struct group_offset *o, void *ctx)
{
	struct fetched_list *l = ctx;
	fetched_add(l, request_copy_kstr(l->req, o->topic), o->partition, o);
}

/* Groups the flat list by topic, in first-seen order. */
struct topic_span {
	struct kstr name;
	size_t count;
	size_t first;
};

/* Answers one group's partitions into l; returns the group-level error. */
static int16_t offset_fetch_group(struct request *req, struct kstr group_id, bool all,
				  int32_t topics_count, const struct kstr *topic_names,
				  const int32_t *partition_counts, int32_t *const *partitions,
				  struct fetched_list *l)
{
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), group_id,
							       &partition, &err);
	if (!gc)
		return err;
	struct group *g = group_coordinator_find(gc, group_id);
	l->group = g;
	if (all) {
		size_t total = g ? g->offsets.count : 0;
		l->items = request_alloc(req, total + 1, sizeof(*l->items));
		l->cap = l->items ? total : 0;
		l->n = 0;
		if (g && l->items)
			group_offset_for_each(&g->offsets, fetched_add_offset, l);
		return l->items ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
	}
	size_t total = 0;
	for (int32_t i = 0; i < topics_count; i++)
		total += (size_t)partition_counts[i];
	l->items = request_alloc(req, total + 1, sizeof(*l->items));
	l->cap = l->items ? total : 0;
	l->n = 0;
	if (!l->items)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (int32_t i = 0; i < topics_count; i++)
		for (int32_t j = 0; j < partition_counts[i]; j++)
			fetched_add(l, topic_names[i], partitions[i][j],
				    g ? group_offset_find(&g->offsets, topic_names[i], partitions[i][j]) : NULL);
	return KERR_NONE;
}

/* Splits l into per-topic spans (allocated from the request). */
static struct topic_span *offset_fetch_spans(struct request *req, const struct fetched_list *l,
					     int32_t *count)
{
	struct topic_span *spans = request_alloc(req, l->n + 1, sizeof(*spans));
	size_t *order = request_alloc(req, l->n + 1, sizeof(*order));
	if (!spans || !order)
		return NULL;
	int32_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		int32_t s = 0;
		while (s < n && !kstr_eq(spans[s].name, l->items[i].topic))
			s++;
		if (s == n)
			spans[n++] = (struct topic_span){ .name = l->items[i].topic };
		spans[s].count++;
	}
	size_t pos = 0;
	for (int32_t s = 0; s < n; s++) {
		spans[s].first = pos;
		pos += spans[s].count;
		spans[s].count = 0;
	}
	struct fetched *sorted = request_alloc(req, l->n + 1, sizeof(*sorted));
	if (!sorted)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		int32_t s = 0;
		while (!kstr_eq(spans[s].name, l->items[i].topic))
			s++;
		sorted[spans[s].first + spans[s].count++] = l->items[i];
	}
	for (size_t i = 0; i < l->n; i++)
		l->items[i] = sorted[i];
	*count = n;
	return spans;
}

static bool offset_fetch_legacy(struct request *req, const struct offset_fetch_request *q,
				struct offset_fetch_response *r)
{
	int32_t tc = q->topics_count > 0 ? q->topics_count : 0;
	struct kstr *names = request_alloc(req, (size_t)tc + 1, sizeof(*names));
	int32_t *counts = request_alloc(req, (size_t)tc + 1, sizeof(*counts));
	int32_t **parts = request_alloc(req, (size_t)tc + 1, sizeof(*parts));
	if (!names || !counts || !parts)
		return false;
	for (int32_t i = 0; i < tc; i++) {
		names[i] = q->topics[i].name;
		counts[i] = q->topics[i].partition_indexes_count;
		parts[i] = q->topics[i].partition_indexes;
	}
	struct fetched_list l = { .req = req, .require_stable = q->require_stable };
	int16_t err = offset_fetch_group(req, q->group_id, q->topics_count < 0, tc, names, counts,
					 parts, &l);
	r->error_code = err;
	int32_t spans_n = 0;
	struct topic_span *spans = offset_fetch_spans(req, &l, &spans_n);
	if (!spans)
		return false;
	r->topics = request_alloc(req, (size_t)spans_n + 1, sizeof(*r->topics));
	if (!r->topics)
		return false;
	r->topics_count = spans_n;
	for (int32_t s = 0; s < spans_n; s++) {
		struct offset_fetch_response_offset_fetch_response_topic *t = &r->topics[s];
		offset_fetch_response_offset_fetch_response_topic_init(t);
		t->name = spans[s].name;
		t->partitions = request_alloc(req, spans[s].count + 1, sizeof(*t->partitions));
		if (!t->partitions)
			return false;
		t->partitions_count = (int32_t)spans[s].count;
		for (size_t j = 0; j < spans[s].count; j++) {
			const struct fetched *f = &l.items[spans[s].first + j];
			struct offset_fetch_response_offset_fetch_response_partition *p = &t->partitions[j];
			offset_fetch_response_offset_fetch_response_partition_init(p);
			p->partition_index = f->partition;
			p->committed_offset = f->offset;
			p->committed_leader_epoch = f->leader_epoch;
			p->metadata = f->metadata;
			/* Before v2 there is no group-level error: each partition carries it. */
			p->error_code = req->header.api_version < 2 ? err : f->error;
		}
	}
	return true;
}

/* One group of a v8+ request, on its coordinating shard. */
static bool offset_fetch_one_group(struct request *req,
				   const struct offset_fetch_request_offset_fetch_request_group *qg,
				   bool req_stable,
				   struct offset_fetch_response_offset_fetch_response_group *rg)
{
	int32_t tc = qg->topics_count > 0 ? qg->topics_count : 0;
	struct kstr *names = request_alloc(req, (size_t)tc + 1, sizeof(*names));
	int32_t *counts = request_alloc(req, (size_t)tc + 1, sizeof(*counts));
	int32_t **parts = request_alloc(req, (size_t)tc + 1, sizeof(*parts));
	if (!names || !counts || !parts)
		return false;
	for (int32_t i = 0; i < tc; i++) {
		names[i] = qg->topics[i].name;
		counts[i] = qg->topics[i].partition_indexes_count;
		parts[i] = qg->topics[i].partition_indexes;
	}
	struct fetched_list l = { .req = req, .require_stable = req_stable };
	rg->error_code = offset_fetch_group(req, qg->group_id, qg->topics_count < 0, tc, names,
					    counts, parts, &l);
	int32_t spans_n = 0;
	struct topic_span *spans = offset_fetch_spans(req, &l, &spans_n);
	if (!spans)
		return false;
	rg->topics = request_alloc(req, (size_t)spans_n + 1, sizeof(*rg->topics));
	if (!rg->topics)
		return false;
	rg->topics_count = spans_n;
	for (int32_t s = 0; s < spans_n; s++) {
		struct offset_fetch_response_offset_fetch_response_topics *t = &rg->topics[s];
		offset_fetch_response_offset_fetch_response_topics_init(t);
		t->name = spans[s].name;
		t->partitions = request_alloc(req, spans[s].count + 1, sizeof(*t->partitions));
		if (!t->partitions)
			return false;
		t->partitions_count = (int32_t)spans[s].count;
		for (size_t j = 0; j < spans[s].count; j++) {
			const struct fetched *f = &l.items[spans[s].first + j];
			struct offset_fetch_response_offset_fetch_response_partitions *p = &t->partitions[j];
			offset_fetch_response_offset_fetch_response_partitions_init(p);
			p->partition_index = f->partition;
			p->committed_offset = f->offset;
			p->committed_leader_epoch = f->leader_epoch;
			p->metadata = f->metadata;
			p->error_code = f->error;
		}
	}
	return req->body.err == RC_OK;
}

struct offset_fetch_ctx {
	struct offset_fetch_request q;
	struct offset_fetch_response r;
	struct group_relay relay;
};

static void offset_fetch_respond(struct request *req, struct offset_fetch_response *r)
{
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, offset_fetch, version, r);
}

/* v8+: answers the groups this shard coordinates, then goes on or answers. */
static void offset_fetch_continue(struct request *req)
{
	struct offset_fetch_ctx *ctx = req->handler_ctx;
	bool ok = true;
	for (int32_t gi = 0; ok && gi < ctx->q.groups_count; gi++)
		if (group_relay_mine(&ctx->relay, req, gi))
			ok = offset_fetch_one_group(req, &ctx->q.groups[gi], ctx->q.require_stable,
						    &ctx->r.groups[gi]);
	if (!ok) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	uint32_t next = group_relay_next(&ctx->relay, req);
	if (next != GROUP_RELAY_NONE)
		request_relay(req, next, offset_fetch_continue);
	else
		offset_fetch_respond(req, &ctx->r);
}

static void offset_fetch_groups(struct request *req, struct offset_fetch_ctx *ctx)
{
	const struct offset_fetch_request *q = &ctx->q;
	struct offset_fetch_response *r = &ctx->r;
	struct kstr *ids = request_alloc(req, (size_t)q->groups_count + 1, sizeof(*ids));
	r->groups = request_alloc(req, (size_t)q->groups_count + 1, sizeof(*r->groups));
	for (int32_t gi = 0; ids && gi < q->groups_count; gi++)
		ids[gi] = q->groups[gi].group_id;
	if (!ids || !r->groups || !group_relay_init(&ctx->relay, req, ids, q->groups_count)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	r->groups_count = q->groups_count;
	for (int32_t gi = 0; gi < q->groups_count; gi++) {
		struct offset_fetch_response_offset_fetch_response_group *rg = &r->groups[gi];
		offset_fetch_response_offset_fetch_response_group_init(rg);
		rg->group_id = q->groups[gi].group_id;
		if (ctx->relay.owners[gi] == GROUP_RELAY_NONE)
			rg->error_code = ctx->relay.errors[gi];
	}
	req->handler_ctx = ctx;
	offset_fetch_continue(req);
}

void handle_offset_fetch(struct request *req)
{
	int16_t version = req->header.api_version;
	struct offset_fetch_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || offset_fetch_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	offset_fetch_response_init(&ctx->r);
	if (version >= 8) {
		offset_fetch_groups(req, ctx);
		return;
	}
	int32_t partition;
	int16_t err;
	struct group_coordinator *gc = group_coordinator_route(request_runtime(req), ctx->q.group_id,
							       &partition, &err);
	if (!group_route_here(req, gc))
		return;
	if (!offset_fetch_legacy(req, &ctx->q, &ctx->r) || req->body.err != RC_OK) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	offset_fetch_respond(req, &ctx->r);
}
