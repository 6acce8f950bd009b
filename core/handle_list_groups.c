/* ListGroups (key 16), v0-v5: every group this broker coordinates, filtered by
 * state (v4+) and type (v5+; all of sluice's groups are "classic"). */
#include <string.h>
#include <strings.h>

#include "core/broker.h"
#include "core/group_coordinator.h"
#include "core/handlers.h"
#include "core/request.h"
#include "core/shard.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

static const char GROUP_TYPE_CLASSIC[] = "classic";

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
			match = t.len == (int32_t)strlen(GROUP_TYPE_CLASSIC) &&
				strncasecmp(t.ptr, GROUP_TYPE_CLASSIC, (size_t)t.len) == 0;
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
	o->group_id = kstr_from_cstr(g->id);
	o->protocol_type = kstr_from_cstr(g->protocol_type ? g->protocol_type : "");
	o->group_state = kstr_from_cstr(group_state_name(g->state));
	o->group_type = kstr_from_cstr(GROUP_TYPE_CLASSIC);
}

void handle_list_groups(struct request *req)
{
	struct broker *b = request_broker(req);
	int16_t version = req->header.api_version;
	struct list_groups_request q;
	if (list_groups_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct list_fill f = { .req = req, .q = &q, .counting = true };
	for (uint32_t i = 0; i < b->shard_count; i++)
		if (b->shards[i].groups)
			group_table_for_each(&b->shards[i].groups->groups, list_one, &f);
	f.out = request_alloc(req, (size_t)f.cap + 1, sizeof(*f.out));
	if (!f.out) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	f.counting = false;
	for (uint32_t i = 0; i < b->shard_count; i++)
		if (b->shards[i].groups)
			group_table_for_each(&b->shards[i].groups->groups, list_one, &f);
	struct list_groups_response r;
	list_groups_response_init(&r);
	r.groups = f.out;
	r.groups_count = f.n;
	size_t size = list_groups_response_size(&r, version);
	list_groups_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
}
