/* Image publication and sync rounds (see metadata_sync.h). */
#include "core/shard/metadata_sync.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/broker.h"
#include "core/slog.h"
#include "core/meta/metadata_image.h"
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

struct metadata_image *metadata_current(struct broker *b)
{
	return atomic_load_explicit(&b->image, memory_order_acquire);
}

static void sync_free_retired_upto(struct metadata_sync *ms, uint64_t generation)
{
	/* An image retired by publishing generation G is unreachable once
	 * round G completed. */
	struct metadata_image **pp = &ms->retired;
	while (*pp) {
		struct metadata_image *im = *pp;
		if (im->generation < generation) {
			*pp = im->next_retired;
			metadata_image_free(im);
		} else {
			pp = &im->next_retired;
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
static void sync_ack_apply(struct broker *b, uint32_t from, uint64_t generation)
{
	struct metadata_sync *ms = &b->sync;
	if (generation > ms->acked[from])
		ms->acked[from] = generation;
	uint64_t complete = sync_min(ms->acked, b->io_shards);
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
	sync_ack_apply(shard_current()->broker, from, generation);
}

/* io shard: the marker of `from` arrived behind everything it sent before. */
static void sync_flush_apply(struct shard *s, uint32_t from, uint64_t generation)
{
	struct broker *b = s->broker;
	assert(s->io && from < b->shard_count);
	if (generation > s->sync.flushed_from[from])
		s->sync.flushed_from[from] = generation;
	uint64_t all = sync_min(s->sync.flushed_from, b->shard_count);
	if (all <= s->sync.acked)
		return;
	s->sync.acked = all;
	if (s->id == SHARD_CONTROL)
		sync_ack_apply(b, SHARD_CONTROL, all);
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
	struct broker *b = s->broker;
	for (uint32_t k = 0; k < b->io_shards; k++) {
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

void metadata_sync_turn(struct shard *s)
{
	struct metadata_sync *ms = &s->broker->sync;
	if (s->id != SHARD_CONTROL || !ms->self_pending)
		return;
	ms->self_pending = false;
	sync_shard(s, ms->generation);
}

int metadata_publish(struct broker *b)
{
	struct metadata_sync *ms = &b->sync;
	struct metadata_image *im = metadata_image_build(&b->topics, ms->generation + 1);
	if (!im) {
		slog_error("metadata", "out of memory publishing the metadata image; "
			   "%zu topic(s) not yet visible to every shard", b->topics.count);
		return -1;
	}
	ms->generation++;
	struct metadata_image *old = atomic_exchange_explicit(&b->image, im, memory_order_acq_rel);
	if (old) {
		old->next_retired = ms->retired;
		ms->retired = old;
	}
	if (!b->shards_running_loops) {
		/* Before the shards run nobody can hold the old image. */
		sync_free_retired_upto(ms, ms->generation);
		ms->complete = ms->generation;
		return 0;
	}
	ms->self_pending = true;
	struct shard *control = &b->shards[SHARD_CONTROL];
	for (uint32_t c = 1; c < b->shard_count; c++)
		shard_post(control, c, sync_on_request, sync_pack(ms->generation, SHARD_CONTROL));
	return 0;
}

void metadata_sync_wait(struct broker *b, struct metadata_sync_waiter *w)
{
	struct metadata_sync *ms = &b->sync;
	w->generation = ms->generation;
	if (ms->complete >= w->generation) {
		w->done(w);
		return;
	}
	w->next = ms->waiters;
	ms->waiters = w;
}

int metadata_sync_init(struct broker *b)
{
	struct metadata_sync *ms = &b->sync;
	ms->acked = calloc(b->io_shards, sizeof(*ms->acked));
	if (!ms->acked) {
		slog_error("metadata", "out of memory for sync rounds");
		return -1;
	}
	for (uint32_t k = 0; k < b->io_shards; k++) {
		struct shard *s = &b->shards[k];
		s->sync.flushed_from = calloc(b->shard_count, sizeof(*s->sync.flushed_from));
		if (!s->sync.flushed_from) {
			slog_error("metadata", "out of memory for sync rounds");
			return -1;
		}
	}
	return metadata_publish(b);
}

void metadata_sync_free(struct broker *b)
{
	struct metadata_sync *ms = &b->sync;
	sync_free_retired_upto(ms, UINT64_MAX);
	metadata_image_free(atomic_exchange(&b->image, NULL));
	if (ms->waiters)
		slog_warn("metadata", "stopping with topic deletions unfinished");
	free(ms->acked);
	ms->acked = NULL;
	for (uint32_t k = 0; b->shards && k < b->shard_count; k++) {
		free(b->shards[k].sync.flushed_from);
		b->shards[k].sync.flushed_from = NULL;
	}
}
