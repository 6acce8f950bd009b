/* JoinGroup on the coordinator: new, pending, known and static members, each
 * answered as Kafka's GroupCoordinator does (the order of checks and the
 * error for each case are Kafka's, since clients act on those codes). */
#include <stdlib.h>
#include <string.h>

#include "core/meta/topics.h"
#include "core/group/group_internal.h"
#include "core/group/group_store.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

static bool group_supports_protocols(const struct group *g, const struct group_join_args *a)
{
	if (a->protocol_type.len <= 0 || a->protocol_count == 0)
		return false;
	if (!g->members)
		return true;
	if (!kstr_is(a->protocol_type, g->protocol_type))
		return false;
	for (uint32_t i = 0; i < a->protocol_count; i++) {
		bool everyone = true;
		for (const struct group_member *m = g->members; m && everyone; m = m->next) {
			bool has = false;
			for (uint32_t j = 0; j < m->protocol_count && !has; j++)
				has = kstr_is(a->protocols[i].name, m->protocols[j].name);
			everyone = has;
		}
		if (everyone)
			return true;
	}
	return false;
}

static void group_add_member_and_rebalance(struct group *g, struct kstr id,
					   const struct group_join_args *a,
					   struct group_join_waiter *w)
{
	struct group_member *m = member_new(g, id, a);
	if (!m) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
		return;
	}
	if ((g->protocol_type.len < 0 && !kstr_copy(&g->protocol_type, a->protocol_type)) ||
	    (g->leader_id.len < 0 && !kstr_copy(&g->leader_id, m->id))) {
		group_member_free(m);
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
		return;
	}
	list_append(&g->members, m);
	g->member_count++;
	if (g->state == GROUP_PREPARING_REBALANCE && g->initial_delay)
		g->new_member_added = true;
	m->join_wait = w;
	member_arm_session(m);
	slog_info("group", "member %s (client %s, %s) joins group %s", SLOG_STR(m->id),
		  SLOG_STR(m->client_id), SLOG_STR(m->client_host), SLOG_STR(g->id));
	if (g->state == GROUP_PREPARING_REBALANCE)
		group_check_join_complete(g);
	else
		group_maybe_prepare_rebalance(g, "a member joined");
}

static void group_update_member_and_rebalance(struct group *g, struct group_member *m,
					      const struct group_join_args *a,
					      struct group_join_waiter *w)
{
	if (!member_set_protocols(m, a)) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, m->id);
		return;
	}
	if (m->join_wait)
		join_answer_error(m->join_wait, KERR_REBALANCE_IN_PROGRESS, m->id);
	m->join_wait = w;
	member_arm_session(m);
	if (g->state == GROUP_PREPARING_REBALANCE)
		group_check_join_complete(g);
	else
		group_maybe_prepare_rebalance(g, "a member rejoined with new metadata");
}

struct static_rejoin {
	struct group *group;
	struct kstr member_id;
	int32_t generation;
	struct group_join_waiter *waiter;
};

static void static_rejoin_stored(void *ctx, int16_t err)
{
	struct static_rejoin *s = ctx;
	struct group *g = s->group;
	struct group_member *m = group_member_find(g, s->member_id);
	if (err != KERR_NONE)
		join_answer_error(s->waiter, store_error_for_client(err), s->member_id);
	else if (!m || g->state != GROUP_STABLE || g->generation != s->generation)
		join_answer_error(s->waiter, KERR_REBALANCE_IN_PROGRESS, s->member_id);
	else
		group_answer_join(g, m, s->waiter, false);
	kstr_free(&s->member_id);
	free(s);
}

/* A static member came back with a new incarnation: the old one is fenced and
 * the new one takes its place, without a rebalance when nothing changed. */
static void group_replace_static_member(struct group *g, struct group_member *m, struct kstr new_id,
					const struct group_join_args *a, struct group_join_waiter *w)
{
	slog_info("group", "static member %s of group %s rejoins as %s", SLOG_STR(m->instance_id),
		  SLOG_STR(g->id), SLOG_STR(new_id));
	member_answer_waiters(m, KERR_FENCED_INSTANCE_ID);
	bool was_leader = kstr_is(g->leader_id, m->id);
	bool same_protocols = member_protocols_match(m, a);
	struct kstr client_id = KSTR_NULL, leader_id = KSTR_NULL;
	bool ok = kstr_copy(&client_id, a->client_id.len >= 0 ? a->client_id : kstr_from_cstr(""));
	ok = (!was_leader || kstr_copy(&leader_id, new_id)) && ok;
	if (!ok || !member_set_protocols(m, a)) {
		kstr_free(&client_id);
		kstr_free(&leader_id);
		kstr_free(&new_id);
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
		return;
	}
	if (was_leader) {
		kstr_free(&g->leader_id);
		g->leader_id = leader_id;
	}
	kstr_free(&m->id);
	m->id = new_id;
	kstr_free(&m->client_id);
	m->client_id = client_id;
	member_arm_session(m);
	if (g->state == GROUP_STABLE && same_protocols) {
		struct static_rejoin *s = calloc(1, sizeof(*s));
		if (!s || !kstr_copy(&s->member_id, new_id)) {
			free(s);
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, new_id);
			return;
		}
		s->group = g;
		s->generation = g->generation;
		s->waiter = w;
		struct group_store_record rec = { .is_metadata = true };
		int16_t err = group_store_append(g, &rec, 1, static_rejoin_stored, s);
		if (err != KERR_NONE)
			static_rejoin_stored(s, err);
		return;
	}
	m->join_wait = w;
	if (g->state == GROUP_PREPARING_REBALANCE)
		group_check_join_complete(g);
	else
		group_maybe_prepare_rebalance(g, "a static member rejoined with new metadata");
}

static void group_join_new_member(struct group *g, const struct group_join_args *a,
				  struct group_join_waiter *w)
{
	bool is_static = a->instance_id.len >= 0;
	struct group_member *existing = is_static ? group_member_find_instance(g, a->instance_id) : NULL;
	if (!existing && g->member_count + 1 > group_cfg(g)->group_max_size) {
		join_answer_error(w, KERR_GROUP_MAX_SIZE_REACHED, KSTR_NULL);
		return;
	}
	struct kstr id;
	if (!member_id_new(is_static ? a->instance_id : a->client_id, &id)) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
		return;
	}
	if (existing) {
		group_replace_static_member(g, existing, id, a, w);
		return;
	}
	if (!is_static && a->version >= 4) {
		/* KIP-394: the member must come back with this id, so that a client
		 * retrying a lost response does not leave a ghost member behind. */
		struct group_member *m = member_new(g, id, a);
		if (!m) {
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
			return;
		}
		m->pending = true;
		list_append(&g->pending_members, m);
		member_arm_session(m);
		join_answer_error(w, KERR_MEMBER_ID_REQUIRED, m->id);
		return;
	}
	group_add_member_and_rebalance(g, id, a, w);
}

static void group_join_known_member(struct group *g, const struct group_join_args *a,
				    struct group_join_waiter *w)
{
	struct group_member *pending = group_pending_find(g, a->member_id);
	if (pending) {
		if (g->member_count + 1 > group_cfg(g)->group_max_size) {
			member_remove_raw(g, pending, KERR_GROUP_MAX_SIZE_REACHED);
			join_answer_error(w, KERR_GROUP_MAX_SIZE_REACHED, KSTR_NULL);
			return;
		}
		struct kstr id;
		bool copied = kstr_copy(&id, pending->id);
		member_remove_raw(g, pending, KERR_UNKNOWN_MEMBER_ID);
		if (!copied) {
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
			return;
		}
		group_add_member_and_rebalance(g, id, a, w);
		return;
	}
	if (a->instance_id.len >= 0) {
		struct group_member *by_instance = group_member_find_instance(g, a->instance_id);
		if (by_instance && !kstr_is(a->member_id, by_instance->id)) {
			join_answer_error(w, KERR_FENCED_INSTANCE_ID, KSTR_NULL);
			return;
		}
	}
	struct group_member *m = group_member_find(g, a->member_id);
	if (!m) {
		join_answer_error(w, KERR_UNKNOWN_MEMBER_ID, KSTR_NULL);
		return;
	}
	switch (g->state) {
	case GROUP_PREPARING_REBALANCE:
		group_update_member_and_rebalance(g, m, a, w);
		break;
	case GROUP_COMPLETING_REBALANCE:
		if (member_protocols_match(m, a)) {
			member_arm_session(m);
			group_answer_join(g, m, w, kstr_is(m->id, g->leader_id));
		} else {
			group_update_member_and_rebalance(g, m, a, w);
		}
		break;
	case GROUP_STABLE:
		if (kstr_is(m->id, g->leader_id) || !member_protocols_match(m, a)) {
			group_update_member_and_rebalance(g, m, a, w);
		} else {
			member_arm_session(m);
			group_answer_join(g, m, w, false);
		}
		break;
	case GROUP_EMPTY:
	case GROUP_DEAD:
		join_answer_error(w, KERR_UNKNOWN_MEMBER_ID, KSTR_NULL);
		break;
	}
}

void group_join(struct group_coordinator *gc, int32_t partition, const struct group_join_args *a,
		struct group_join_waiter *w)
{
	const struct broker_config *cfg = &gc->rt->cfg;
	if (a->group_id.len <= 0) {
		join_answer_error(w, KERR_INVALID_GROUP_ID, KSTR_NULL);
		return;
	}
	if (a->session_timeout_ms < (int32_t)cfg->group_min_session_timeout_ms ||
	    a->session_timeout_ms > (int32_t)cfg->group_max_session_timeout_ms) {
		join_answer_error(w, KERR_INVALID_SESSION_TIMEOUT, KSTR_NULL);
		return;
	}
	struct group *g = group_table_find(&gc->groups, a->group_id);
	if (!g) {
		if (a->member_id.len > 0) {
			join_answer_error(w, KERR_UNKNOWN_MEMBER_ID, KSTR_NULL);
			return;
		}
		g = group_table_add(&gc->groups, a->group_id, partition, gc);
		if (!g) {
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
			return;
		}
	}
	if (g->type == GROUP_TYPE_CONSUMER) {
		/* Kafka's answer where group.consumer.migration.policy keeps
		 * classic members out of a consumer-protocol group. */
		join_answer_error(w, KERR_GROUP_ID_NOT_FOUND, KSTR_NULL);
		return;
	}
	if (g->state == GROUP_DEAD) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, KSTR_NULL);
		return;
	}
	if (!group_supports_protocols(g, a)) {
		join_answer_error(w, KERR_INCONSISTENT_GROUP_PROTOCOL, KSTR_NULL);
		group_drop_if_unused(gc, g);
		return;
	}
	if (a->member_id.len <= 0)
		group_join_new_member(g, a, w);
	else
		group_join_known_member(g, a, w);
}
