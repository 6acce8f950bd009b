/* Committed offsets on the coordinator (see group_offsets.h): OffsetCommit,
 * OffsetDelete, the tombstones they and DeleteGroups write, and the expiry of
 * offsets and empty groups after offsets.retention.minutes. */
#include <stdlib.h>
#include <string.h>

#include "core/meta/topics.h"
#include "core/group/group_consumer.h"
#include "core/group/group_internal.h"
#include "core/group/group_offsets.h"
#include "core/group/group_store.h"
#include "core/group/group_txn.h"
#include "core/meta/topics.h"
#include "core/shard/shard.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

static const char CONSUMER_PROTOCOL_TYPE[] = "consumer";

struct commit_write {
	struct group_commit_args *args;
	struct group_done *done;
	struct group *group;
	struct group_offset_value *values; /* per part; metadata views into args */
	int64_t *expire;
};

static void commit_fail_all(struct group_commit_args *a, int16_t err)
{
	for (uint32_t i = 0; i < a->count; i++)
		if (a->parts[i].error == KERR_NONE)
			a->parts[i].error = err;
}

static void commit_written(void *ctx, int16_t err, int64_t base_offset)
{
	struct commit_write *cw = ctx;
	struct group_commit_args *a = cw->args;
	struct group *g = cw->group;
	if (err != KERR_NONE) {
		commit_fail_all(a, err == KERR_MESSAGE_TOO_LARGE ? KERR_INVALID_COMMIT_OFFSET_SIZE
								 : store_error_for_client(err));
	} else if (!g->removed) {
		int64_t record = base_offset;
		for (uint32_t i = 0; i < a->count; i++) {
			struct group_commit_partition *p = &a->parts[i];
			if (p->error != KERR_NONE)
				continue;
			struct group_offset *o = group_offset_put(&g->offsets, p->topic, p->partition);
			if (!o || !group_offset_set(o, &cw->values[i], record++)) {
				if (o && o->metadata.len < 0)
					group_offset_remove(&g->offsets, o);
				p->error = KERR_UNKNOWN_SERVER_ERROR;
			}
		}
	}
	struct group_done *d = cw->done;
	free(cw->values);
	free(cw);
	d->fn(d, KERR_NONE);
}

static int16_t group_commit_check(struct group *g, const struct group_commit_args *a)
{
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (g->type == GROUP_TYPE_CONSUMER)
		return group_consumer_commit_check(g, a->member_id, a->generation);
	if (a->instance_id.len >= 0) {
		struct group_member *by_instance = group_member_find_instance(g, a->instance_id);
		if (by_instance && !kstr_is(a->member_id, by_instance->id))
			return KERR_FENCED_INSTANCE_ID;
	}
	if (a->generation < 0 && g->state == GROUP_EMPTY)
		return KERR_NONE;
	if (g->state == GROUP_COMPLETING_REBALANCE)
		return KERR_REBALANCE_IN_PROGRESS;
	struct group_member *m = a->member_id.len > 0 ? group_member_find(g, a->member_id) : NULL;
	if (!m)
		return KERR_UNKNOWN_MEMBER_ID;
	if (a->generation != g->generation)
		return KERR_ILLEGAL_GENERATION;
	member_arm_session(m);
	return KERR_NONE;
}

void group_commit(struct group_coordinator *gc, int32_t partition, struct group_commit_args *a,
		  struct group_done *d)
{
	struct runtime *rt = gc->rt;
	for (uint32_t i = 0; i < a->count; i++)
		a->parts[i].error = KERR_NONE;
	if (a->group_id.len <= 0) {
		commit_fail_all(a, KERR_INVALID_GROUP_ID);
		d->fn(d, KERR_NONE);
		return;
	}
	struct group *g = group_table_find(&gc->groups, a->group_id);
	int16_t err = KERR_NONE;
	if (!g) {
		if (a->generation >= 0)
			err = KERR_ILLEGAL_GENERATION;
		else if (!(g = group_table_add(&gc->groups, a->group_id, partition, gc)))
			err = KERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		err = group_commit_check(g, a);
	}
	if (err != KERR_NONE) {
		commit_fail_all(a, err);
		d->fn(d, KERR_NONE);
		return;
	}
	struct commit_write *cw = calloc(1, sizeof(*cw));
	struct group_offset_value *values = calloc(a->count + 1, sizeof(*values));
	struct group_store_record *recs = calloc(a->count + 1, sizeof(*recs));
	if (!cw || !values || !recs) {
		free(cw);
		free(values);
		free(recs);
		commit_fail_all(a, KERR_COORDINATOR_NOT_AVAILABLE);
		d->fn(d, KERR_NONE);
		return;
	}
	int64_t now = group_now_ms();
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->count; i++) {
		struct group_commit_partition *p = &a->parts[i];
		struct topic *t = topics_lookup(rt, p->topic);
		if (!t || !topic_partition(t, p->partition)) {
			p->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		if (p->metadata.len > 0 && (uint32_t)p->metadata.len > rt->cfg.offset_metadata_max_bytes) {
			p->error = KERR_OFFSET_METADATA_TOO_LARGE;
			continue;
		}
		int64_t ts = p->commit_timestamp >= 0 ? p->commit_timestamp : now;
		values[i] = (struct group_offset_value){
			.offset = p->offset,
			.leader_epoch = p->leader_epoch,
			.metadata = p->metadata.len >= 0 ? p->metadata : kstr_from_cstr(""),
			.commit_timestamp = ts,
			.expire_timestamp = group_offset_expire_ms(ts, a->retention_ms),
		};
		recs[n++] = (struct group_store_record){
			.topic = p->topic, .partition = p->partition, .offset = &values[i],
		};
	}
	cw->args = a;
	cw->done = d;
	cw->group = g;
	cw->values = values;
	if (n == 0) {
		free(recs);
		commit_written(cw, KERR_NONE, -1);
		group_drop_if_unused(gc, g);
		return;
	}
	err = group_store_append_placed(g, recs, n, NULL, commit_written, cw);
	free(recs);
	if (err != KERR_NONE)
		commit_written(cw, err, -1);
}

struct tombstone_fill {
	struct group_store_record *recs;
	uint32_t n;
	uint32_t cap;
	bool (*want)(const struct group_offset *o, void *ctx);
	void *ctx;
	const struct group *group;
};

static void tombstone_add(struct group_offset *o, void *ctx)
{
	struct tombstone_fill *f = ctx;
	if (f->n < f->cap && (!f->want || f->want(o, f->ctx)))
		f->recs[f->n++] = (struct group_store_record){
			.topic = o->topic, .partition = o->partition, .tombstone = true,
		};
}

/* A pending transactional offset of a partition without a committed one
 * gets its own tombstone, once (Kafka's deleteAllOffsets and OffsetDelete). */
static void tombstone_add_pending(struct group_offset *o, void *ctx)
{
	struct tombstone_fill *f = ctx;
	struct kstr topic = o->topic;
	if (group_offset_find(&f->group->offsets, topic, o->partition))
		return;
	for (uint32_t i = 0; i < f->n; i++)
		if (f->recs[i].partition == o->partition && kstr_eq(f->recs[i].topic, topic))
			return;
	tombstone_add(o, ctx);
}

/* Writes tombstones for the offsets `want` selects (all when NULL), with
 * `pending_too` for the selected partitions that only open transactions
 * hold, and with `group_too` for the group itself. */
int16_t group_write_tombstones(struct group *g, bool group_too, bool pending_too,
			       bool (*want)(const struct group_offset *o, void *ctx),
			       void *want_ctx, group_store_done_fn done, void *ctx,
			       uint32_t *written)
{
	size_t pending = pending_too ? group_txn_pending_count(g) : 0;
	struct tombstone_fill f = { .cap = (uint32_t)(g->offsets.count + pending) + 1, .want = want,
				    .ctx = want_ctx, .group = g };
	f.recs = calloc(f.cap, sizeof(*f.recs));
	if (!f.recs)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	group_offset_for_each(&g->offsets, tombstone_add, &f);
	if (pending_too)
		group_txn_for_each_pending(g, tombstone_add_pending, &f);
	if (group_too)
		f.recs[f.n++] = (struct group_store_record){ .is_metadata = true, .tombstone = true };
	*written = f.n;
	int16_t err = f.n ? group_store_append(g, f.recs, f.n, done, ctx) : KERR_NONE;
	free(f.recs);
	return err;
}

struct subscribed {
	struct kstr *topics;
	uint32_t n;
	uint32_t cap;
};

static void subscribed_add(struct kstr topic, void *ctx)
{
	struct subscribed *s = ctx;
	for (uint32_t i = 0; i < s->n; i++)
		if (kstr_eq(s->topics[i], topic))
			return;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct kstr *t = realloc(s->topics, cap * sizeof(*t));
		if (!t)
			return;
		s->topics = t;
		s->cap = cap;
	}
	s->topics[s->n++] = topic;
}

bool group_consumer_subscription_topics(struct kbytes metadata,
					void (*fn)(struct kstr topic, void *ctx), void *ctx)
{
	if (metadata.len < 2)
		return false;
	struct rcursor c;
	rc_init(&c, (uint8_t *)metadata.ptr, (size_t)metadata.len);
	(void)rc_int16(&c);
	int32_t n = rc_array_len(&c, false, GROUP_RECORD_MEMBERS_MAX, 2);
	for (int32_t i = 0; i < n && c.err == RC_OK; i++) {
		struct kstr t = rc_string(&c);
		if (c.err == RC_OK)
			fn(t, ctx);
	}
	return c.err == RC_OK;
}

struct offset_delete_write {
	struct group_done *done;
	struct group_offset_delete_partition *parts;
	uint32_t count;
	struct group *group;
};

static bool offset_delete_wanted(const struct group_offset *o, void *ctx)
{
	struct offset_delete_write *ow = ctx;
	for (uint32_t i = 0; i < ow->count; i++) {
		const struct group_offset_delete_partition *p = &ow->parts[i];
		if (p->error == KERR_NONE && p->partition == o->partition && kstr_is(p->topic, o->topic))
			return true;
	}
	return false;
}

static void offset_delete_written(void *ctx, int16_t err)
{
	struct offset_delete_write *ow = ctx;
	struct group *g = ow->group;
	for (uint32_t i = 0; i < ow->count; i++) {
		struct group_offset_delete_partition *p = &ow->parts[i];
		if (p->error != KERR_NONE)
			continue;
		if (err != KERR_NONE) {
			p->error = store_error_for_client(err);
			continue;
		}
		struct group_offset *o = g->removed ? NULL
			: group_offset_find(&g->offsets, p->topic, p->partition);
		if (o)
			group_offset_remove(&g->offsets, o);
		if (!g->removed)
			group_txn_forget(g, p->topic, p->partition);
	}
	struct group_done *d = ow->done;
	free(ow);
	d->fn(d, KERR_NONE);
}

void group_offset_delete(struct group_coordinator *gc, struct kstr group_id,
			 struct group_offset_delete_partition *parts, uint32_t count,
			 struct group_done *d)
{
	struct group *g = group_id.len > 0 ? group_table_find(&gc->groups, group_id) : NULL;
	if (group_id.len <= 0) {
		d->fn(d, KERR_INVALID_GROUP_ID);
		return;
	}
	if (!g || g->state == GROUP_DEAD) {
		d->fn(d, KERR_GROUP_ID_NOT_FOUND);
		return;
	}
	bool consumer = kstr_is(kstr_from_cstr(CONSUMER_PROTOCOL_TYPE), g->protocol_type);
	if (g->state != GROUP_EMPTY && !consumer) {
		d->fn(d, KERR_NON_EMPTY_GROUP);
		return;
	}
	struct subscribed subs = { 0 };
	if (g->state != GROUP_EMPTY) {
		for (struct group_member *m = g->members; m; m = m->next) {
			const struct group_protocol *p = member_protocol(m, g->protocol_name);
			if (!p && m->protocol_count)
				p = &m->protocols[0];
			if (p)
				group_consumer_subscription_topics(
					(struct kbytes){ p->metadata, p->metadata_len }, subscribed_add, &subs);
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		struct group_offset_delete_partition *p = &parts[i];
		struct topic *t = topics_lookup(gc->rt, p->topic);
		p->error = KERR_NONE;
		if (!t || !topic_partition(t, p->partition)) {
			p->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		for (uint32_t j = 0; j < subs.n; j++)
			if (kstr_eq(subs.topics[j], p->topic))
				p->error = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
	}
	free(subs.topics);
	struct offset_delete_write *ow = malloc(sizeof(*ow));
	if (!ow) {
		d->fn(d, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	*ow = (struct offset_delete_write){ .done = d, .parts = parts, .count = count, .group = g };
	uint32_t n;
	int16_t err = group_write_tombstones(g, false, true, offset_delete_wanted, ow,
					     offset_delete_written, ow, &n);
	if (err != KERR_NONE || n == 0)
		offset_delete_written(ow, err);
}

/* ---- retention -------------------------------------------------------- */

struct expiry {
	int64_t now;
	int64_t retention_ms;
	const struct group *group;
	uint32_t expired;
};

static bool offset_expired(const struct group_offset *o, void *ctx)
{
	const struct expiry *e = ctx;
	/* Not while an open transaction holds an offset of the partition. */
	if (group_txn_has_pending(e->group, o->topic, o->partition))
		return false;
	if (o->expire_timestamp >= 0)
		return e->now >= o->expire_timestamp;
	if (e->group->state != GROUP_EMPTY)
		return false;
	/* KIP-211: a consumer group's offsets expire together, counted from when
	 * it became empty; a group that only commits, from each commit. */
	int64_t base = e->group->protocol_type.len >= 0 ? e->group->state_timestamp : o->commit_timestamp;
	return group_elapsed(e->now, base, e->retention_ms);
}

struct expiry_write {
	struct group *group;
	struct expiry e;
	bool group_too;
};

static void expiry_remove(struct group_offset *o, void *ctx)
{
	struct expiry_write *ew = ctx;
	if (offset_expired(o, &ew->e)) {
		group_offset_remove(&ew->group->offsets, o);
		ew->e.expired++;
	}
}

static void expiry_written(void *ctx, int16_t err)
{
	struct expiry_write *ew = ctx;
	struct group *g = ew->group;
	if (err != KERR_NONE) {
		slog_error("group", "cannot expire offsets of group %s: error %d", SLOG_STR(g->id), err);
	} else if (!g->removed) {
		group_offset_for_each(&g->offsets, expiry_remove, ew);
		if (ew->e.expired)
			slog_info("group", "removed %u expired offset(s) of group %s", ew->e.expired,
				  SLOG_STR(g->id));
		if (ew->group_too && g->offsets.count == 0 && g->state == GROUP_EMPTY &&
		    !g->members && !g->pending_members && !g->txn_pending) {
			slog_info("group", "group %s is empty and has no offsets: removed", SLOG_STR(g->id));
			group_table_remove(&g->coord->groups, g);
		}
	}
	free(ew);
}

static void group_expire(struct group *g, void *ctx)
{
	const struct expiry *base = ctx;
	if (g->state == GROUP_DEAD || g->writes_in_flight)
		return;
	struct expiry_write *ew = malloc(sizeof(*ew));
	if (!ew)
		return;
	*ew = (struct expiry_write){ .group = g, .e = *base };
	ew->e.group = g;
	uint32_t still = 0;
	struct group_offset_table *t = &g->offsets;
	for (size_t i = 0; i < t->bucket_count; i++)
		for (struct group_offset *o = t->buckets[i]; o; o = o->next)
			still += !offset_expired(o, &ew->e);
	/* A group with open transactions stays, as in Kafka. */
	ew->group_too = still == 0 && g->state == GROUP_EMPTY && !g->members && !g->pending_members &&
			!g->txn_pending;
	uint32_t n;
	int16_t err = group_write_tombstones(g, ew->group_too, false, offset_expired, &ew->e,
					     expiry_written, ew, &n);
	if (err != KERR_NONE)
		slog_error("group", "cannot expire offsets of group %s: error %d", SLOG_STR(g->id), err);
	if (err != KERR_NONE || n == 0)
		free(ew);
}

void group_on_retention_timer(struct io_timer *t)
{
	struct group_coordinator *gc = container_of(t, struct group_coordinator, retention_timer);
	const struct broker_config *cfg = &gc->rt->cfg;
	struct expiry e = { .now = group_now_ms(),
			    .retention_ms = (int64_t)cfg->offsets_retention_minutes * 60000 };
	group_table_for_each(&gc->groups, group_expire, &e);
	io_timer_arm(gc->shard->reactor, t, (uint64_t)cfg->offsets_retention_check_interval_ms * NS_PER_MS,
		     group_on_retention_timer);
}
