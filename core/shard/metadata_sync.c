/* Snapshot publication and sync rounds (see metadata_sync.h). */
#include "core/shard/metadata_sync.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/shard/runtime.h"
#include "core/slog.h"
#include "core/shard/shard.h"
#include "core/shard/shard_mail.h"

/* A round's messages carry (generation, shard) in their argument, so that
 * they need no memory of their own. */
enum { SYNC_SHARD_BITS = 11 };
_Static_assert((1u << SYNC_SHARD_BITS) > 1024, "num.*.threads allow up to 1024 shards");

static void *sync_pack(uint64_t generation, uint32_t shard)
{
	return (void *)(uintptr_t)((generation << SYNC_SHARD_BITS) | shard);
}

static void sync_unpack(void *arg, uint64_t *generation, uint32_t *shard)
{
	uintptr_t v = (uintptr_t)arg;
	*generation = v >> SYNC_SHARD_BITS;
	*shard = (uint32_t)(v & ((1u << SYNC_SHARD_BITS) - 1));
}

struct sync_snapshot *metadata_sync_current(struct runtime *rt)
{
	return atomic_load_explicit(&rt->snapshot, memory_order_acquire);
}

static void sync_free_retired_upto(struct metadata_sync *ms, uint64_t generation)
{
	/* A snapshot retired by publishing generation G is unreachable once
	 * round G completed. */
	struct sync_snapshot **pp = &ms->retired;
	while (*pp) {
		struct sync_snapshot *snap = *pp;
		if (snap->generation < generation) {
			*pp = snap->next_retired;
			snap->release(snap);
		} else {
			pp = &snap->next_retired;
		}
	}
}

static uint64_t sync_min(const uint64_t *v, uint32_t n)
{
	uint64_t min = v[0];
	for (uint32_t i = 1; i < n; i++)
		if (v[i] < min)
			min = v[i];
	return min;
}

/* Control shard: an io shard acknowledged; completes what it can. */
static void sync_ack_apply(struct runtime *rt, uint32_t from, uint64_t generation)
{
	struct metadata_sync *ms = &rt->sync;
	if (generation > ms->acked[from])
		ms->acked[from] = generation;
	uint64_t complete = sync_min(ms->acked, rt->io_shards);
	if (complete <= ms->complete)
		return;
	ms->complete = complete;
	sync_free_retired_upto(ms, complete);
	struct metadata_sync_waiter *ready = NULL;
	for (struct metadata_sync_waiter **pp = &ms->waiters; *pp;) {
		struct metadata_sync_waiter *w = *pp;
		if (w->generation <= complete) {
			*pp = w->next;
			w->next = ready;
			ready = w;
		} else {
			pp = &w->next;
		}
	}
	while (ready) {
		struct metadata_sync_waiter *w = ready;
		ready = w->next;
		w->next = NULL;
		w->done(w);
	}
}

static void sync_on_ack(void *arg)
{
	uint64_t generation;
	uint32_t from;
	sync_unpack(arg, &generation, &from);
	sync_ack_apply(shard_current()->rt, from, generation);
}

/* io shard: the marker of `from` arrived behind everything it sent before. */
static void sync_flush_apply(struct shard *s, uint32_t from, uint64_t generation)
{
	struct runtime *rt = s->rt;
	assert(s->io && from < rt->shard_count);
	if (generation > s->sync.flushed_from[from])
		s->sync.flushed_from[from] = generation;
	uint64_t all = sync_min(s->sync.flushed_from, rt->shard_count);
	if (all <= s->sync.acked)
		return;
	s->sync.acked = all;
	if (s->id == SHARD_CONTROL)
		sync_ack_apply(rt, SHARD_CONTROL, all);
	else
		shard_post(s, SHARD_CONTROL, sync_on_ack, sync_pack(all, s->id));
}

static void sync_on_flush(void *arg)
{
	uint64_t generation;
	uint32_t from;
	sync_unpack(arg, &generation, &from);
	sync_flush_apply(shard_current(), from, generation);
}

/* A shard holds no image older than `generation` from here on: it tells every
 * io shard, behind what it already posted to each. */
static void sync_shard(struct shard *s, uint64_t generation)
{
	struct runtime *rt = s->rt;
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		if (k == s->id)
			sync_flush_apply(s, s->id, generation);
		else
			shard_post(s, k, sync_on_flush, sync_pack(generation, s->id));
	}
}

static void sync_on_request(void *arg)
{
	uint64_t generation;
	uint32_t from;
	sync_unpack(arg, &generation, &from);
	sync_shard(shard_current(), generation);
}

static void metadata_sync_turn(struct shard *s)
{
	struct metadata_sync *ms = &s->rt->sync;
	if (s->id != SHARD_CONTROL || !ms->self_pending)
		return;
	ms->self_pending = false;
	sync_shard(s, ms->generation);
}

const struct shard_service metadata_sync_service = {
	.name = "metadata sync",
	.turn = metadata_sync_turn,
};

uint64_t metadata_sync_next(const struct runtime *rt)
{
	return rt->sync.generation + 1;
}

void metadata_sync_publish(struct runtime *rt, struct sync_snapshot *snap)
{
	struct metadata_sync *ms = &rt->sync;
	assert(snap->generation == ms->generation + 1 && snap->release);
	ms->generation++;
	struct sync_snapshot *old = atomic_exchange_explicit(&rt->snapshot, snap, memory_order_acq_rel);
	if (old) {
		old->next_retired = ms->retired;
		ms->retired = old;
	}
	if (!rt->shards_running_loops) {
		/* Before the shards run nobody can hold the old snapshot. */
		sync_free_retired_upto(ms, ms->generation);
		ms->complete = ms->generation;
		return;
	}
	ms->self_pending = true;
	struct shard *control = &rt->shards[SHARD_CONTROL];
	for (uint32_t c = 1; c < rt->shard_count; c++)
		shard_post(control, c, sync_on_request, sync_pack(ms->generation, SHARD_CONTROL));
}

void metadata_sync_wait(struct runtime *rt, struct metadata_sync_waiter *w)
{
	struct metadata_sync *ms = &rt->sync;
	w->generation = ms->generation;
	if (ms->complete >= w->generation) {
		w->done(w);
		return;
	}
	w->next = ms->waiters;
	ms->waiters = w;
}

int metadata_sync_init(struct runtime *rt)
{
	struct metadata_sync *ms = &rt->sync;
	ms->acked = calloc(rt->io_shards, sizeof(*ms->acked));
	if (!ms->acked) {
		slog_error("metadata", "out of memory for sync rounds");
		return -1;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct shard *s = &rt->shards[k];
		s->sync.flushed_from = calloc(rt->shard_count, sizeof(*s->sync.flushed_from));
		if (!s->sync.flushed_from) {
			slog_error("metadata", "out of memory for sync rounds");
			return -1;
		}
	}
	return 0;
}

void metadata_sync_free(struct runtime *rt)
{
	struct metadata_sync *ms = &rt->sync;
	sync_free_retired_upto(ms, UINT64_MAX);
	struct sync_snapshot *current = atomic_exchange(&rt->snapshot, NULL);
	if (current)
		current->release(current);
	if (ms->waiters)
		slog_warn("metadata", "stopping with topic deletions unfinished");
	free(ms->acked);
	ms->acked = NULL;
	for (uint32_t k = 0; rt->shards && k < rt->shard_count; k++) {
		free(rt->shards[k].sync.flushed_from);
		rt->shards[k].sync.flushed_from = NULL;
	}
}
