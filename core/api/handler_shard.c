/* Each io shard's handler queues (see handler_shard.h). */
#include "core/api/handler_shard.h"

#include <stdlib.h>

#include "core/slog.h"

int handler_shards_create(struct runtime *rt)
{
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct handler_shard *hs = calloc(1, sizeof(*hs));
		if (!hs) {
			slog_error("api", "out of memory for shard %u's handler queues", k);
			return -1;
		}
		rt->shards[k].slots[SHARD_SLOT_HANDLERS] = hs;
	}
	return 0;
}

void handler_shards_free(struct runtime *rt)
{
	for (uint32_t k = 0; rt->shards && k < rt->shard_count; k++) {
		free(rt->shards[k].slots[SHARD_SLOT_HANDLERS]);
		rt->shards[k].slots[SHARD_SLOT_HANDLERS] = NULL;
	}
}
