/* Building and reading metadata images (see metadata_image.h). */
#include "core/meta/metadata_image.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta/topic_registry.h"
#include "core/shard/runtime.h"
#include "core/slog.h"
#include "io/reactor.h"

static uint32_t image_hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* Slots for n topics at most half full, so probes stay short. */
static uint32_t image_slot_count(size_t n)
{
	uint32_t slots = 16;
	while (slots < 2 * n)
		slots *= 2;
	return slots;
}

static void image_place(struct topic **table, uint32_t mask, uint32_t hash, struct topic *t)
{
	uint32_t i = hash & mask;
	while (table[i])
		i = (i + 1) & mask;
	table[i] = t;
}

struct image_fill {
	struct metadata_image *im;
	size_t n;
};

static void image_add(struct topic *t, void *ctx)
{
	struct image_fill *f = ctx;
	struct metadata_image *im = f->im;
	im->topics[f->n++] = t;
	image_place(im->by_name, im->slots_mask, image_hash_bytes(t->name, t->name_len), t);
	image_place(im->by_id, im->slots_mask, image_hash_bytes(t->id.b, sizeof(t->id.b)), t);
}

static void metadata_image_release(struct sync_snapshot *snap)
{
	metadata_image_free(container_of(snap, struct metadata_image, snap));
}

struct metadata_image *metadata_image_build(const struct topic_registry *r, uint64_t generation)
{
	struct metadata_image *im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	uint32_t slots = image_slot_count(r->count);
	im->generation = generation;
	im->snap.generation = generation;
	im->snap.release = metadata_image_release;
	im->slots_mask = slots - 1;
	im->topics = calloc(r->count + 1, sizeof(*im->topics));
	im->by_name = calloc(slots, sizeof(*im->by_name));
	im->by_id = calloc(slots, sizeof(*im->by_id));
	if (!im->topics || !im->by_name || !im->by_id) {
		metadata_image_free(im);
		return NULL;
	}
	struct image_fill f = { .im = im };
	topics_for_each((struct topic_registry *)r, image_add, &f);
	im->topic_count = f.n;
	return im;
}

void metadata_image_free(struct metadata_image *im)
{
	if (!im)
		return;
	free(im->topics);
	free(im->by_name);
	free(im->by_id);
	free(im);
}

struct topic *metadata_image_find(const struct metadata_image *im, struct kstr name)
{
	if (name.len <= 0 || name.len > TOPIC_NAME_MAX)
		return NULL;
	for (uint32_t i = image_hash_bytes(name.ptr, (size_t)name.len) & im->slots_mask;
	     im->by_name[i]; i = (i + 1) & im->slots_mask) {
		struct topic *t = im->by_name[i];
		if (t->name_len == (size_t)name.len && memcmp(t->name, name.ptr, t->name_len) == 0)
			return t;
	}
	return NULL;
}

struct topic *metadata_image_find_id(const struct metadata_image *im, struct kuuid id)
{
	if (kuuid_is_zero(id))
		return NULL;
	for (uint32_t i = image_hash_bytes(id.b, sizeof(id.b)) & im->slots_mask; im->by_id[i];
	     i = (i + 1) & im->slots_mask) {
		struct topic *t = im->by_id[i];
		if (memcmp(t->id.b, id.b, sizeof(id.b)) == 0)
			return t;
	}
	return NULL;
}

struct metadata_image *metadata_current(struct runtime *rt)
{
	struct sync_snapshot *snap = metadata_sync_current(rt);
	return snap ? container_of(snap, struct metadata_image, snap) : NULL;
}

int metadata_publish(struct runtime *rt)
{
	struct topic_registry *r = topics_registry(rt);
	struct metadata_image *im = metadata_image_build(r, metadata_sync_next(rt));
	if (!im) {
		slog_error("metadata", "out of memory publishing the metadata image; "
			   "%zu topic(s) not yet visible to every shard", r->count);
		return -1;
	}
	metadata_sync_publish(rt, &im->snap);
	return 0;
}
