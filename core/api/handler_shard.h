/* What the API handlers keep on each io shard (SHARD_SLOT_HANDLERS): the
 * work they queue there for the shard's helper thread, in order. */
#ifndef SLUICE_CORE_API_HANDLER_SHARD_H
#define SLUICE_CORE_API_HANDLER_SHARD_H

#include <stdint.h>

#include "core/shard/shard.h"

struct produce_shard;
struct list_offsets_shard;

struct handler_shard {
	/* Produce parts (handle_produce.c) waiting, in arrival order, behind
	 * the first one, whose batches are being validated on the helper. */
	struct produce_shard *produce_waiting, *produce_waiting_tail;
	/* ListOffsets by time (handle_list_offsets.c): searches on the helper
	 * (bounded: each holds a descriptor) and the calls waiting for room. */
	uint32_t time_searches;
	struct list_offsets_shard *time_search_waiting, *time_search_waiting_tail;
};

static inline struct handler_shard *handler_shard_of(const struct shard *s)
{
	return s->slots[SHARD_SLOT_HANDLERS];
}

/* Every io shard's, before the loops run. Returns 0 or -1 after logging why. */
int handler_shards_create(struct runtime *rt);
/* After the loops ended. */
void handler_shards_free(struct runtime *rt);

#endif
