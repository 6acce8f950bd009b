/* The coordinator's life on its shard (see group_coordinator.h): start and
 * replay, find, shutdown, free, and DeleteGroups. */
#include "core/group/group_coordinator.h"
#include "core/group/group_consumer.h"

#include <stdlib.h>

#include "core/meta/topics.h"
#include "core/group/group_internal.h"
#include "core/group/group_load.h"
#include "core/group/group_store.h"
#include "core/shard/shard.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

static void group_resume_loaded(struct group *g, void *ctx)
{
	(void)ctx;
	for (struct group_member *m = g->members; m; m = m->next) {
		m->synced = true;
		member_arm_session(m);
	}
}

int group_coordinator_start(struct runtime *rt, struct shard *s)
{
	struct group_coordinator *gc = calloc(1, sizeof(*gc));
	if (!gc) {
		slog_error("group", "out of memory creating the group coordinator");
		return -1;
	}
	gc->rt = rt;
	gc->shard = s;
	io_timer_init(&gc->retention_timer);
	if (group_consumer_settings(&rt->cfg, &gc->consumer_settings) != 0) {
		free(gc);
		return -1;
	}
	s->slots[SHARD_SLOT_GROUPS] = gc;
	if (group_load(rt, gc, &gc->groups) != 0)
		return -1;
	group_table_for_each(&gc->groups, group_resume_loaded, NULL);
	io_timer_arm(s->reactor, &gc->retention_timer,
		     (uint64_t)rt->cfg.offsets_retention_check_interval_ms * NS_PER_MS,
		     group_on_retention_timer);
	return 0;
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
	group_consumer_shutdown(g);
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
	struct group_coordinator *gc = group_coordinator_of(s);
	if (!gc)
		return;
	io_timer_stop(s->reactor, &gc->retention_timer);
	group_table_for_each(&gc->groups, group_shutdown_one, NULL);
}

const struct shard_service group_shard_service = {
	.name = "groups",
	.stop = group_coordinator_shutdown,
};

void group_coordinator_free(struct shard *s)
{
	struct group_coordinator *gc = group_coordinator_of(s);
	if (!gc)
		return;
	group_table_free(&gc->groups);
	free(gc);
	s->slots[SHARD_SLOT_GROUPS] = NULL;
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
		slog_error("group", "cannot delete group %s: error %d", SLOG_STR(g->id), err);
		g->state = dw->previous;
		err = store_error_for_client(err);
	} else if (!g->removed) {
		slog_info("group", "deleted group %s", SLOG_STR(g->id));
		group_table_remove(&g->coord->groups, g);
	}
	free(dw);
	d->fn(d, err);
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
	int16_t err = group_write_tombstones(g, true, true, NULL, NULL, group_delete_written, dw, &n);
	if (err != KERR_NONE)
		group_delete_written(dw, err);
}
