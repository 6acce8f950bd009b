/* The fan-out of a transaction's markers to the io shards that own its
 * partitions (see txn_markers.h). The fan-out state is allocated and freed
 * on the calling shard; the owners touch only their own part and slots
 * between a shard call's start and its return. */
#include "core/txn/txn_markers.h"

#include <stdlib.h>

#include "core/group/group_store.h"
#include "core/group/group_txn.h"
#include "core/log/partition_log.h"
#include "core/meta/topics.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

/* One target's marker, queued for its owner. */
struct txn_marker_slot {
	struct log_marker_append append; /* the owner's, while written */
	struct txn_markers_write *w;
	struct txn_marker_target *target;
	struct txn_markers_shard *owner;
	struct txn_marker_slot *next;
};

/* The targets one io shard owns. */
struct txn_markers_shard {
	struct shard_call call;
	struct txn_markers_write *w;
	struct txn_marker_slot *slots;
	uint32_t appends;  /* on the owner: markers in flight, + 1 while starting */
};

/* On the owner, after a marker landed on a __consumer_offsets partition:
 * the group coordinator of this shard commits or drops the producer's
 * pending transactional offsets there (core/group/group_txn.h). */
static void txn_markers_offsets_partition_written(struct shard *s, int32_t partition,
						  int64_t producer_id, bool commit)
{
	slog_debug("txn", "shard %u: %s marker of producer %lld on %s-%d", s->id,
		   commit ? "COMMIT" : "ABORT", (long long)producer_id, GROUP_STORE_TOPIC, partition);
	struct group_coordinator *gc = group_coordinator_of(s);
	if (gc)
		group_txn_complete(gc, partition, producer_id, commit);
}

static void txn_markers_shard_release(struct txn_markers_shard *ms)
{
	if (--ms->appends == 0)
		shard_call_return(&ms->call);
}

/* On the owner. */
static void txn_markers_on_append(struct log_append *a, int16_t error_code)
{
	struct txn_marker_slot *slot = container_of(a, struct txn_marker_slot, append.append);
	struct txn_marker_target *t = slot->target;
	struct txn_markers_write *w = slot->w;
	t->error = error_code;
	if (error_code == KERR_NONE && kstr_eq_cstr(t->topic, GROUP_STORE_TOPIC))
		txn_markers_offsets_partition_written(slot->owner->call.target, t->partition,
						      w->producer_id, w->commit);
	txn_markers_shard_release(slot->owner);
}

/* On the owner: looks the partition up again in its own image (the topic
 * may have been deleted since) and appends the marker. */
static void txn_markers_write_one(struct shard *s, struct txn_marker_slot *slot)
{
	struct txn_markers_write *w = slot->w;
	struct txn_marker_target *t = slot->target;
	struct topic *topic = topics_lookup(s->rt, t->topic);
	struct partition *p = topic ? topic_partition(topic, t->partition) : NULL;
	if (!p || p->shard != s->id) {
		t->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (!p->log) {
		t->error = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	struct control_marker m = { .producer_id = w->producer_id,
				    .producer_epoch = w->producer_epoch,
				    .coordinator_epoch = w->coordinator_epoch,
				    .commit = w->commit };
	slot->append.append.done = txn_markers_on_append;
	slot->owner->appends++;
	t->error = partition_log_append_marker(p->log, &m, &slot->append);
	if (t->error != KERR_NONE)
		slot->owner->appends--;
}

static void txn_markers_shard_run(struct shard_call *call)
{
	struct txn_markers_shard *ms = container_of(call, struct txn_markers_shard, call);
	ms->appends = 1;
	for (struct txn_marker_slot *slot = ms->slots; slot; slot = slot->next)
		txn_markers_write_one(call->target, slot);
	txn_markers_shard_release(ms);
}

static void txn_markers_finish(struct txn_markers_write *w)
{
	free(w->shards);
	free(w->slots);
	w->shards = NULL;
	w->slots = NULL;
	w->done(w);
}

static void txn_markers_shard_done(struct shard_call *call)
{
	struct txn_markers_shard *ms = container_of(call, struct txn_markers_shard, call);
	if (--ms->w->pending == 0)
		txn_markers_finish(ms->w);
}

void txn_markers_write_start(struct runtime *rt, struct shard *from, struct txn_markers_write *w)
{
	w->rt = rt;
	w->shards = calloc(rt->io_shards, sizeof(*w->shards));
	w->slots = calloc((size_t)w->count + 1, sizeof(*w->slots));
	if (!w->shards || !w->slots) {
		slog_error("txn", "out of memory writing %u transaction marker(s) of producer %lld",
			   w->count, (long long)w->producer_id);
		for (uint32_t i = 0; i < w->count; i++)
			w->targets[i].error = KERR_UNKNOWN_SERVER_ERROR;
		txn_markers_finish(w);
		return;
	}
	for (uint32_t i = 0; i < w->count; i++) {
		struct txn_marker_target *t = &w->targets[i];
		struct topic *topic = topics_lookup(rt, t->topic);
		struct partition *p = topic ? topic_partition(topic, t->partition) : NULL;
		t->error = KERR_NONE;
		if (!p) {
			t->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		struct txn_marker_slot *slot = &w->slots[i];
		struct txn_markers_shard *ms = &w->shards[p->shard];
		slot->w = w;
		slot->target = t;
		slot->owner = ms;
		slot->next = ms->slots;
		ms->slots = slot;
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct txn_markers_shard *ms = &w->shards[k];
		ms->w = w;
		ms->call = (struct shard_call){ .origin = from, .target = &rt->shards[k],
						.run = ms->slots ? txn_markers_shard_run : NULL,
						.done = txn_markers_shard_done };
	}
	if (shard_calls_start_each(&w->shards[0].call, sizeof(w->shards[0]), rt->io_shards,
				   &w->pending))
		txn_markers_finish(w);
}
