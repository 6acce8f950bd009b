/* Raising a topic's partition count: checks, placement, the owners' opening
 * of the new logs, the record, publication and the old object's retirement.
 * See topic_partitions.h. */
#include "core/meta/topic_partitions.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/fetch_wait.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topic_alter.h"
#include "core/meta/topics.h"
#include "core/meta/topics_impl.h"
#include "core/shard/metadata_sync.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

enum { TOPIC_GROWTH_WHY_BYTES = PATH_MAX + 400 };

struct topic_growth;

/* One io shard's part: opening (or discarding) its new partitions, or
 * handing its old partitions' waiters and hooks to the grown topic. */
struct topic_growth_call {
	struct shard_call call;
	struct topic_growth *growth;
	int rc;        /* of the opening: 0 or -errno */
	int32_t failed; /* the partition whose log could not be opened */
	char why[TOPIC_GROWTH_WHY_BYTES];
};

/* A growth in flight, owned by this module from start to retirement. */
struct topic_growth {
	struct topic_growth *next;     /* in the registry's growths */
	struct metadata_sync_waiter sync;
	struct runtime *rt;
	struct topic *old;
	struct topic *grown;
	struct topic_growth_call *owners; /* per io shard */
	uint32_t pending;
	int16_t error;
	char msg[TOPIC_GROWTH_MESSAGE_BYTES];
	topic_growth_done_fn done;
	void *ctx;
	void (*phase_done)(struct topic_growth *g);
	struct topic_growth_waiter *waiters; /* newest first */
};

int16_t topic_partitions_check(const struct topic *t, int32_t count, char *msg, size_t msglen)
{
	if (count == t->partition_count) {
		snprintf(msg, msglen, "Topic already has %d partition(s).", t->partition_count);
		return KERR_INVALID_PARTITIONS;
	}
	if (count < t->partition_count) {
		snprintf(msg, msglen, "The topic %s currently has %d partition(s); %d would not be an "
			 "increase.", t->name, t->partition_count, count);
		return KERR_INVALID_PARTITIONS;
	}
	if ((int64_t)count - t->partition_count > TOPIC_PARTITIONS_ADDED_MAX) {
		snprintf(msg, msglen, "Excessively large number of additional partitions per request.");
		return KERR_POLICY_VIOLATION;
	}
	if (count > TOPIC_PARTITIONS_MAX) {
		snprintf(msg, msglen, "Number of partitions must be between 1 and %d.",
			 TOPIC_PARTITIONS_MAX);
		return KERR_INVALID_PARTITIONS;
	}
	return KERR_NONE;
}

static struct topic_growth *topic_growth_of(struct topic_registry *r, const struct topic *t)
{
	for (struct topic_growth *g = r->growths; g; g = g->next)
		if (g->old == t)
			return g;
	return NULL;
}

bool topic_partitions_busy(struct runtime *rt, const struct topic *t)
{
	return topic_growth_of(topics_registry(rt), t) != NULL;
}

void topic_partitions_wait(struct runtime *rt, const struct topic *t,
			   struct topic_growth_waiter *w)
{
	struct topic_growth *g = topic_growth_of(topics_registry(rt), t);
	assert(g);
	w->next = g->waiters;
	g->waiters = w;
}

/* Takes the growth's waiters, oldest first. */
static struct topic_growth_waiter *topic_growth_take_waiters(struct topic_growth *g)
{
	struct topic_growth_waiter *oldest = NULL;
	while (g->waiters) {
		struct topic_growth_waiter *w = g->waiters;
		g->waiters = w->next;
		w->next = oldest;
		oldest = w;
	}
	return oldest;
}

/* Runs the waiters in the order they came (each may start a growth, and
 * the next then waits for that one). */
static void topic_growth_release(struct topic_growth_waiter *w)
{
	while (w) {
		struct topic_growth_waiter *next = w->next;
		w->next = NULL;
		w->ready(w);
		w = next;
	}
}

static void topic_growth_unlist(struct topic_registry *r, struct topic_growth *g)
{
	for (struct topic_growth **pp = &r->growths; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			return;
		}
	}
}

/* The grown topic: t's identity, configs (shared with t until t retires)
 * and partitions, and `count - t->partition_count` new ones on the
 * least-loaded io shards. */
static struct topic *topic_growth_build(struct runtime *rt, struct topic *t, int32_t count)
{
	struct topic *g = topic_alloc(t->name, t->name_len, count);
	uint32_t *load = topics_shard_load(rt, NULL);
	if (!g || !load) {
		if (g)
			topic_free(g);
		free(load);
		return NULL;
	}
	g->id = t->id;
	g->cfg = *topic_config_current(t);
	g->internal = t->internal;
	g->override_count = t->override_count;
	g->overrides = t->overrides;
	for (int32_t i = 0; i < t->partition_count; i++) {
		g->partitions[i].shard = t->partitions[i].shard;
		g->partitions[i].log = t->partitions[i].log;
	}
	for (int32_t i = t->partition_count; i < count; i++) {
		uint32_t best = topics_least_loaded(rt, load);
		g->partitions[i].shard = best;
		load[best]++;
	}
	free(load);
	return g;
}

/* Frees a grown topic that was never published (its configs stay t's). */
static void topic_growth_drop_grown(struct topic_growth *g)
{
	g->grown->overrides = NULL;
	g->grown->override_count = 0;
	topic_free(g->grown);
	g->grown = NULL;
}

static bool topic_growth_is_new(const struct topic_growth *g, int32_t i, uint32_t shard)
{
	return i >= g->old->partition_count && g->grown->partitions[i].shard == shard;
}

/* Every call of the current phase has returned. */
typedef void (*topic_growth_phase_fn)(struct topic_growth *g);

static struct topic_growth *topic_growth_of_call(struct shard_call *call)
{
	return ((struct topic_growth_call *)call)->growth;
}

static void topic_growth_call_done(struct shard_call *call)
{
	struct topic_growth *g = topic_growth_of_call(call);
	if (--g->pending == 0)
		g->phase_done(g);
}

/* Starts one call per io shard for which `wanted` says it has work; when
 * they have all returned (possibly at once), phase_done runs. */
static void topic_growth_fan_out(struct topic_growth *g, shard_call_fn run,
				 bool (*wanted)(const struct topic_growth *g, uint32_t shard),
				 topic_growth_phase_fn phase_done)
{
	struct runtime *rt = g->rt;
	g->phase_done = phase_done;
	g->pending = 1;
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		if (!wanted(g, k))
			continue;
		struct topic_growth_call *oc = &g->owners[k];
		oc->call = (struct shard_call){ .origin = &rt->shards[SHARD_CONTROL],
						.target = &rt->shards[k], .run = run,
						.done = topic_growth_call_done };
		oc->growth = g;
		oc->rc = 0;
		g->pending++;
		shard_call_start(&oc->call);
	}
	if (--g->pending == 0)
		phase_done(g);
}

static bool topic_growth_owns_new(const struct topic_growth *g, uint32_t shard)
{
	for (int32_t i = g->old->partition_count; i < g->grown->partition_count; i++)
		if (g->grown->partitions[i].shard == shard)
			return true;
	return false;
}

static bool topic_growth_owns_old(const struct topic_growth *g, uint32_t shard)
{
	for (int32_t i = 0; i < g->old->partition_count; i++)
		if (g->old->partitions[i].shard == shard)
			return true;
	return false;
}

/* ---- opening the new partitions' logs, on their owners ---- */

/* On a new partition's owner: removes what the growth made of its new
 * partitions here (logs, or a directory a failed opening left). */
static void topic_growth_discard_here(struct topic_growth *g, uint32_t self)
{
	struct topic *t = g->grown;
	for (int32_t i = g->old->partition_count; i < t->partition_count; i++) {
		struct partition *p = &t->partitions[i];
		if (!topic_growth_is_new(g, i, self))
			continue;
		int rc = p->log ? partition_log_delete(p->log)
				: topics_remove_partition_dir(g->rt, t, i);
		p->log = NULL;
		if (rc != 0)
			slog_error("topics", "could not remove every file of %s-%d", t->name, i);
	}
}

static void topic_growth_open_here(struct shard_call *call)
{
	struct topic_growth_call *oc = (struct topic_growth_call *)call;
	struct topic_growth *g = oc->growth;
	uint32_t self = call->target->id;
	for (int32_t i = g->old->partition_count; i < g->grown->partition_count && oc->rc == 0; i++) {
		if (!topic_growth_is_new(g, i, self))
			continue;
		oc->failed = i;
		/* A directory already there is a growth a crash cut short before
		 * its record: nothing was ever written to it. */
		oc->rc = topics_remove_partition_dir(g->rt, g->grown, i);
		if (oc->rc != 0)
			snprintf(oc->why, sizeof(oc->why), "%s-%d: cannot remove a stale directory",
				 g->grown->name, i);
		else
			oc->rc = topics_open_partition(g->rt, g->grown, i, true, NULL, oc->why,
						       sizeof(oc->why));
	}
	if (oc->rc != 0)
		topic_growth_discard_here(g, self);
	shard_call_return(call);
}

static void topic_growth_discard_on_owner(struct shard_call *call)
{
	topic_growth_discard_here(topic_growth_of_call(call), call->target->id);
	shard_call_return(call);
}

/* ---- the end: answer, then retire or forget ---- */

static void topic_growth_answer(struct topic_growth *g)
{
	g->done(g->ctx, g->error, g->msg);
}

static void topic_growth_free(struct topic_growth *g)
{
	free(g->owners);
	free(g);
}

/* On an old partition's owner, once no shard can reach the old object: its
 * waiting fetches move to the grown topic's partitions and its log's appends
 * wake those from now on. The moved fetches are woken once, for any append
 * they missed since the grown topic was published. */
static void topic_growth_hand_over(struct shard_call *call)
{
	struct topic_growth *g = topic_growth_of_call(call);
	uint32_t self = call->target->id;
	for (int32_t i = 0; i < g->old->partition_count; i++) {
		struct partition *from = &g->old->partitions[i];
		struct partition *to = &g->grown->partitions[i];
		if (from->shard != self)
			continue;
		while (from->waiters) {
			struct fetch_waiter *w = from->waiters;
			fetch_waiter_detach(w);
			fetch_waiter_attach(w, &to->waiters, w->wake);
		}
		if (to->log)
			partition_log_set_advance_hook(to->log, topics_on_advance, to);
		fetch_waiters_wake(&to->waiters);
	}
	shard_call_return(call);
}

static void topic_growth_handed_over(struct topic_growth *g)
{
	g->old->overrides = NULL;
	g->old->override_count = 0;
	topic_free(g->old);
	topic_growth_free(g);
}

static void topic_growth_synced(struct metadata_sync_waiter *w)
{
	struct topic_growth *g = container_of(w, struct topic_growth, sync);
	topic_growth_fan_out(g, topic_growth_hand_over, topic_growth_owns_old,
			     topic_growth_handed_over);
}

/* The growth failed on the way; its new files are gone: answer it. */
static void topic_growth_discarded(struct topic_growth *g)
{
	topic_growth_unlist(topics_registry(g->rt), g);
	topic_growth_drop_grown(g);
	struct topic_growth_waiter *waiting = topic_growth_take_waiters(g);
	topic_growth_answer(g);
	topic_growth_free(g);
	topic_growth_release(waiting);
}

static void topic_growth_fail(struct topic_growth *g, int16_t error, const char *msg)
{
	g->error = error;
	snprintf(g->msg, sizeof(g->msg), "%s", msg);
	topic_growth_fan_out(g, topic_growth_discard_on_owner, topic_growth_owns_new,
			     topic_growth_discarded);
}

/* The first owner that could not open a new partition's log, or NULL. */
static const struct topic_growth_call *topic_growth_failure(const struct topic_growth *g)
{
	for (uint32_t k = 0; k < g->rt->io_shards; k++)
		if (topic_growth_owns_new(g, k) && g->owners[k].rc != 0)
			return &g->owners[k];
	return NULL;
}

/* Every new log is open: the topic is recorded with its new count, replaces
 * the old object in the registry and is published; the old object retires
 * once every shard has moved past the images that had it. */
static void topic_growth_opened(struct topic_growth *g)
{
	struct runtime *rt = g->rt;
	struct topic_registry *r = topics_registry(rt);
	const struct topic_growth_call *bad = topic_growth_failure(g);
	char msg[TOPIC_GROWTH_MESSAGE_BYTES];
	if (bad) {
		slog_error("topics", "adding partitions to %s: %s; nothing added", g->old->name,
			   bad->why);
		snprintf(msg, sizeof(msg), "cannot create partition %d in %.160s: %s", bad->failed,
			 rt->cfg.log_dir, strerror(-bad->rc));
		topic_growth_fail(g, KERR_KAFKA_STORAGE_ERROR, msg);
		return;
	}
	if (topics_find(r, (struct kstr){ g->old->name, (int32_t)g->old->name_len }) != g->old) {
		topic_growth_fail(g, KERR_UNKNOWN_TOPIC_OR_PARTITION,
				  "This server does not host this topic-partition.");
		return;
	}
	/* An alteration while the new logs opened (topic_alter.h) replaced the
	 * old object's overrides and config: the grown one takes them as they
	 * are now, and its logs get the config in force below. */
	g->grown->cfg = *topic_config_current(g->old);
	g->grown->overrides = g->old->overrides;
	g->grown->override_count = g->old->override_count;
	if (topics_persist(rt, g->grown) != 0) {
		slog_error("topics", "cannot record %s with %d partition(s); nothing added",
			   g->old->name, g->grown->partition_count);
		topic_growth_fail(g, KERR_KAFKA_STORAGE_ERROR,
				  "cannot record the topic in the metadata store");
		return;
	}
	topics_unlink(r, g->old);
	topics_insert(r, g->grown);
	metadata_publish(rt);
	if (topic_alter_push_logs(rt, g->grown, &g->grown->cfg) != 0)
		slog_error("topics", "topic %s: out of memory sending its new partitions their "
			   "config; they keep the config of the growth's start", g->grown->name);
	topic_growth_unlist(r, g);
	slog_info("topics", "topic %s: %d partition(s), was %d", g->grown->name,
		  g->grown->partition_count, g->old->partition_count);
	struct topic_growth_waiter *waiting = topic_growth_take_waiters(g);
	topic_growth_answer(g);
	g->sync.done = topic_growth_synced;
	metadata_sync_wait(rt, &g->sync);
	topic_growth_release(waiting);
}

int16_t topic_partitions_grow(struct runtime *rt, struct topic *t, int32_t count,
			      topic_growth_done_fn done, void *ctx, char *msg, size_t msglen)
{
	assert(shard_current() == NULL || shard_current()->id == SHARD_CONTROL);
	assert(count > t->partition_count && count <= TOPIC_PARTITIONS_MAX);
	struct topic_registry *r = topics_registry(rt);
	assert(!topic_growth_of(r, t));
	struct topic_growth *g = calloc(1, sizeof(*g));
	struct topic_growth_call *owners = calloc(rt->io_shards, sizeof(*owners));
	struct topic *grown = g && owners ? topic_growth_build(rt, t, count) : NULL;
	if (!grown) {
		free(g);
		free(owners);
		snprintf(msg, msglen, "out of memory");
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	*g = (struct topic_growth){ .next = r->growths, .rt = rt, .old = t, .grown = grown,
				    .owners = owners, .done = done, .ctx = ctx };
	r->growths = g;
	topic_growth_fan_out(g, topic_growth_open_here, topic_growth_owns_new, topic_growth_opened);
	return KERR_NONE;
}
