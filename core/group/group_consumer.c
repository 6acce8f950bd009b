/* KIP-848 groups on the coordinator's shard: heartbeats given a group, the
 * members' timeouts, and the writes before the answers (group_consumer.h). */
#include "core/group/group_consumer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/group/cgroup_store.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_internal.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

enum { ASSIGNOR_LIST_MAX = 2 };

/* Kafka's assignors, by the name a heartbeat uses and the class name
 * group.consumer.assignors may give. */
static const struct {
	const char *name;
	const char *class_name;
	enum assignor_kind kind;
} KNOWN_ASSIGNORS[] = {
	{ "uniform", "org.apache.kafka.coordinator.group.assignor.UniformAssignor", ASSIGNOR_UNIFORM },
	{ "range", "org.apache.kafka.coordinator.group.assignor.RangeAssignor", ASSIGNOR_RANGE },
};

/* The "Supported assignors" of UNSUPPORTED_ASSIGNOR's message, in the
 * configured order: [first][second], second == first for a list of one. */
static const char *const ASSIGNOR_LISTS[2][2] = {
	{ "uniform", "uniform, range" },
	{ "range, uniform", "range" },
};

static bool assignor_named(const char *item, size_t len, enum assignor_kind *out)
{
	for (size_t i = 0; i < sizeof(KNOWN_ASSIGNORS) / sizeof(KNOWN_ASSIGNORS[0]); i++) {
		const char *names[] = { KNOWN_ASSIGNORS[i].name, KNOWN_ASSIGNORS[i].class_name };
		for (size_t k = 0; k < 2; k++)
			if (strlen(names[k]) == len && memcmp(names[k], item, len) == 0) {
				*out = KNOWN_ASSIGNORS[i].kind;
				return true;
			}
	}
	return false;
}

int group_consumer_settings(const struct broker_config *cfg, struct cgroup_settings *out)
{
	enum assignor_kind kinds[ASSIGNOR_LIST_MAX];
	int n = 0;
	const char *p = cfg->group_consumer_assignors;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',')
			end++;
		size_t len = (size_t)(end - p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			enum assignor_kind k;
			if (!assignor_named(p, len, &k)) {
				slog_error("group", "group.consumer.assignors: %.*s is not an assignor this "
					   "broker has (uniform, range)", (int)len, p);
				return -1;
			}
			bool seen = false;
			for (int i = 0; i < n; i++)
				seen |= kinds[i] == k;
			if (!seen)
				kinds[n++] = k;
		}
		p = end;
	}
	if (n == 0) {
		slog_error("group", "group.consumer.assignors: no assignor given");
		return -1;
	}
	*out = (struct cgroup_settings){
		.heartbeat_interval_ms = (int32_t)cfg->group_consumer_heartbeat_interval_ms,
		.max_size = cfg->group_consumer_max_size,
		.default_assignor = kinds[0],
		.assignor_names = ASSIGNOR_LISTS[kinds[0]][n == 1 ? kinds[0] : kinds[1]],
	};
	return 0;
}

/* ---- the metadata image as the groups see it ---- */

static bool image_topic(const struct topic *t, struct cgroup_topic *out)
{
	if (!t)
		return false;
	*out = (struct cgroup_topic){ t->id, { t->name, (int32_t)t->name_len }, t->partition_count };
	return true;
}

static bool image_by_name(void *ctx, struct kstr name, struct cgroup_topic *out)
{
	return image_topic(topics_lookup(ctx, name), out);
}

static bool image_by_id(void *ctx, struct kuuid id, struct cgroup_topic *out)
{
	return image_topic(topics_lookup_id(ctx, id), out);
}

static struct cgroup_topics image_of(struct group *g)
{
	struct runtime *rt = g->coord->rt;
	return (struct cgroup_topics){ image_by_name, image_by_id, rt, metadata_current(rt)->generation };
}

/* ---- members' timeouts ---- */

static struct group *member_group(const struct cgroup_member *m)
{
	return m->group->owner;
}

static void member_timers_stop(struct cgroup_member *m)
{
	struct reactor *r = group_reactor(member_group(m));
	io_timer_stop(r, &m->session_timer);
	io_timer_stop(r, &m->rebalance_timer);
}

/* Shared states for the paths both protocols walk (group.h). */
static void consumer_state_update(struct group *g)
{
	enum group_state s = g->consumer->member_count ? GROUP_STABLE : GROUP_EMPTY;
	if (g->state != s) {
		g->state = s;
		g->state_timestamp = group_now_ms();
	}
}

struct logged_write {
	struct kstr group_id;
	const char *what;
};

static void logged_write_done(void *ctx, int16_t err)
{
	struct logged_write *lw = ctx;
	if (err != KERR_NONE)
		slog_error("group", "group %s: cannot persist %s: %s", SLOG_STR(lw->group_id), lw->what,
			   kafka_error_name(err) ? kafka_error_name(err) : "error");
	kstr_free(&lw->group_id);
	free(lw);
}

/* Writes records nobody waits for (a timeout's), logging a failure. */
static void persist_unawaited(struct group *g, const struct cgroup_records *recs, const char *what)
{
	if (recs->count == 0)
		return;
	struct logged_write *lw = malloc(sizeof(*lw));
	if (!lw || !kstr_copy(&lw->group_id, g->id)) {
		free(lw);
		slog_error("group", "group %s: out of memory persisting %s", SLOG_STR(g->id), what);
		return;
	}
	lw->what = what;
	int16_t err = cgroup_store_append(g, g->consumer, recs, logged_write_done, lw);
	if (err != KERR_NONE)
		logged_write_done(lw, err);
}

static void member_fence(struct cgroup_member *m, const char *reason)
{
	struct group *g = member_group(m);
	slog_info("group", "group %s: member %s removed: %s", SLOG_STR(g->id), SLOG_STR(m->id), reason);
	struct cgroup_topics topics = image_of(g);
	struct cgroup_records recs = { 0 };
	cgroup_fence_member(g->consumer, m, &topics, &recs);
	consumer_state_update(g);
	persist_unawaited(g, &recs, "a removed member");
	cgroup_records_free(&recs);
}

static void on_session_expired(struct io_timer *t)
{
	member_fence(container_of(t, struct cgroup_member, session_timer), "its session timed out");
}

static void on_rebalance_expired(struct io_timer *t)
{
	member_fence(container_of(t, struct cgroup_member, rebalance_timer),
		     "it did not revoke its partitions within its rebalance timeout");
}

/* After a heartbeat: its session restarts; the rebalance timeout runs from
 * when it must revoke until it has. */
static void member_timers_set(struct group *g, struct cgroup_member *m, bool revoking)
{
	struct reactor *r = group_reactor(g);
	io_timer_stop(r, &m->session_timer);
	io_timer_arm(r, &m->session_timer,
		     (uint64_t)g->coord->rt->cfg.group_consumer_session_timeout_ms * NS_PER_MS,
		     on_session_expired);
	if (!revoking)
		io_timer_stop(r, &m->rebalance_timer);
	else if (!io_timer_armed(&m->rebalance_timer))
		io_timer_arm(r, &m->rebalance_timer, (uint64_t)m->rebalance_timeout_ms * NS_PER_MS,
			     on_rebalance_expired);
}

void group_consumer_shutdown(struct group *g)
{
	if (!g->consumer)
		return;
	for (struct cgroup_member *m = g->consumer->members; m; m = m->next)
		member_timers_stop(m);
}

/* ---- heartbeats ---- */

struct heartbeat_op {
	struct group_consumer_waiter *w;
	struct group_consumer_answer answer;
	struct kstr member_id;
	struct cg_assignment assignment;
};

static void answer_error(struct group_consumer_waiter *w, int16_t err, const char *message)
{
	struct group_consumer_answer a = { .error = err, .message = message && *message ? message : NULL,
					   .member_id = { NULL, -1 } };
	w->done(w, &a);
}

static void heartbeat_written(void *ctx, int16_t err)
{
	struct heartbeat_op *op = ctx;
	if (err != KERR_NONE)
		answer_error(op->w, store_error_for_client(err), NULL);
	else
		op->w->done(op->w, &op->answer);
	kstr_free(&op->member_id);
	cg_assignment_free(&op->assignment);
	free(op);
}

static struct group *consumer_group_create(struct group_coordinator *gc, struct kstr group_id,
					   int32_t partition)
{
	struct group *g = group_table_add(&gc->groups, group_id, partition, gc);
	if (!g)
		return NULL;
	g->consumer = calloc(1, sizeof(*g->consumer));
	if (!g->consumer || cgroup_init(g->consumer) != 0) {
		group_table_remove(&gc->groups, g);
		return NULL;
	}
	g->type = GROUP_TYPE_CONSUMER;
	g->consumer->owner = g;
	g->consumer->on_member_free = member_timers_stop;
	return g;
}

void group_consumer_heartbeat(struct group_coordinator *gc, struct kstr group_id, int32_t partition,
			      const struct cgroup_heartbeat_args *a, struct group_consumer_waiter *w)
{
	const struct cgroup_settings *s = &gc->consumer_settings;
	char message[CGROUP_MESSAGE_BYTES];
	int16_t err = cgroup_heartbeat_validate(group_id, a, s, message, sizeof(message));
	if (err != KERR_NONE) {
		answer_error(w, err, message);
		return;
	}
	struct group *g = group_table_find(&gc->groups, group_id);
	if (g && g->type != GROUP_TYPE_CONSUMER) {
		snprintf(message, sizeof(message), "Group %.*s is not a consumer group.",
			 (int)group_id.len, group_id.ptr);
		answer_error(w, KERR_GROUP_ID_NOT_FOUND, message);
		return;
	}
	if (g && g->state == GROUP_DEAD) {
		answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		return;
	}
	if (!g && a->member_epoch != CGROUP_JOIN_EPOCH) {
		snprintf(message, sizeof(message), "Consumer group %.*s not found.", (int)group_id.len,
			 group_id.ptr);
		answer_error(w, KERR_GROUP_ID_NOT_FOUND, message);
		return;
	}
	if (!g && !(g = consumer_group_create(gc, group_id, partition))) {
		answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		return;
	}
	struct cgroup_topics topics = image_of(g);
	struct cgroup_heartbeat_result r;
	if (a->member_epoch >= 0)
		cgroup_heartbeat(g->consumer, group_id, a, s, &topics, group_now_ms(), &r);
	else
		cgroup_leave(g->consumer, group_id, a, &topics, &r);
	consumer_state_update(g);
	if (r.error != KERR_NONE) {
		answer_error(w, r.error, r.message);
		cgroup_heartbeat_result_free(&r);
		group_drop_if_unused(gc, g);
		return;
	}
	if (r.member)
		member_timers_set(g, r.member, r.revoking);
	/* calloc: an empty member id and assignment. */
	struct heartbeat_op *op = calloc(1, sizeof(*op));
	struct kstr member_id = r.member ? r.member->id : a->member_id;
	if (!op || !kstr_copy(&op->member_id, member_id) ||
	    (r.with_assignment && r.member &&
	     cg_assignment_copy(&op->assignment, &r.member->current.assigned) != 0)) {
		if (op) {
			kstr_free(&op->member_id);
			cg_assignment_free(&op->assignment);
		}
		free(op);
		/* The state moved but no answer can be built: the client retries
		 * and is told where it stands then. */
		persist_unawaited(g, &r.records, "a heartbeat's changes");
		answer_error(w, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
		cgroup_heartbeat_result_free(&r);
		return;
	}
	op->w = w;
	op->answer = (struct group_consumer_answer){
		.member_id = op->member_id,
		.member_epoch = r.member_epoch,
		/* A leave's answer carries no interval, as Kafka's. */
		.heartbeat_interval_ms = a->member_epoch >= 0 ? s->heartbeat_interval_ms : 0,
		.assignment = r.with_assignment && r.member ? &op->assignment : NULL,
	};
	if (r.records.count == 0) {
		heartbeat_written(op, KERR_NONE);
	} else {
		err = cgroup_store_append(g, g->consumer, &r.records, heartbeat_written, op);
		if (err != KERR_NONE)
			heartbeat_written(op, err);
	}
	cgroup_heartbeat_result_free(&r);
}

int16_t group_consumer_commit_check(const struct group *g, struct kstr member_id, int32_t member_epoch)
{
	assert(g->type == GROUP_TYPE_CONSUMER && g->consumer);
	if (member_epoch < 0 && member_id.len <= 0 && g->consumer->member_count == 0)
		return KERR_NONE;
	const struct cgroup_member *m =
		member_id.len > 0 ? cgroup_member_find(g->consumer, member_id) : NULL;
	if (!m)
		return KERR_UNKNOWN_MEMBER_ID;
	return member_epoch == m->current.member_epoch ? KERR_NONE : KERR_STALE_MEMBER_EPOCH;
}
