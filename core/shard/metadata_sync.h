/* Publishing metadata images and knowing when every shard has moved on.
 *
 * The control shard publishes a new image (metadata_image.h) after each
 * change to the registry and starts a sync round for its generation: it asks
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

struct broker;
struct shard;
struct metadata_image;

/* Something on the control shard waiting for a round to complete. */
struct metadata_sync_waiter {
	struct metadata_sync_waiter *next;
	uint64_t generation;
	void (*done)(struct metadata_sync_waiter *w);
};

/* The control shard's side. */
struct metadata_sync {
	uint64_t generation;            /* of the published image */
	uint64_t *acked;                /* per io shard: highest round acknowledged */
	uint64_t complete;              /* every io shard acknowledged up to here */
	struct metadata_image *retired; /* older images, newest first */
	struct metadata_sync_waiter *waiters;
	bool self_pending;              /* the control shard's own sync is due */
};

/* One shard's side. */
struct metadata_sync_shard {
	uint64_t *flushed_from; /* io shards: per shard, the highest marker received */
	uint64_t acked;         /* io shards: the highest round acknowledged */
};

/* Allocates the rounds' state and publishes the registry's first image, before
 * the shards run. Returns 0 or -1 after logging why. */
int metadata_sync_init(struct broker *b);
/* At stop, after every shard finished: frees every image. */
void metadata_sync_free(struct broker *b);

/* The image to read now, from any shard. */
struct metadata_image *metadata_current(struct broker *b);

/* Control shard: publishes the registry as a new image and starts its round.
 * Returns 0, or -1 when out of memory (the registry is ahead of the image
 * until the next publish; logged). */
int metadata_publish(struct broker *b);
/* Control shard: w->done runs once the round of the current generation has
 * completed (possibly at once). */
void metadata_sync_wait(struct broker *b, struct metadata_sync_waiter *w);
/* Every shard, at the start of each loop turn (no image is held then). */
void metadata_sync_turn(struct shard *s);

#endif
