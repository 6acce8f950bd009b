/* ListGroups (key 16), v0-v5: every group this broker coordinates, filtered by
 * state (v4+) and type (v5+: "classic" or KIP-848's "consumer"). The
 * request visits every io shard in turn (request_relay), each listing its own
 * groups into the request's arena; the last one answers. */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "core/meta/topics.h"
#include "core/group/group_coordinator.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* Kafka's GroupType names; a consumer-protocol group's protocol type is
 * "consumer" too. */
static const char *group_type_name(const struct group *g)
{
	return g->type == GROUP_TYPE_CONSUMER ? "consumer" : "classic";
}

struct list_ctx {
	struct list_groups_request q;
	struct list_groups_response_listed_group **chunks; /* per io shard */
	int32_t *chunk_counts;
};

struct list_fill {
	struct request *req;
	const struct list_groups_request *q;
	struct list_groups_response_listed_group *out;
	int32_t n;
	int32_t cap;
	bool counting;
};

static bool list_wanted(const struct list_groups_request *q, int16_t version, const struct group *g)
{
	if (g->state == GROUP_DEAD)
		return false;
	if (version >= 4 && q->states_filter_count > 0) {
		bool match = false;
		for (int32_t i = 0; i < q->states_filter_count && !match; i++)
			match = group_state_parse(q->states_filter[i]) == (int)g->state;
		if (!match)
			return false;
	}
	if (version >= 5 && q->types_filter_count > 0) {
		bool match = false;
		for (int32_t i = 0; i < q->types_filter_count && !match; i++) {
			struct kstr t = q->types_filter[i];
			const char *name = group_type_name(g);
			match = t.len == (int32_t)strlen(name) &&
				strncasecmp(t.ptr, name, (size_t)t.len) == 0;
		}
		if (!match)
			return false;
	}
	return true;
}

static void list_one(struct group *g, void *ctx)
{
	struct list_fill *f = ctx;
	if (!list_wanted(f->q, f->req->header.api_version, g))
		return;
	if (f->counting) {
		f->cap++;
		return;
	}
	if (f->n >= f->cap)
		return;
	struct list_groups_response_listed_group *o = &f->out[f->n++];
	list_groups_response_listed_group_init(o);
	/* Copied: the response is encoded on another shard. */
	o->group_id = request_copy_kstr(f->req, g->id);
	o->protocol_type = g->type == GROUP_TYPE_CONSUMER ? kstr_from_cstr("consumer")
			   : g->protocol_type.len >= 0 ? request_copy_kstr(f->req, g->protocol_type)
						       : kstr_from_cstr("");
	o->group_state = kstr_from_cstr(group_state_name(g->state));
	o->group_type = kstr_from_cstr(group_type_name(g));
}

static void list_respond(struct request *req, struct list_ctx *ctx)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	int32_t total = 0;
	for (uint32_t k = 0; k < rt->io_shards; k++)
		total += ctx->chunk_counts[k];
	struct list_groups_response r;
	list_groups_response_init(&r);
	r.groups = request_alloc(req, (size_t)total + 1, sizeof(*r.groups));
	if (!r.groups) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++)
		for (int32_t i = 0; i < ctx->chunk_counts[k]; i++)
			r.groups[r.groups_count++] = ctx->chunks[k][i];
	REQUEST_RESPOND(req, list_groups, version, &r);
}

/* Lists this shard's groups, then goes on to the next io shard or answers. */
static void list_continue(struct request *req)
{
	struct list_ctx *ctx = req->handler_ctx;
	struct shard *here = request_shard(req);
	struct list_fill f = { .req = req, .q = &ctx->q, .counting = true };
	if (group_coordinator_of(here))
		group_table_for_each(&group_coordinator_of(here)->groups, list_one, &f);
	f.out = request_alloc(req, (size_t)f.cap + 1, sizeof(*f.out));
	if (!f.out)
		req->body.err = RC_ALLOC;
	f.counting = false;
	if (f.out && group_coordinator_of(here))
		group_table_for_each(&group_coordinator_of(here)->groups, list_one, &f);
	if (req->body.err != RC_OK) {
		request_reject_malformed(req);
		return;
	}
	ctx->chunks[here->id] = f.out;
	ctx->chunk_counts[here->id] = f.n;
	if (here->id + 1 < request_runtime(req)->io_shards)
		request_relay(req, here->id + 1, list_continue);
	else
		list_respond(req, ctx);
}

void handle_list_groups(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct list_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || list_groups_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->chunks = request_alloc(req, rt->io_shards, sizeof(*ctx->chunks));
	ctx->chunk_counts = request_alloc(req, rt->io_shards, sizeof(*ctx->chunk_counts));
	if (!ctx->chunks || !ctx->chunk_counts) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	/* Shard 0, the control shard, is the first io shard. */
	assert(request_on_control(req));
	req->handler_ctx = ctx;
	list_continue(req);
}
