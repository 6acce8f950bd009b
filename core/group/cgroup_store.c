/* Consumer-protocol groups' records encoded from their state and appended
 * to __consumer_offsets (cgroup_store.h). */
#include "core/group/cgroup_store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/slog.h"
#include "proto/arena.h"
#include "proto/kafka_errors.h"

static const struct kstr EMPTY = { "", 0 };

/* The value of one listed record from the group's state; false when the
 * arena is full. */
static bool value_of(const struct cgroup *cg, const struct cgroup_member *m, int16_t type,
		     struct arena *ar, struct cg_record_value *v)
{
	memset(v, 0, sizeof(*v));
	v->type = type;
	switch (type) {
	case CG_RECORD_METADATA:
		v->metadata = (struct cg_metadata_value){ cg->group_epoch, cg->metadata_hash };
		return true;
	case CG_RECORD_TARGET_ASSIGNMENT_METADATA:
		v->target_metadata = (struct cg_target_metadata_value){ cg->assignment_epoch,
									 cg->assignment_timestamp_ms };
		return true;
	case CG_RECORD_MEMBER_METADATA:
		v->member = (struct cg_member_value){
			.instance_id = m->instance_id,
			.rack_id = m->rack_id,
			.client_id = m->client_id.len >= 0 ? m->client_id : EMPTY,
			.client_host = m->client_host.len >= 0 ? m->client_host : EMPTY,
			.topic_count = m->topic_name_count,
			.subscribed_topic_names = m->topic_names,
			/* Kafka writes "" for no regular expression. */
			.subscribed_topic_regex = m->topic_regex.len >= 0 ? m->topic_regex : EMPTY,
			.rebalance_timeout_ms = m->rebalance_timeout_ms,
			.server_assignor = m->server_assignor,
		};
		return true;
	case CG_RECORD_TARGET_ASSIGNMENT_MEMBER:
		return cg_assignment_to_records(&m->target, false, ar, &v->target_member.topics,
						&v->target_member.topic_count) == 0;
	default:
		assert(type == CG_RECORD_CURRENT_MEMBER_ASSIGNMENT);
		return cg_member_assignment_to_record(&m->current, ar, &v->current_assignment) == 0;
	}
}

void cgroup_encoded_free(struct cgroup_encoded *e)
{
	free(e->kv);
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

int cgroup_records_encode(const struct cgroup *cg, struct kstr group_id,
			  const struct cgroup_records *refs, struct cgroup_encoded *out)
{
	memset(out, 0, sizeof(*out));
	assert(!refs->failed);
	struct arena ar;
	arena_init(&ar, CGROUP_STORE_ARENA_BYTES);
	struct cg_record_key *keys = calloc(refs->count ? refs->count : 1, sizeof(*keys));
	struct cg_record_value *values = calloc(refs->count ? refs->count : 1, sizeof(*values));
	int rc = -1;
	if (!keys || !values)
		goto out;
	size_t total = 0;
	for (uint32_t i = 0; i < refs->count; i++) {
		const struct cgroup_record_ref *r = &refs->refs[i];
		keys[i] = (struct cg_record_key){ .type = r->type, .group_id = group_id,
						  .member_id = r->member_id, .regex = { NULL, -1 } };
		if (!cg_record_key_fits(&keys[i])) {
			slog_error("group", "group %s: an id is longer than %d bytes; its records "
				   "cannot be written", SLOG_STR(group_id), INT16_MAX);
			rc = -2;
			goto out;
		}
		total += cg_record_key_size(&keys[i]);
		if (r->tombstone)
			continue;
		const struct cgroup_member *m = NULL;
		if (r->member_id.len >= 0 && !(m = cgroup_member_find(cg, r->member_id))) {
			slog_error("group", "group %s: a record lists member %s, which is gone",
				   SLOG_STR(group_id), SLOG_STR(r->member_id));
			rc = -2;
			goto out;
		}
		if (!value_of(cg, m, r->type, &ar, &values[i]))
			goto out;
		total += cg_record_value_size(&values[i]);
	}
	out->kv = calloc(refs->count ? refs->count : 1, sizeof(*out->kv));
	out->bytes = malloc(total ? total : 1);
	if (!out->kv || !out->bytes)
		goto out;
	struct wcursor w;
	wc_init(&w, out->bytes, total, NULL, 0);
	for (uint32_t i = 0; i < refs->count; i++) {
		uint8_t *key = w.pos;
		cg_record_key_write(&w, &keys[i]);
		out->kv[i].key = (struct kbytes){ key, (int32_t)(w.pos - key) };
		out->kv[i].value = (struct kbytes){ NULL, -1 };
		if (refs->refs[i].tombstone)
			continue;
		uint8_t *value = w.pos;
		cg_record_value_write(&w, &values[i]);
		out->kv[i].value = (struct kbytes){ value, (int32_t)(w.pos - value) };
	}
	assert(!w.overflow && w.pos == w.end);
	out->count = refs->count;
	rc = 0;
out:
	if (rc != 0)
		cgroup_encoded_free(out);
	free(keys);
	free(values);
	arena_release(&ar);
	return rc;
}

int16_t cgroup_store_append(struct group *g, const struct cgroup *cg,
			    const struct cgroup_records *refs, group_store_done_fn done, void *ctx)
{
	assert(refs->count > 0);
	if (refs->failed)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	struct cgroup_encoded e;
	int rc = cgroup_records_encode(cg, g->id, refs, &e);
	if (rc != 0)
		return rc == -2 ? KERR_INVALID_REQUEST : KERR_COORDINATOR_NOT_AVAILABLE;
	int16_t err = group_store_append_kv(g, e.kv, e.count, done, ctx);
	cgroup_encoded_free(&e);
	return err;
}
