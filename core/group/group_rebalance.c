/* The classic protocol's rebalance state machine (see group_membership.h):
 * preparing a rebalance, completing the join phase (protocol selection, the
 * leader's member list), and the timers that bound it: the initial rebalance
 * delay, the rebalance timeout and each member's session timeout. The order
 * of checks and the error for each case follow Kafka's GroupCoordinator,
 * since clients act on those codes. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/group/group_internal.h"
#include "core/group/group_store.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

void group_set_state(struct group *g, enum group_state s)
{
	if (g->state != s)
		slog_debug("group", "group %s: %s -> %s", SLOG_STR(g->id), group_state_name(g->state),
			   group_state_name(s));
	g->state = s;
	g->state_timestamp = group_now_ms();
}

static void member_on_session_expired(struct io_timer *t);

void member_arm_session(struct group_member *m)
{
	struct reactor *r = group_reactor(m->group);
	io_timer_stop(r, &m->session_timer);
	io_timer_arm(r, &m->session_timer, (uint64_t)m->session_timeout_ms * NS_PER_MS,
		     member_on_session_expired);
}

static void store_logged_done(void *ctx, int16_t err)
{
	char *what = ctx;
	if (err != KERR_NONE)
		slog_error("group", "cannot persist %s: error %d", what, err);
	free(what);
}

/* Persists the group's metadata without waiting for anyone. */
static void group_store_metadata_async(struct group *g)
{
	char *what = malloc(SLOG_STR_BYTES + 64);
	if (!what) {
		slog_error("group", "out of memory persisting group %s", SLOG_STR(g->id));
		return;
	}
	snprintf(what, SLOG_STR_BYTES + 64, "metadata of group %s", SLOG_STR(g->id));
	struct group_store_record rec = { .is_metadata = true };
	int16_t err = group_store_append(g, &rec, 1, store_logged_done, what);
	if (err != KERR_NONE)
		store_logged_done(what, err);
}

static void group_complete_join(struct group *g);
static void group_on_rebalance_timer(struct io_timer *t);

static int32_t group_rebalance_timeout_ms(const struct group *g)
{
	int32_t t = 0;
	for (struct group_member *m = g->members; m; m = m->next)
		if (m->rebalance_timeout_ms > t)
			t = m->rebalance_timeout_ms;
	return t;
}

void group_reset_assignments(struct group *g, int16_t err)
{
	for (struct group_member *m = g->members; m; m = m->next) {
		free(m->assignment);
		m->assignment = NULL;
		m->assignment_len = 0;
		if (m->sync_wait) {
			struct group_sync_waiter *w = m->sync_wait;
			m->sync_wait = NULL;
			sync_answer_error(w, err);
		}
	}
}

static bool group_all_joined(const struct group *g)
{
	if (g->pending_members)
		return false;
	for (struct group_member *m = g->members; m; m = m->next)
		if (!m->join_wait)
			return false;
	return true;
}

void group_check_join_complete(struct group *g)
{
	if (g->state != GROUP_PREPARING_REBALANCE || g->initial_delay || !group_all_joined(g))
		return;
	io_timer_stop(group_reactor(g), &g->rebalance_timer);
	group_complete_join(g);
}

void group_prepare_rebalance(struct group *g, const char *reason)
{
	struct reactor *r = group_reactor(g);
	if (g->state == GROUP_COMPLETING_REBALANCE)
		group_reset_assignments(g, KERR_REBALANCE_IN_PROGRESS);
	io_timer_stop(r, &g->rebalance_timer);
	int32_t rebalance_ms = group_rebalance_timeout_ms(g);
	uint64_t delay_ms = (uint64_t)rebalance_ms;
	g->initial_delay = false;
	if (g->state == GROUP_EMPTY) {
		uint32_t initial = group_cfg(g)->group_initial_rebalance_delay_ms;
		g->initial_delay = true;
		g->new_member_added = false;
		delay_ms = initial;
		g->initial_delay_left_ms = rebalance_ms > (int64_t)initial ? rebalance_ms - (int64_t)initial : 0;
	}
	slog_info("group", "preparing to rebalance group %s in state %s with old generation %d (%s)",
		  SLOG_STR(g->id), group_state_name(g->state), g->generation, reason);
	group_set_state(g, GROUP_PREPARING_REBALANCE);
	io_timer_arm(r, &g->rebalance_timer, delay_ms * NS_PER_MS, group_on_rebalance_timer);
	group_check_join_complete(g);
}

void group_maybe_prepare_rebalance(struct group *g, const char *reason)
{
	if (g->state == GROUP_EMPTY || g->state == GROUP_STABLE ||
	    g->state == GROUP_COMPLETING_REBALANCE)
		group_prepare_rebalance(g, reason);
}

/* A member left or was evicted: the group reacts as Kafka's does. */
void group_member_gone(struct group *g, struct group_member *m, const char *reason)
{
	bool was_pending = m->pending;
	slog_info("group", "member %s left group %s (%s)", SLOG_STR(m->id), SLOG_STR(g->id), reason);
	member_remove_raw(g, m, KERR_UNKNOWN_MEMBER_ID);
	if (was_pending) {
		group_check_join_complete(g);
		return;
	}
	switch (g->state) {
	case GROUP_STABLE:
	case GROUP_COMPLETING_REBALANCE:
		group_prepare_rebalance(g, reason);
		break;
	case GROUP_PREPARING_REBALANCE:
		group_check_join_complete(g);
		break;
	case GROUP_EMPTY:
	case GROUP_DEAD:
		break;
	}
}

static void member_on_session_expired(struct io_timer *t)
{
	struct group_member *m = container_of(t, struct group_member, session_timer);
	/* Members waiting on the coordinator cannot heartbeat; the rebalance
	 * timeout bounds them instead. */
	if (m->join_wait || m->sync_wait) {
		member_arm_session(m);
		return;
	}
	group_member_gone(m->group, m, "session timeout expired");
}

/* Kafka's protocol selection: among the protocols every member supports, each
 * member votes for its most preferred; most votes wins (ties: the first
 * member's preference order). */
static struct kstr group_select_protocol(const struct group *g)
{
	const struct group_member *first = g->members;
	struct kstr best = KSTR_NULL;
	uint32_t best_votes = 0;
	for (uint32_t i = 0; first && i < first->protocol_count; i++) {
		struct kstr cand = first->protocols[i].name;
		bool everyone = true;
		for (const struct group_member *m = g->members; m && everyone; m = m->next)
			everyone = member_protocol(m, cand) != NULL;
		if (!everyone)
			continue;
		uint32_t votes = 0;
		for (const struct group_member *m = g->members; m; m = m->next) {
			for (uint32_t j = 0; j < m->protocol_count; j++) {
				struct kstr name = m->protocols[j].name;
				bool supported = true;
				for (const struct group_member *o = g->members; o && supported; o = o->next)
					supported = member_protocol(o, name) != NULL;
				if (!supported)
					continue;
				votes += kstr_eq(name, cand);
				break;
			}
		}
		if (votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}



/* The JoinGroup answer for a member of the current generation. */
void group_answer_join(struct group *g, struct group_member *m, struct group_join_waiter *w,
			      bool with_members)
{
	struct group_join_member *list = NULL;
	uint32_t n = 0;
	if (with_members) {
		list = calloc(g->member_count + 1, sizeof(*list));
		if (!list) {
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, m->id);
			return;
		}
		for (struct group_member *o = g->members; o; o = o->next) {
			const struct group_protocol *p = member_protocol(o, g->protocol_name);
			list[n++] = (struct group_join_member){
				.member_id = o->id,
				.instance_id = o->instance_id,
				.metadata = { p ? p->metadata : NULL, p ? p->metadata_len : 0 },
			};
		}
	}
	struct group_join_result r = {
		.error = KERR_NONE,
		.generation = g->generation,
		.protocol_type = g->protocol_type,
		.protocol_name = g->protocol_name,
		.leader = g->leader_id.len >= 0 ? g->leader_id : kstr_from_cstr(""),
		.member_id = m->id,
		.member_count = n,
		.members = list,
	};
	w->done(w, &r);
	free(list);
}

static void group_complete_join(struct group *g)
{
	assert(g->state == GROUP_PREPARING_REBALANCE);
	g->initial_delay = false;
	for (struct group_member *m = g->members; m;) {
		struct group_member *next = m->next;
		if (!m->join_wait) {
			slog_info("group", "member %s of group %s did not rejoin in time", SLOG_STR(m->id),
				  SLOG_STR(g->id));
			member_remove_raw(g, m, KERR_UNKNOWN_MEMBER_ID);
		}
		m = next;
	}
	g->generation++;
	kstr_free(&g->protocol_name);
	if (!g->members) {
		kstr_free(&g->leader_id);
		group_set_state(g, GROUP_EMPTY);
		slog_info("group", "group %s with generation %d is now empty", SLOG_STR(g->id),
			  g->generation);
		group_store_metadata_async(g);
		return;
	}
	struct kstr proto = group_select_protocol(g);
	bool ok = proto.len >= 0 && kstr_copy(&g->protocol_name, proto);
	ok = (g->leader_id.len >= 0 || kstr_copy(&g->leader_id, g->members->id)) && ok;
	if (!ok) {
		/* Our memory ran out mid-rebalance: fail the round, keep the group. */
		slog_error("group", "out of memory completing the rebalance of group %s", SLOG_STR(g->id));
		for (struct group_member *m = g->members; m; m = m->next) {
			struct group_join_waiter *w = m->join_wait;
			m->join_wait = NULL;
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, m->id);
		}
		group_prepare_rebalance(g, "out of memory");
		return;
	}
	group_set_state(g, GROUP_COMPLETING_REBALANCE);
	slog_info("group", "stabilized group %s generation %d (protocol %s, %u members)",
		  SLOG_STR(g->id), g->generation, SLOG_STR(g->protocol_name), g->member_count);
	for (struct group_member *m = g->members; m; m = m->next) {
		struct group_join_waiter *w = m->join_wait;
		m->join_wait = NULL;
		m->synced = false;
		group_answer_join(g, m, w, kstr_is(m->id, g->leader_id));
		member_arm_session(m);
	}
	io_timer_arm(group_reactor(g), &g->rebalance_timer,
		     (uint64_t)group_rebalance_timeout_ms(g) * NS_PER_MS, group_on_rebalance_timer);
}

/* Members that did not send SyncGroup within the rebalance timeout. */
static void group_on_sync_deadline(struct group *g)
{
	bool removed = false;
	for (struct group_member *m = g->members; m;) {
		struct group_member *next = m->next;
		if (!m->synced) {
			slog_info("group", "member %s of group %s did not sync in time", SLOG_STR(m->id),
				  SLOG_STR(g->id));
			member_remove_raw(g, m, KERR_UNKNOWN_MEMBER_ID);
			removed = true;
		}
		m = next;
	}
	if (removed)
		group_prepare_rebalance(g, "members did not sync in time");
}

static void group_on_rebalance_timer(struct io_timer *t)
{
	struct group *g = container_of(t, struct group, rebalance_timer);
	if (g->state == GROUP_PREPARING_REBALANCE) {
		if (g->initial_delay && g->new_member_added && g->initial_delay_left_ms > 0) {
			uint32_t initial = group_cfg(g)->group_initial_rebalance_delay_ms;
			int64_t d = g->initial_delay_left_ms < (int64_t)initial ? g->initial_delay_left_ms
										 : (int64_t)initial;
			g->new_member_added = false;
			g->initial_delay_left_ms -= d;
			io_timer_arm(group_reactor(g), t, (uint64_t)d * NS_PER_MS, group_on_rebalance_timer);
			return;
		}
		group_complete_join(g);
	} else if (g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_STABLE) {
		group_on_sync_deadline(g);
	}
}
