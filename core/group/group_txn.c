/* Transactional offsets on the group coordinator (see group_txn.h):
 * TxnOffsetCommit's checks and write, and the completion of the pending
 * offsets (kept with the group, group.c) by a marker, live or at replay. */
#include "core/group/group_txn.h"

#include <stdlib.h>
#include <string.h>

#include "core/group/group_internal.h"
#include "core/group/group_store.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

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
	struct kstr topic = p->topic;
	struct group_offset *cur = group_offset_find(&m->group->offsets, topic, p->partition);
	if (cur && cur->record_offset > p->record_offset) {
		m->skipped++;
		return;
	}
	struct group_offset *o = cur ? cur : group_offset_put(&m->group->offsets, topic, p->partition);
	struct group_offset_value v = {
		.offset = p->offset,
		.leader_epoch = p->leader_epoch,
		.metadata = p->metadata,
		.commit_timestamp = p->commit_timestamp,
		.expire_timestamp = p->expire_timestamp,
	};
	if (!o || !group_offset_set(o, &v, p->record_offset)) {
		if (o && o->metadata.len < 0)
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
		struct group_offset_table *pending = group_txn_pending_offsets(g, producer_id);
		if (!pending)
			continue;
		if (commit) {
			struct materialize m = { .group = g };
			group_offset_for_each(pending, materialize_one, &m);
			if (m.failed)
				slog_error("group", "group %s: out of memory committing %u transactional "
					   "offset(s) of producer %lld", SLOG_STR(g->id), m.failed,
					   (long long)producer_id);
		}
		group_txn_pending_end(g, producer_id);
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
		const struct group_member *s = group_member_find_instance(g, a->instance_id);
		if (!s)
			return KERR_UNKNOWN_MEMBER_ID;
		if (!kstr_is(a->member_id, s->id))
			return KERR_FENCED_INSTANCE_ID;
	}
	if (a->member_id.len <= 0 || !group_member_find(g, a->member_id))
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
