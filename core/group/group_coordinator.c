/* The classic group protocol and committed offsets; see group_coordinator.h.
 * The order of checks and the error for each case follow Kafka's
 * GroupCoordinator, since clients act on those codes. */
#include "core/group/group_coordinator.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/broker.h"
#include "core/group/group_store.h"
#include "core/slog.h"
#include "core/shard/shard.h"
#include "core/meta/topics.h"
#include "proto/kafka_errors.h"

static const uint64_t NS_PER_MS = 1000000;
static const char CONSUMER_PROTOCOL_TYPE[] = "consumer";

enum {
	MEMBER_ID_BYTES_MAX = 512,  /* client id prefix + '-' + UUID */
	UUID_TEXT_BYTES = 37,
};

static struct reactor *group_reactor(const struct group *g)
{
	return g->coord->shard->reactor;
}

static const struct broker_config *group_cfg(const struct group *g)
{
	return &g->coord->broker->cfg;
}

static bool kstr_is(struct kstr s, const char *c)
{
	return c && s.len >= 0 && kstr_eq_cstr(s, c);
}

static void group_set_state(struct group *g, enum group_state s)
{
	if (g->state != s)
		slog_debug("group", "group %s: %s -> %s", g->id, group_state_name(g->state),
			   group_state_name(s));
	g->state = s;
	g->state_timestamp = group_now_ms();
}

/* Kafka's member ids: the client id (or instance id) + '-' + a random UUID. */
static char *member_id_new(struct kstr prefix)
{
	uint8_t u[16];
	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
		slog_error("group", "getrandom: %s", strerror(errno));
		abort();
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	char uuid[UUID_TEXT_BYTES];
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	int plen = prefix.len > 0 ? prefix.len : 0;
	if (plen > MEMBER_ID_BYTES_MAX - UUID_TEXT_BYTES - 1)
		plen = MEMBER_ID_BYTES_MAX - UUID_TEXT_BYTES - 1;
	char *id = malloc(MEMBER_ID_BYTES_MAX);
	if (id)
		snprintf(id, MEMBER_ID_BYTES_MAX, "%.*s-%s", plen, prefix.ptr ? prefix.ptr : "", uuid);
	return id;
}

/* ---- members ---------------------------------------------------------- */

static void member_on_session_expired(struct io_timer *t);

static void member_arm_session(struct group_member *m)
{
	struct reactor *r = group_reactor(m->group);
	io_timer_stop(r, &m->session_timer);
	io_timer_arm(r, &m->session_timer, (uint64_t)m->session_timeout_ms * NS_PER_MS,
		     member_on_session_expired);
}

static bool member_set_protocols(struct group_member *m, const struct group_join_args *a)
{
	struct group_protocol *p = calloc(a->protocol_count, sizeof(*p));
	if (!p)
		return false;
	for (uint32_t i = 0; i < a->protocol_count; i++) {
		const struct group_join_protocol *in = &a->protocols[i];
		p[i].name = group_strdup(in->name);
		int32_t len = in->metadata.len > 0 ? in->metadata.len : 0;
		p[i].metadata = malloc((size_t)len + 1);
		p[i].metadata_len = len;
		if (!p[i].name || !p[i].metadata) {
			for (uint32_t j = 0; j <= i; j++) {
				free(p[j].name);
				free(p[j].metadata);
			}
			free(p);
			return false;
		}
		if (len)
			memcpy(p[i].metadata, in->metadata.ptr, (size_t)len);
	}
	for (uint32_t i = 0; i < m->protocol_count; i++) {
		free(m->protocols[i].name);
		free(m->protocols[i].metadata);
	}
	free(m->protocols);
	m->protocols = p;
	m->protocol_count = a->protocol_count;
	m->session_timeout_ms = a->session_timeout_ms;
	m->rebalance_timeout_ms = a->rebalance_timeout_ms;
	return true;
}

static bool member_protocols_match(const struct group_member *m, const struct group_join_args *a)
{
	if (m->protocol_count != a->protocol_count)
		return false;
	for (uint32_t i = 0; i < a->protocol_count; i++) {
		const struct group_join_protocol *p = &a->protocols[i];
		int32_t len = p->metadata.len > 0 ? p->metadata.len : 0;
		if (!kstr_is(p->name, m->protocols[i].name) || len != m->protocols[i].metadata_len ||
		    (len && memcmp(p->metadata.ptr, m->protocols[i].metadata, (size_t)len) != 0))
			return false;
	}
	return true;
}

static const struct group_protocol *member_protocol(const struct group_member *m, const char *name)
{
	for (uint32_t i = 0; name && i < m->protocol_count; i++)
		if (strcmp(m->protocols[i].name, name) == 0)
			return &m->protocols[i];
	return NULL;
}

static struct group_member *member_new(struct group *g, char *id, const struct group_join_args *a)
{
	struct group_member *m = calloc(1, sizeof(*m));
	if (!m) {
		free(id);
		return NULL;
	}
	m->group = g;
	m->id = id;
	io_timer_init(&m->session_timer);
	m->instance_id = group_strdup(a->instance_id);
	m->client_id = group_strdup(a->client_id.len >= 0 ? a->client_id : kstr_from_cstr(""));
	m->client_host = strdup(a->client_host ? a->client_host : "");
	if ((a->instance_id.len >= 0 && !m->instance_id) || !m->client_id || !m->client_host ||
	    !member_set_protocols(m, a)) {
		group_member_free(m);
		return NULL;
	}
	return m;
}

static void join_answer_error(struct group_join_waiter *w, int16_t err, const char *member_id)
{
	struct group_join_result r = { .error = err, .generation = -1, .leader = "",
				       .member_id = member_id ? member_id : "" };
	w->done(w, &r);
}

static void sync_answer_error(struct group_sync_waiter *w, int16_t err)
{
	struct group_sync_result r = { .error = err, .assignment = { NULL, 0 } };
	w->done(w, &r);
}

/* Answers the member's waiting JoinGroup and SyncGroup, if any, with err. */
static void member_answer_waiters(struct group_member *m, int16_t err)
{
	if (m->join_wait) {
		struct group_join_waiter *w = m->join_wait;
		m->join_wait = NULL;
		join_answer_error(w, err, m->id);
	}
	if (m->sync_wait) {
		struct group_sync_waiter *w = m->sync_wait;
		m->sync_wait = NULL;
		sync_answer_error(w, err);
	}
}

static void list_unlink(struct group_member **head, struct group_member *m)
{
	for (struct group_member **p = head; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			m->next = NULL;
			return;
		}
	}
	assert(!"member not in its list");
}

static void list_append(struct group_member **head, struct group_member *m)
{
	struct group_member **p = head;
	while (*p)
		p = &(*p)->next;
	m->next = NULL;
	*p = m;
}

/* Takes a member out without touching the group's state; its waiting
 * requests get `err`. */
static void member_remove_raw(struct group *g, struct group_member *m, int16_t err)
{
	io_timer_stop(group_reactor(g), &m->session_timer);
	if (m->pending) {
		list_unlink(&g->pending_members, m);
	} else {
		list_unlink(&g->members, m);
		g->member_count--;
		if (g->leader_id && strcmp(g->leader_id, m->id) == 0) {
			free(g->leader_id);
			g->leader_id = NULL;
		}
	}
	member_answer_waiters(m, err);
	group_member_free(m);
}

/* ---- persistence of the group's metadata ------------------------------ */

static int16_t store_error_for_client(int16_t err)
{
	switch (err) {
	case KERR_NONE:
		return KERR_NONE;
	case KERR_MESSAGE_TOO_LARGE:
	case KERR_RECORD_LIST_TOO_LARGE:
		return KERR_UNKNOWN_SERVER_ERROR;
	default:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
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
	char *what = malloc(GROUP_ID_MAX + 64);
	if (!what) {
		slog_error("group", "out of memory persisting group %s", g->id);
		return;
	}
	snprintf(what, GROUP_ID_MAX + 64, "metadata of group %s", g->id);
	struct group_store_record rec = { .is_metadata = true };
	int16_t err = group_store_append(g, &rec, 1, store_logged_done, what);
	if (err != KERR_NONE)
		store_logged_done(what, err);
}

/* ---- rebalancing ------------------------------------------------------ */

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

static void group_reset_assignments(struct group *g, int16_t err)
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

static void group_check_join_complete(struct group *g)
{
	if (g->state != GROUP_PREPARING_REBALANCE || g->initial_delay || !group_all_joined(g))
		return;
	io_timer_stop(group_reactor(g), &g->rebalance_timer);
	group_complete_join(g);
}

static void group_prepare_rebalance(struct group *g, const char *reason)
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
		  g->id, group_state_name(g->state), g->generation, reason);
	group_set_state(g, GROUP_PREPARING_REBALANCE);
	io_timer_arm(r, &g->rebalance_timer, delay_ms * NS_PER_MS, group_on_rebalance_timer);
	group_check_join_complete(g);
}

static void group_maybe_prepare_rebalance(struct group *g, const char *reason)
{
	if (g->state == GROUP_EMPTY || g->state == GROUP_STABLE ||
	    g->state == GROUP_COMPLETING_REBALANCE)
		group_prepare_rebalance(g, reason);
}

/* A member left or was evicted: the group reacts as Kafka's does. */
static void group_member_gone(struct group *g, struct group_member *m, const char *reason)
{
	bool was_pending = m->pending;
	slog_info("group", "member %s left group %s (%s)", m->id, g->id, reason);
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
static const char *group_select_protocol(const struct group *g)
{
	const struct group_member *first = g->members;
	const char *best = NULL;
	uint32_t best_votes = 0;
	for (uint32_t i = 0; first && i < first->protocol_count; i++) {
		const char *cand = first->protocols[i].name;
		bool everyone = true;
		for (const struct group_member *m = g->members; m && everyone; m = m->next)
			everyone = member_protocol(m, cand) != NULL;
		if (!everyone)
			continue;
		uint32_t votes = 0;
		for (const struct group_member *m = g->members; m; m = m->next) {
			for (uint32_t j = 0; j < m->protocol_count; j++) {
				const char *name = m->protocols[j].name;
				bool supported = true;
				for (const struct group_member *o = g->members; o && supported; o = o->next)
					supported = member_protocol(o, name) != NULL;
				if (!supported)
					continue;
				votes += strcmp(name, cand) == 0;
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

/* The JoinGroup answer for a member of the current generation. */
static void group_answer_join(struct group *g, struct group_member *m, struct group_join_waiter *w,
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
		.leader = g->leader_id ? g->leader_id : "",
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
			slog_info("group", "member %s of group %s did not rejoin in time", m->id, g->id);
			member_remove_raw(g, m, KERR_UNKNOWN_MEMBER_ID);
		}
		m = next;
	}
	g->generation++;
	free(g->protocol_name);
	g->protocol_name = NULL;
	if (!g->members) {
		free(g->leader_id);
		g->leader_id = NULL;
		group_set_state(g, GROUP_EMPTY);
		slog_info("group", "group %s with generation %d is now empty", g->id, g->generation);
		group_store_metadata_async(g);
		return;
	}
	const char *proto = group_select_protocol(g);
	g->protocol_name = proto ? strdup(proto) : NULL;
	if (!g->leader_id)
		g->leader_id = strdup(g->members->id);
	if (!g->protocol_name || !g->leader_id) {
		/* Our memory ran out mid-rebalance: fail the round, keep the group. */
		slog_error("group", "out of memory completing the rebalance of group %s", g->id);
		for (struct group_member *m = g->members; m; m = m->next) {
			struct group_join_waiter *w = m->join_wait;
			m->join_wait = NULL;
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, m->id);
		}
		group_prepare_rebalance(g, "out of memory");
		return;
	}
	group_set_state(g, GROUP_COMPLETING_REBALANCE);
	slog_info("group", "stabilized group %s generation %d (protocol %s, %u members)", g->id,
		  g->generation, g->protocol_name, g->member_count);
	for (struct group_member *m = g->members; m; m = m->next) {
		struct group_join_waiter *w = m->join_wait;
		m->join_wait = NULL;
		m->synced = false;
		group_answer_join(g, m, w, strcmp(m->id, g->leader_id) == 0);
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
			slog_info("group", "member %s of group %s did not sync in time", m->id, g->id);
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

/* ---- JoinGroup -------------------------------------------------------- */

static void group_add_member_and_rebalance(struct group *g, char *id, const struct group_join_args *a,
					   struct group_join_waiter *w)
{
	struct group_member *m = member_new(g, id, a);
	if (!m) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		return;
	}
	if (!g->protocol_type && !(g->protocol_type = group_strdup(a->protocol_type))) {
		group_member_free(m);
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		return;
	}
	list_append(&g->members, m);
	g->member_count++;
	if (!g->leader_id)
		g->leader_id = strdup(m->id);
	if (g->state == GROUP_PREPARING_REBALANCE && g->initial_delay)
		g->new_member_added = true;
	m->join_wait = w;
	member_arm_session(m);
	slog_info("group", "member %s (client %s, %s) joins group %s", m->id, m->client_id,
		  m->client_host, g->id);
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
	char *member_id;
	int32_t generation;
	struct group_join_waiter *waiter;
};

static void static_rejoin_stored(void *ctx, int16_t err)
{
	struct static_rejoin *s = ctx;
	struct group *g = s->group;
	struct group_member *m = group_member_find(g, s->member_id, strlen(s->member_id));
	if (err != KERR_NONE)
		join_answer_error(s->waiter, store_error_for_client(err), s->member_id);
	else if (!m || g->state != GROUP_STABLE || g->generation != s->generation)
		join_answer_error(s->waiter, KERR_REBALANCE_IN_PROGRESS, s->member_id);
	else
		group_answer_join(g, m, s->waiter, false);
	free(s->member_id);
	free(s);
}

/* A static member came back with a new incarnation: the old one is fenced and
 * the new one takes its place, without a rebalance when nothing changed. */
static void group_replace_static_member(struct group *g, struct group_member *m, char *new_id,
					const struct group_join_args *a, struct group_join_waiter *w)
{
	slog_info("group", "static member %s of group %s rejoins as %s", m->instance_id, g->id, new_id);
	member_answer_waiters(m, KERR_FENCED_INSTANCE_ID);
	bool was_leader = g->leader_id && strcmp(g->leader_id, m->id) == 0;
	bool same_protocols = member_protocols_match(m, a);
	char *client_id = group_strdup(a->client_id.len >= 0 ? a->client_id : kstr_from_cstr(""));
	char *leader_id = was_leader ? strdup(new_id) : NULL;
	if (!client_id || (was_leader && !leader_id) || !member_set_protocols(m, a)) {
		free(client_id);
		free(leader_id);
		free(new_id);
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		return;
	}
	if (was_leader) {
		free(g->leader_id);
		g->leader_id = leader_id;
	}
	free(m->id);
	m->id = new_id;
	free(m->client_id);
	m->client_id = client_id;
	member_arm_session(m);
	if (g->state == GROUP_STABLE && same_protocols) {
		struct static_rejoin *s = calloc(1, sizeof(*s));
		if (!s || !(s->member_id = strdup(new_id))) {
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
	struct group_member *existing =
		is_static ? group_member_find_instance(g, a->instance_id.ptr, (size_t)a->instance_id.len)
			  : NULL;
	if (!existing && g->member_count + 1 > group_cfg(g)->group_max_size) {
		join_answer_error(w, KERR_GROUP_MAX_SIZE_REACHED, NULL);
		return;
	}
	char *id = member_id_new(is_static ? a->instance_id : a->client_id);
	if (!id) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
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
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
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
	const char *mid = a->member_id.ptr;
	size_t mlen = (size_t)a->member_id.len;
	struct group_member *pending = group_pending_find(g, mid, mlen);
	if (pending) {
		if (g->member_count + 1 > group_cfg(g)->group_max_size) {
			member_remove_raw(g, pending, KERR_GROUP_MAX_SIZE_REACHED);
			join_answer_error(w, KERR_GROUP_MAX_SIZE_REACHED, NULL);
			return;
		}
		char *id = strdup(pending->id);
		member_remove_raw(g, pending, KERR_UNKNOWN_MEMBER_ID);
		if (!id) {
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
			return;
		}
		group_add_member_and_rebalance(g, id, a, w);
		return;
	}
	if (a->instance_id.len >= 0) {
		struct group_member *by_instance =
			group_member_find_instance(g, a->instance_id.ptr, (size_t)a->instance_id.len);
		if (by_instance && !kstr_is(a->member_id, by_instance->id)) {
			join_answer_error(w, KERR_FENCED_INSTANCE_ID, NULL);
			return;
		}
	}
	struct group_member *m = group_member_find(g, mid, mlen);
	if (!m) {
		join_answer_error(w, KERR_UNKNOWN_MEMBER_ID, NULL);
		return;
	}
	switch (g->state) {
	case GROUP_PREPARING_REBALANCE:
		group_update_member_and_rebalance(g, m, a, w);
		break;
	case GROUP_COMPLETING_REBALANCE:
		if (member_protocols_match(m, a)) {
			member_arm_session(m);
			group_answer_join(g, m, w, strcmp(m->id, g->leader_id) == 0);
		} else {
			group_update_member_and_rebalance(g, m, a, w);
		}
		break;
	case GROUP_STABLE:
		if (strcmp(m->id, g->leader_id) == 0 || !member_protocols_match(m, a)) {
			group_update_member_and_rebalance(g, m, a, w);
		} else {
			member_arm_session(m);
			group_answer_join(g, m, w, false);
		}
		break;
	case GROUP_EMPTY:
	case GROUP_DEAD:
		join_answer_error(w, KERR_UNKNOWN_MEMBER_ID, NULL);
		break;
	}
}

/* An empty group that a failed request created holds nothing worth keeping. */
static void group_drop_if_unused(struct group_coordinator *gc, struct group *g)
{
	if (g->state == GROUP_EMPTY && !g->members && !g->pending_members && g->offsets.count == 0 &&
	    g->generation == 0 && g->writes_in_flight == 0 && !io_timer_armed(&g->rebalance_timer))
		group_table_remove(&gc->groups, g);
}

void group_join(struct group_coordinator *gc, int32_t partition, const struct group_join_args *a,
		struct group_join_waiter *w)
{
	const struct broker_config *cfg = &gc->broker->cfg;
	if (a->group_id.len <= 0) {
		join_answer_error(w, KERR_INVALID_GROUP_ID, NULL);
		return;
	}
	if (a->session_timeout_ms < (int32_t)cfg->group_min_session_timeout_ms ||
	    a->session_timeout_ms > (int32_t)cfg->group_max_session_timeout_ms) {
		join_answer_error(w, KERR_INVALID_SESSION_TIMEOUT, NULL);
		return;
	}
	struct group *g = group_table_find(&gc->groups, a->group_id);
	if (!g) {
		if (a->member_id.len > 0) {
			join_answer_error(w, KERR_UNKNOWN_MEMBER_ID, NULL);
			return;
		}
		g = group_table_add(&gc->groups, a->group_id, partition, gc);
		if (!g) {
			join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
			return;
		}
	}
	if (g->state == GROUP_DEAD) {
		join_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		return;
	}
	if (!group_supports_protocols(g, a)) {
		join_answer_error(w, KERR_INCONSISTENT_GROUP_PROTOCOL, NULL);
		group_drop_if_unused(gc, g);
		return;
	}
	if (a->member_id.len <= 0)
		group_join_new_member(g, a, w);
	else
		group_join_known_member(g, a, w);
}

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
			slog_error("group", "cannot persist the assignment of group %s: error %d", g->id, err);
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
		struct group_member *m = group_member_find(g, as->member_id.ptr, (size_t)as->member_id.len);
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
	if (!g) {
		sync_answer_error(w, KERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (g->state == GROUP_DEAD) {
		sync_answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	if (a->instance_id.len >= 0) {
		struct group_member *by_instance =
			group_member_find_instance(g, a->instance_id.ptr, (size_t)a->instance_id.len);
		if (by_instance && !kstr_is(a->member_id, by_instance->id)) {
			sync_answer_error(w, KERR_FENCED_INSTANCE_ID);
			return;
		}
	}
	struct group_member *m = a->member_id.len > 0
		? group_member_find(g, a->member_id.ptr, (size_t)a->member_id.len) : NULL;
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
		if (strcmp(m->id, g->leader_id) != 0)
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
	if (!g)
		return KERR_UNKNOWN_MEMBER_ID;
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (instance_id.len >= 0) {
		struct group_member *by_instance =
			group_member_find_instance(g, instance_id.ptr, (size_t)instance_id.len);
		if (by_instance && !kstr_is(member_id, by_instance->id))
			return KERR_FENCED_INSTANCE_ID;
	}
	if (g->state == GROUP_EMPTY)
		return KERR_UNKNOWN_MEMBER_ID;
	struct group_member *m = member_id.len > 0
		? group_member_find(g, member_id.ptr, (size_t)member_id.len) : NULL;
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
		m = group_member_find_instance(g, lm->instance_id.ptr, (size_t)lm->instance_id.len);
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
		if (lm->member_id.len > 0 && !kstr_is(lm->member_id, m->id))
			return KERR_FENCED_INSTANCE_ID;
	} else if (lm->member_id.len > 0) {
		m = group_pending_find(g, lm->member_id.ptr, (size_t)lm->member_id.len);
		if (!m)
			m = group_member_find(g, lm->member_id.ptr, (size_t)lm->member_id.len);
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
	if (!g)
		return KERR_NONE;
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	for (uint32_t i = 0; i < count; i++)
		members[i].error = group_leave_one(g, &members[i]);
	return KERR_NONE;
}

/* ---- offsets ---------------------------------------------------------- */

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

static void commit_written(void *ctx, int16_t err)
{
	struct commit_write *cw = ctx;
	struct group_commit_args *a = cw->args;
	struct group *g = cw->group;
	if (err != KERR_NONE) {
		commit_fail_all(a, err == KERR_MESSAGE_TOO_LARGE ? KERR_INVALID_COMMIT_OFFSET_SIZE
								 : store_error_for_client(err));
	} else if (!g->removed) {
		for (uint32_t i = 0; i < a->count; i++) {
			struct group_commit_partition *p = &a->parts[i];
			if (p->error != KERR_NONE)
				continue;
			struct group_offset *o = group_offset_put(&g->offsets, p->topic, p->partition);
			char *meta = group_strdup(p->metadata.len >= 0 ? p->metadata : kstr_from_cstr(""));
			if (!o || !meta) {
				free(meta);
				p->error = KERR_UNKNOWN_SERVER_ERROR;
				continue;
			}
			const struct group_offset_value *v = &cw->values[i];
			o->offset = v->offset;
			o->leader_epoch = v->leader_epoch;
			free(o->metadata);
			o->metadata = meta;
			o->commit_timestamp = v->commit_timestamp;
			o->expire_timestamp = v->expire_timestamp;
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
	if (a->instance_id.len >= 0) {
		struct group_member *by_instance =
			group_member_find_instance(g, a->instance_id.ptr, (size_t)a->instance_id.len);
		if (by_instance && !kstr_is(a->member_id, by_instance->id))
			return KERR_FENCED_INSTANCE_ID;
	}
	if (a->generation < 0 && g->state == GROUP_EMPTY)
		return KERR_NONE;
	if (g->state == GROUP_COMPLETING_REBALANCE)
		return KERR_REBALANCE_IN_PROGRESS;
	struct group_member *m = a->member_id.len > 0
		? group_member_find(g, a->member_id.ptr, (size_t)a->member_id.len) : NULL;
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
	struct broker *b = gc->broker;
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
		struct topic *t = topics_lookup(b, p->topic);
		if (!t || !topic_partition(t, p->partition)) {
			p->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		if (p->metadata.len > 0 && (uint32_t)p->metadata.len > b->cfg.offset_metadata_max_bytes) {
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
		commit_written(cw, KERR_NONE);
		group_drop_if_unused(gc, g);
		return;
	}
	err = group_store_append(g, recs, n, commit_written, cw);
	free(recs);
	if (err != KERR_NONE)
		commit_written(cw, err);
}

struct delete_write {
	struct group *group;
	struct group_done *done;
	enum group_state previous;
};

static void group_delete_written(void *ctx, int16_t err)
{
	struct delete_write *dw = ctx;
	struct group *g = dw->group;
	struct group_done *d = dw->done;
	if (err != KERR_NONE) {
		slog_error("group", "cannot delete group %s: error %d", g->id, err);
		g->state = dw->previous;
		err = store_error_for_client(err);
	} else if (!g->removed) {
		slog_info("group", "deleted group %s", g->id);
		group_table_remove(&g->coord->groups, g);
	}
	free(dw);
	d->fn(d, err);
}

struct tombstone_fill {
	struct group_store_record *recs;
	uint32_t n;
	uint32_t cap;
	bool (*want)(const struct group_offset *o, void *ctx);
	void *ctx;
};

static void tombstone_add(struct group_offset *o, void *ctx)
{
	struct tombstone_fill *f = ctx;
	if (f->n < f->cap && (!f->want || f->want(o, f->ctx)))
		f->recs[f->n++] = (struct group_store_record){
			.topic = kstr_from_cstr(o->topic), .partition = o->partition, .tombstone = true,
		};
}

/* Writes tombstones for the offsets `want` selects (all when NULL) and, with
 * `group_too`, for the group itself. */
static int16_t group_write_tombstones(struct group *g, bool group_too,
				      bool (*want)(const struct group_offset *o, void *ctx),
				      void *want_ctx, group_store_done_fn done, void *ctx,
				      uint32_t *written)
{
	struct tombstone_fill f = { .cap = (uint32_t)g->offsets.count + 1, .want = want, .ctx = want_ctx };
	f.recs = calloc(f.cap, sizeof(*f.recs));
	if (!f.recs)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	group_offset_for_each(&g->offsets, tombstone_add, &f);
	if (group_too)
		f.recs[f.n++] = (struct group_store_record){ .is_metadata = true, .tombstone = true };
	*written = f.n;
	int16_t err = f.n ? group_store_append(g, f.recs, f.n, done, ctx) : KERR_NONE;
	free(f.recs);
	return err;
}

void group_delete(struct group_coordinator *gc, struct kstr group_id, struct group_done *d)
{
	if (group_id.len <= 0) {
		d->fn(d, KERR_INVALID_GROUP_ID);
		return;
	}
	struct group *g = group_table_find(&gc->groups, group_id);
	if (!g || g->state == GROUP_DEAD) {
		d->fn(d, KERR_GROUP_ID_NOT_FOUND);
		return;
	}
	if (g->state != GROUP_EMPTY || g->pending_members) {
		d->fn(d, KERR_NON_EMPTY_GROUP);
		return;
	}
	struct delete_write *dw = malloc(sizeof(*dw));
	if (!dw) {
		d->fn(d, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	*dw = (struct delete_write){ .group = g, .done = d, .previous = g->state };
	io_timer_stop(group_reactor(g), &g->rebalance_timer);
	g->state = GROUP_DEAD;
	uint32_t n;
	int16_t err = group_write_tombstones(g, true, NULL, NULL, group_delete_written, dw, &n);
	if (err != KERR_NONE)
		group_delete_written(dw, err);
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
	bool consumer = g->protocol_type && strcmp(g->protocol_type, CONSUMER_PROTOCOL_TYPE) == 0;
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
		struct topic *t = topics_lookup(gc->broker, p->topic);
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
	int16_t err = group_write_tombstones(g, false, offset_delete_wanted, ow, offset_delete_written,
					     ow, &n);
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
	if (o->expire_timestamp >= 0)
		return e->now >= o->expire_timestamp;
	if (e->group->state != GROUP_EMPTY)
		return false;
	/* KIP-211: a consumer group's offsets expire together, counted from when
	 * it became empty; a group that only commits, from each commit. */
	int64_t base = e->group->protocol_type ? e->group->state_timestamp : o->commit_timestamp;
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
		slog_error("group", "cannot expire offsets of group %s: error %d", g->id, err);
	} else if (!g->removed) {
		group_offset_for_each(&g->offsets, expiry_remove, ew);
		if (ew->e.expired)
			slog_info("group", "removed %u expired offset(s) of group %s", ew->e.expired, g->id);
		if (ew->group_too && g->offsets.count == 0 && g->state == GROUP_EMPTY &&
		    !g->members && !g->pending_members) {
			slog_info("group", "group %s is empty and has no offsets: removed", g->id);
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
	ew->group_too = still == 0 && g->state == GROUP_EMPTY && !g->members && !g->pending_members;
	uint32_t n;
	int16_t err = group_write_tombstones(g, ew->group_too, offset_expired, &ew->e, expiry_written,
					     ew, &n);
	if (err != KERR_NONE)
		slog_error("group", "cannot expire offsets of group %s: error %d", g->id, err);
	if (err != KERR_NONE || n == 0)
		free(ew);
}

static void group_on_retention_timer(struct io_timer *t)
{
	struct group_coordinator *gc = container_of(t, struct group_coordinator, retention_timer);
	const struct broker_config *cfg = &gc->broker->cfg;
	struct expiry e = { .now = group_now_ms(),
			    .retention_ms = (int64_t)cfg->offsets_retention_minutes * 60000 };
	group_table_for_each(&gc->groups, group_expire, &e);
	io_timer_arm(gc->shard->reactor, t, (uint64_t)cfg->offsets_retention_check_interval_ms * NS_PER_MS,
		     group_on_retention_timer);
}

/* ---- lifetime --------------------------------------------------------- */

static void group_resume_loaded(struct group *g, void *ctx)
{
	(void)ctx;
	for (struct group_member *m = g->members; m; m = m->next) {
		m->synced = true;
		member_arm_session(m);
	}
}

int group_coordinator_start(struct broker *b, struct shard *s)
{
	struct group_coordinator *gc = calloc(1, sizeof(*gc));
	if (!gc) {
		slog_error("group", "out of memory creating the group coordinator");
		return -1;
	}
	gc->broker = b;
	gc->shard = s;
	io_timer_init(&gc->retention_timer);
	s->groups = gc;
	if (group_store_load(b, gc, &gc->groups) != 0)
		return -1;
	group_table_for_each(&gc->groups, group_resume_loaded, NULL);
	io_timer_arm(s->reactor, &gc->retention_timer,
		     (uint64_t)b->cfg.offsets_retention_check_interval_ms * NS_PER_MS,
		     group_on_retention_timer);
	return 0;
}

uint32_t group_coordinator_shard_of(struct broker *b, struct kstr group_id)
{
	struct topic *t = topics_lookup(b, kstr_from_cstr(GROUP_STORE_TOPIC));
	if (!t)
		return SHARD_CONTROL;
	return t->partitions[group_store_partition_of(group_id, t->partition_count)].shard;
}

struct group_coordinator *group_coordinator_route(struct broker *b, struct kstr group_id,
						  int32_t *partition, int16_t *err)
{
	/* Only the control shard may create the topic; elsewhere it exists, or
	 * is being deleted. */
	struct shard *self = shard_current();
	struct topic *t = !self || self->id == SHARD_CONTROL
				  ? group_store_topic(b)
				  : topics_lookup(b, kstr_from_cstr(GROUP_STORE_TOPIC));
	if (!t) {
		*err = KERR_COORDINATOR_NOT_AVAILABLE;
		return NULL;
	}
	*partition = group_store_partition_of(group_id, t->partition_count);
	struct partition *p = topic_partition(t, *partition);
	assert(p && p->shard < b->io_shards);
	*err = KERR_NONE;
	return b->shards[p->shard].groups;
}

struct group *group_coordinator_find(struct group_coordinator *gc, struct kstr group_id)
{
	return group_table_find(&gc->groups, group_id);
}

static void group_shutdown_one(struct group *g, void *ctx)
{
	(void)ctx;
	struct reactor *r = group_reactor(g);
	io_timer_stop(r, &g->rebalance_timer);
	struct group_member *lists[] = { g->members, g->pending_members };
	for (size_t l = 0; l < 2; l++) {
		for (struct group_member *m = lists[l]; m; m = m->next) {
			io_timer_stop(r, &m->session_timer);
			member_answer_waiters(m, KERR_NOT_COORDINATOR);
		}
	}
}

void group_coordinator_shutdown(struct shard *s)
{
	struct group_coordinator *gc = s->groups;
	if (!gc)
		return;
	io_timer_stop(s->reactor, &gc->retention_timer);
	group_table_for_each(&gc->groups, group_shutdown_one, NULL);
}

void group_coordinator_free(struct shard *s)
{
	struct group_coordinator *gc = s->groups;
	if (!gc)
		return;
	group_table_free(&gc->groups);
	free(gc);
	s->groups = NULL;
}
