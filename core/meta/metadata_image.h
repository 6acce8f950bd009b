/* The metadata image: an immutable snapshot of the topic registry that every
 * shard reads without locks.
 *
 * The control shard (shard 0) owns the registry. After each change it builds
 * a new image and publishes it with one release store; a reader loads the
 * pointer (acquire) when it starts handling something and uses it only until
 * it returns to its loop, never across a turn. Topics in an image are
 * immutable apart from what their partitions' owning shards keep in them (the
 * log and its waiters). Old images are freed once every shard has shown, by
 * answering a sync round (metadata_sync.h), that it no longer holds them. */
#ifndef SLUICE_CORE_META_METADATA_IMAGE_H
#define SLUICE_CORE_META_METADATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/shard/metadata_sync.h"
#include "proto/cursor.h"

struct runtime;
struct topic;
struct topic_registry;

struct metadata_image {
	struct sync_snapshot snap; /* how the runtime publishes and retires it */
	uint64_t generation;
	size_t topic_count;
	struct topic **topics;   /* in no particular order */
	uint32_t slots_mask;     /* open addressing: slot count - 1 */
	struct topic **by_name;
	struct topic **by_id;
};

/* Builds the image of the registry; NULL when out of memory. */
struct metadata_image *metadata_image_build(const struct topic_registry *r, uint64_t generation);
void metadata_image_free(struct metadata_image *im);

/* The image to read now, from any shard. */
struct metadata_image *metadata_current(struct runtime *rt);
/* Control shard: publishes the registry as a new image and starts its sync
 * round. Returns 0, or -1 when out of memory (the registry is ahead of the
 * image until the next publish; logged). */
int metadata_publish(struct runtime *rt);

struct topic *metadata_image_find(const struct metadata_image *im, struct kstr name);
struct topic *metadata_image_find_id(const struct metadata_image *im, struct kuuid id);

#endif
