/* Publishing metadata snapshots and knowing when every shard has moved on.
 *
 * The control shard publishes a new snapshot (the layer above's metadata
 * image embeds one) after each change to the registry and starts a sync round for its generation: it asks
 * every shard to sync; a shard that syncs holds no older image any more, and
 * posts a flush marker to every io shard, behind whatever it posted before;
 * an io shard that has the markers of every shard acknowledges the round to
 * the control shard. When every io shard has acknowledged generation G:
 *   - no shard can look up anything in an image older than G, so those
 *     images are freed;
 *   - every message a shard sent to an io shard while it still used an older
 *     image has been delivered, so work on a topic that G removed can only be
 *     what its owners already hold (topic deletion relies on this).
 * All of it rides on the shards' FIFO mailboxes; nothing here takes a lock. */
#ifndef SLUICE_CORE_SHARD_METADATA_SYNC_H
#define SLUICE_CORE_SHARD_METADATA_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/shard/runtime.h"

struct shard;

/* Allocates the rounds' state, before the shards run. Returns 0 or -1 after
 * logging why. */
int metadata_sync_init(struct runtime *rt);
/* At stop, after every shard finished: releases every snapshot. */
void metadata_sync_free(struct runtime *rt);

/* The snapshot to read now, from any shard. */
struct sync_snapshot *metadata_sync_current(struct runtime *rt);

/* Control shard: publishes `snap` as generation metadata_sync_next(rt) and
 * starts its round. */
uint64_t metadata_sync_next(const struct runtime *rt);
void metadata_sync_publish(struct runtime *rt, struct sync_snapshot *snap);
/* Control shard: w->done runs once the round of the current generation has
 * completed (possibly at once). */
void metadata_sync_wait(struct runtime *rt, struct metadata_sync_waiter *w);
/* The rounds' shard hook: every shard, at the start of each loop turn (no
 * image is held then), answers what its round asks. */
extern const struct shard_service metadata_sync_service;

#endif
