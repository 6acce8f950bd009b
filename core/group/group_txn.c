/* Transactional offsets on the group coordinator (see group_txn.h):
 * TxnOffsetCommit's checks and write, the pending offsets per (group,
 * producer id), and their completion by a marker, live or at replay. */
#include "core/group/group_txn.h"

#include <stdlib.h>
#include <string.h>

#include "core/group/group_internal.h"
#include "core/group/group_store.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

/* One producer's open transaction in one group. */
struct group_txn_pending {
	struct group_txn_pending *next;
	int64_t producer_id;
	struct group_offset_table offsets;
};

/* ---- the pending offsets ---------------------------------------------- */

static void txn_list_add(struct group *g)
{
	struct group_coordinator *gc = g->coord;
	g->txn_next = gc->txn_groups;
	if (g->txn_next)
		g->txn_next->txn_prev = &g->txn_next;
	g->txn_prev = &gc->txn_groups;
	gc->txn_groups = g;
}

static void txn_list_remove(struct group *g)
{
	*g->txn_prev = g->txn_next;
	if (g->txn_next)
		g->txn_next->txn_prev = g->txn_prev;
	g->txn_next = NULL;
	g->txn_prev = NULL;
}

static struct group_txn_pending **txn_find(struct group *g, int64_t producer_id)
{
	struct group_txn_pending **p = &g->txn_pending;
	while (*p && (*p)->producer_id != producer_id)
		p = &(*p)->next;
	return p;
}

/* Unlinks *p from its group and frees it; the group leaves the list with
 * its last open transaction. */
static void txn_pending_free(struct group *g, struct group_txn_pending **p)
{
	struct group_txn_pending *t = *p;
	*p = t->next;
	group_offset_table_clear(&t->offsets);
	free(t);
	if (!g->txn_pending)
		txn_list_remove(g);
}

static bool offset_copy(struct group_offset *dst, const struct group_offset_value *v,
			int64_t record_offset)
{
	char *meta = group_strdup(v->metadata.len >= 0 ? v->metadata : kstr_from_cstr(""));
	if (!meta)
		return false;
	free(dst->metadata);
	dst->metadata = meta;
	dst->offset = v->offset;
	dst->leader_epoch = v->leader_epoch;
	dst->commit_timestamp = v->commit_timestamp;
	dst->expire_timestamp = v->expire_timestamp;
	dst->record_offset = record_offset;
	return true;
}

int group_txn_put(struct group *g, int64_t producer_id, struct kstr topic, int32_t partition,
		  const struct group_offset_value *v, int64_t record_offset)
{
	struct group_txn_pending **p = txn_find(g, producer_id);
	if (!*p) {
		struct group_txn_pending *t = calloc(1, sizeof(*t));
		if (!t)
			return -1;
		t->producer_id = producer_id;
		if (!g->txn_pending)
			txn_list_add(g);
		*p = t;
	}
	struct group_offset *o = group_offset_put(&(*p)->offsets, topic, partition);
	if (!o || !offset_copy(o, v, record_offset)) {
		if (o && !o->metadata)
			group_offset_remove(&(*p)->offsets, o);
		if ((*p)->offsets.count == 0)
			txn_pending_free(g, p);
		return -1;
	}
	return 0;
}

void group_txn_forget(struct group *g, struct kstr topic, int32_t partition)
{
	for (struct group_txn_pending *t = g->txn_pending; t; t = t->next) {
		struct group_offset *o = group_offset_find(&t->offsets, topic, partition);
		if (o)
			group_offset_remove(&t->offsets, o);
	}
}

void group_txn_drop_all(struct group *g)
{
	while (g->txn_pending)
		txn_pending_free(g, &g->txn_pending);
}

bool group_txn_has_pending(const struct group *g, struct kstr topic, int32_t partition)
{
	for (const struct group_txn_pending *t = g->txn_pending; t; t = t->next)
		if (group_offset_find(&t->offsets, topic, partition))
			return true;
	return false;
}

void group_txn_for_each_pending(struct group *g, void (*fn)(struct group_offset *o, void *ctx),
				void *ctx)
{
	for (struct group_txn_pending *t = g->txn_pending; t; t = t->next)
		group_offset_for_each(&t->offsets, fn, ctx);
}

size_t group_txn_pending_count(const struct group *g)
{
	size_t n = 0;
	for (const struct group_txn_pending *t = g->txn_pending; t; t = t->next)
		n += t->offsets.count;
	return n;
}

/* ---- completion ------------------------------------------------------- */

struct materialize {
	struct group *group;
	uint32_t skipped;
	uint32_t failed;
};

/* A committed transaction's offset becomes the group's, unless the group's
 * current one was written later in the log (Kafka keeps the most recent,
 * so that compaction of __consumer_offsets cannot bring back another). */
static void materialize_one(struct group_offset *p, void *ctx)
{
	struct materialize *m = ctx;
	struct kstr topic = kstr_from_cstr(p->topic);
	struct group_offset *cur = group_offset_find(&m->group->offsets, topic, p->partition);
	if (cur && cur->record_offset > p->record_offset) {
		m->skipped++;
		return;
	}
	struct group_offset *o = cur ? cur : group_offset_put(&m->group->offsets, topic, p->partition);
	struct group_offset_value v = {
		.offset = p->offset,
		.leader_epoch = p->leader_epoch,
		.metadata = kstr_from_cstr(p->metadata),
		.commit_timestamp = p->commit_timestamp,
		.expire_timestamp = p->expire_timestamp,
	};
	if (!o || !offset_copy(o, &v, p->record_offset)) {
		if (o && !o->metadata)
			group_offset_remove(&m->group->offsets, o);
		m->failed++;
	}
}

void group_txn_complete(struct group_coordinator *gc, int32_t partition,
			int64_t producer_id, bool commit)
{
	for (struct group *g = gc->txn_groups, *next; g; g = next) {
		next = g->txn_next; /* g may leave the list */
		if (g->partition != partition)
			continue;
		struct group_txn_pending **p = txn_find(g, producer_id);
		if (!*p)
			continue;
		if (commit) {
			struct materialize m = { .group = g };
			group_offset_for_each(&(*p)->offsets, materialize_one, &m);
			if (m.failed)
				slog_error("group", "group %s: out of memory committing %u transactional "
					   "offset(s) of producer %lld", g->id, m.failed, (long long)producer_id);
		}
		txn_pending_free(g, p);
	}
}

/* ---- TxnOffsetCommit -------------------------------------------------- */

/* Kafka's checks of a transactional commit against a classic group: unlike
 * OffsetCommit, no member is needed when none is named (clients before v3
 * send none), and a rebalance in progress does not refuse it. */
static int16_t txn_commit_check_member(const struct group *g, const struct group_txn_commit_args *a)
{
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (a->generation < 0 && g->state == GROUP_EMPTY)
		return KERR_NONE;
	if (a->generation < 0 && a->member_id.len <= 0 && a->instance_id.len < 0)
		return KERR_NONE;
	if (a->instance_id.len >= 0) {
		const struct group_member *s =
			group_member_find_instance(g, a->instance_id.ptr, (size_t)a->instance_id.len);
		if (!s)
			return KERR_UNKNOWN_MEMBER_ID;
		if (!kstr_is(a->member_id, s->id))
			return KERR_FENCED_INSTANCE_ID;
	}
	if (a->member_id.len <= 0 ||
	    !group_member_find(g, a->member_id.ptr, (size_t)a->member_id.len))
		return KERR_UNKNOWN_MEMBER_ID;
	if (a->generation != g->generation)
		return KERR_ILLEGAL_GENERATION;
	return KERR_NONE;
}

/* The group to commit into (created for a commit outside group management),
 * or an error for every partition. */
static int16_t txn_commit_group(struct group_coordinator *gc, int32_t partition,
				const struct group_txn_commit_args *a, struct group **out)
{
	if (a->group_id.len <= 0)
		return KERR_INVALID_GROUP_ID;
	struct group *g = group_table_find(&gc->groups, a->group_id);
	if (!g) {
		if (a->generation >= 0)
			return KERR_ILLEGAL_GENERATION;
		if (!(g = group_table_add(&gc->groups, a->group_id, partition, gc)))
			return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	*out = g;
	return txn_commit_check_member(g, a);
}

/* The partitions the coordinator answers: all but the unknown ones. */
static void txn_commit_fail(struct group_txn_commit_args *a, int16_t err)
{
	for (uint32_t i = 0; i < a->count; i++)
		if (a->parts[i].error != KERR_UNKNOWN_TOPIC_OR_PARTITION)
			a->parts[i].error = err;
}

struct txn_write {
	struct group_txn_commit_args *args;
	struct group_done *done;
	struct group *group;
	struct group_offset_value *values; /* per part; metadata views into args */
};

static void txn_commit_written(void *ctx, int16_t err, int64_t base_offset)
{
	struct txn_write *tw = ctx;
	struct group_txn_commit_args *a = tw->args;
	struct group *g = tw->group;
	if (err != KERR_NONE) {
		txn_commit_fail(a, store_error_for_client(err));
	} else if (!g->removed) {
		int64_t record = base_offset;
		for (uint32_t i = 0; i < a->count; i++) {
			struct group_commit_partition *p = &a->parts[i];
			if (p->error != KERR_NONE)
				continue;
			if (group_txn_put(g, a->producer_id, p->topic, p->partition, &tw->values[i],
					  record++) != 0)
				p->error = KERR_UNKNOWN_SERVER_ERROR;
		}
	}
	struct group_done *d = tw->done;
	free(tw->values);
	free(tw);
	d->fn(d, KERR_NONE);
}

uint32_t group_txn_commit_known(struct runtime *rt, struct group_txn_commit_args *a)
{
	uint32_t known = 0;
	for (uint32_t i = 0; i < a->count; i++) {
		struct group_commit_partition *p = &a->parts[i];
		struct topic *t = topics_lookup(rt, p->topic);
		p->error = t && topic_partition(t, p->partition) ? KERR_NONE
								 : KERR_UNKNOWN_TOPIC_OR_PARTITION;
		known += p->error == KERR_NONE;
	}
	return known;
}

void group_txn_commit(struct group_coordinator *gc, int32_t partition,
		      struct group_txn_commit_args *a, struct group_done *d)
{
	struct runtime *rt = gc->rt;
	if (group_txn_commit_known(rt, a) == 0) {
		d->fn(d, KERR_NONE);
		return;
	}
	struct group *g = NULL;
	int16_t err = txn_commit_group(gc, partition, a, &g);
	struct txn_write *tw = err == KERR_NONE ? calloc(1, sizeof(*tw)) : NULL;
	struct group_offset_value *values = tw ? calloc(a->count + 1, sizeof(*values)) : NULL;
	struct group_store_record *recs = values ? calloc(a->count + 1, sizeof(*recs)) : NULL;
	if (err == KERR_NONE && !recs)
		err = KERR_COORDINATOR_NOT_AVAILABLE;
	if (err != KERR_NONE) {
		free(tw);
		free(values);
		txn_commit_fail(a, err);
		if (g)
			group_drop_if_unused(gc, g);
		d->fn(d, KERR_NONE);
		return;
	}
	int64_t now = group_now_ms();
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->count; i++) {
		struct group_commit_partition *p = &a->parts[i];
		if (p->error != KERR_NONE)
			continue;
		if (p->metadata.len > 0 && (uint32_t)p->metadata.len > rt->cfg.offset_metadata_max_bytes) {
			p->error = KERR_OFFSET_METADATA_TOO_LARGE;
			continue;
		}
		values[i] = (struct group_offset_value){
			.offset = p->offset,
			.leader_epoch = p->leader_epoch,
			.metadata = p->metadata.len >= 0 ? p->metadata : kstr_from_cstr(""),
			.commit_timestamp = now,
			.expire_timestamp = -1,
		};
		recs[n++] = (struct group_store_record){
			.topic = p->topic, .partition = p->partition, .offset = &values[i],
		};
	}
	*tw = (struct txn_write){ .args = a, .done = d, .group = g, .values = values };
	if (n == 0) {
		free(recs);
		txn_commit_written(tw, KERR_NONE, -1);
		group_drop_if_unused(gc, g);
		return;
	}
	struct group_store_producer prod = { .producer_id = a->producer_id,
					     .producer_epoch = a->producer_epoch };
	err = group_store_append_placed(g, recs, n, &prod, txn_commit_written, tw);
	free(recs);
	if (err != KERR_NONE) {
		txn_commit_written(tw, err, -1);
		group_drop_if_unused(gc, g);
	}
}
