/* A joined member's requests on the coordinator: SyncGroup (the leader's
 * assignment is persisted, then handed to every member), Heartbeat and
 * LeaveGroup. The order of checks and the error for each case follow Kafka's
 * GroupCoordinator, since clients act on those codes. */
#include <stdlib.h>
#include <string.h>

#include "core/group/group_internal.h"
#include "core/group/group_store.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

/* ---- SyncGroup -------------------------------------------------------- */

struct sync_store {
	struct group *group;
	int32_t generation;
};

static void group_answer_syncs(struct group *g)
{
	for (struct group_member *m = g->members; m; m = m->next) {
		if (!m->sync_wait)
			continue;
		struct group_sync_waiter *w = m->sync_wait;
		m->sync_wait = NULL;
		struct group_sync_result r = {
			.error = KERR_NONE,
			.protocol_type = g->protocol_type,
			.protocol_name = g->protocol_name,
			.assignment = { m->assignment, m->assignment_len },
		};
		w->done(w, &r);
	}
}

static bool group_all_synced(const struct group *g)
{
	for (const struct group_member *m = g->members; m; m = m->next)
		if (!m->synced)
			return false;
	return true;
}

static void sync_stored(void *ctx, int16_t err)
{
	struct sync_store *s = ctx;
	struct group *g = s->group;
	if (g->state == GROUP_COMPLETING_REBALANCE && g->generation == s->generation) {
		if (err != KERR_NONE) {
			slog_error("group", "cannot persist the assignment of group %s: error %d",
				   SLOG_STR(g->id), err);
			group_reset_assignments(g, store_error_for_client(err));
			group_prepare_rebalance(g, "the assignment could not be persisted");
		} else {
			group_set_state(g, GROUP_STABLE);
			group_answer_syncs(g);
			if (group_all_synced(g))
				io_timer_stop(group_reactor(g), &g->rebalance_timer);
		}
	}
	free(s);
}

static bool group_take_assignment(struct group *g, const struct group_sync_args *a)
{
	for (struct group_member *m = g->members; m; m = m->next) {
		free(m->assignment);
		m->assignment = NULL;
		m->assignment_len = 0;
	}
	for (uint32_t i = 0; i < a->assignment_count; i++) {
		const struct group_sync_assignment *as = &a->assignments[i];
		if (as->member_id.len < 0)
			continue;
		struct group_member *m = group_member_find(g, as->member_id);
		if (!m)
			continue;
		int32_t len = as->assignment.len > 0 ? as->assignment.len : 0;
		uint8_t *copy = malloc((size_t)len + 1);
		if (!copy)
			return false;
		if (len)
			memcpy(copy, as->assignment.ptr, (size_t)len);
		free(m->assignment);
		m->assignment = copy;
		m->assignment_len = len;
	}
	return true;
}

void group_sync(struct group_coordinator *gc, const struct group_sync_args *a,
		struct group_sync_waiter *w)
{
	struct group *g = group_table_find(&gc->groups, a->group_id);
	/* A consumer-protocol group has no classic members. */
	if (!g || g->type == GROUP_TYPE_CONSUMER) {
		sync_answer_error(w, KERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (g->state == GROUP_DEAD) {
		sync_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	if (a->instance_id.len >= 0) {
		struct group_member *by_instance = group_member_find_instance(g, a->instance_id);
		if (by_instance && !kstr_is(a->member_id, by_instance->id)) {
			sync_answer_error(w, KERR_FENCED_INSTANCE_ID);
			return;
		}
	}
	struct group_member *m = a->member_id.len > 0 ? group_member_find(g, a->member_id) : NULL;
	if (!m) {
		sync_answer_error(w, KERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (a->generation != g->generation) {
		sync_answer_error(w, KERR_ILLEGAL_GENERATION);
		return;
	}
	if ((a->protocol_type.len >= 0 && !kstr_is(a->protocol_type, g->protocol_type)) ||
	    (a->protocol_name.len >= 0 && !kstr_is(a->protocol_name, g->protocol_name))) {
		sync_answer_error(w, KERR_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	switch (g->state) {
	case GROUP_EMPTY:
		sync_answer_error(w, KERR_UNKNOWN_MEMBER_ID);
		return;
	case GROUP_PREPARING_REBALANCE:
		sync_answer_error(w, KERR_REBALANCE_IN_PROGRESS);
		return;
	case GROUP_COMPLETING_REBALANCE:
		if (m->sync_wait)
			sync_answer_error(m->sync_wait, KERR_REBALANCE_IN_PROGRESS);
		m->sync_wait = w;
		m->synced = true;
		member_arm_session(m);
		if (!kstr_is(m->id, g->leader_id))
			return;
		struct sync_store *s = malloc(sizeof(*s));
		if (!s || !group_take_assignment(g, a)) {
			free(s);
			group_reset_assignments(g, KERR_COORDINATOR_NOT_AVAILABLE);
			group_prepare_rebalance(g, "out of memory taking the assignment");
			return;
		}
		s->group = g;
		s->generation = g->generation;
		struct group_store_record rec = { .is_metadata = true };
		int16_t err = group_store_append(g, &rec, 1, sync_stored, s);
		if (err != KERR_NONE)
			sync_stored(s, err);
		return;
	case GROUP_STABLE: {
		m->synced = true;
		member_arm_session(m);
		struct group_sync_result r = {
			.error = KERR_NONE,
			.protocol_type = g->protocol_type,
			.protocol_name = g->protocol_name,
			.assignment = { m->assignment, m->assignment_len },
		};
		w->done(w, &r);
		if (group_all_synced(g))
			io_timer_stop(group_reactor(g), &g->rebalance_timer);
		return;
	}
	case GROUP_DEAD:
		break;
	}
	sync_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE);
}

/* ---- Heartbeat and LeaveGroup ----------------------------------------- */

int16_t group_heartbeat(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
			struct kstr instance_id, int32_t generation)
{
	struct group *g = group_table_find(&gc->groups, group_id);
	if (!g || g->type == GROUP_TYPE_CONSUMER)
		return KERR_UNKNOWN_MEMBER_ID;
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (instance_id.len >= 0) {
		struct group_member *by_instance = group_member_find_instance(g, instance_id);
		if (by_instance && !kstr_is(member_id, by_instance->id))
			return KERR_FENCED_INSTANCE_ID;
	}
	if (g->state == GROUP_EMPTY)
		return KERR_UNKNOWN_MEMBER_ID;
	struct group_member *m = member_id.len > 0 ? group_member_find(g, member_id) : NULL;
	if (!m)
		return KERR_UNKNOWN_MEMBER_ID;
	if (generation != g->generation)
		return KERR_ILLEGAL_GENERATION;
	member_arm_session(m);
	return g->state == GROUP_PREPARING_REBALANCE ? KERR_REBALANCE_IN_PROGRESS : KERR_NONE;
}

static int16_t group_leave_one(struct group *g, struct group_leave_member *lm)
{
	struct group_member *m = NULL;
	if (lm->instance_id.len >= 0) {
		m = group_member_find_instance(g, lm->instance_id);
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
		if (lm->member_id.len > 0 && !kstr_is(lm->member_id, m->id))
			return KERR_FENCED_INSTANCE_ID;
	} else if (lm->member_id.len > 0) {
		m = group_pending_find(g, lm->member_id);
		if (!m)
			m = group_member_find(g, lm->member_id);
	}
	if (!m)
		return KERR_UNKNOWN_MEMBER_ID;
	group_member_gone(g, m, "the member sent LeaveGroup");
	return KERR_NONE;
}

int16_t group_leave(struct group_coordinator *gc, struct kstr group_id,
		    struct group_leave_member *members, uint32_t count)
{
	struct group *g = group_table_find(&gc->groups, group_id);
	for (uint32_t i = 0; i < count; i++)
		members[i].error = KERR_UNKNOWN_MEMBER_ID;
	if (!g || g->type == GROUP_TYPE_CONSUMER)
		return KERR_NONE;
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	for (uint32_t i = 0; i < count; i++)
		members[i].error = group_leave_one(g, &members[i]);
	return KERR_NONE;
}
