/* A bump allocator with a hard bound, owned by one request.
 *
 * Decoders allocate arrays from it; everything is released at once when the
 * request finishes. The bound keeps a hostile request from making the broker
 * allocate without limit: a failed allocation latches RC_ALLOC in the decoder. */
#ifndef SLUICE_PROTO_ARENA_H
#define SLUICE_PROTO_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
	size_t used_bytes;  /* bytes handed out, including alignment */
	size_t limit_bytes; /* hard bound on used_bytes */
};

void arena_init(struct arena *a, size_t limit_bytes);
/* Returns zeroed memory aligned to 16 bytes, or NULL past the bound. */
void *arena_alloc(struct arena *a, size_t n);
/* Like arena_alloc for an array; NULL on overflow of count * size too. */
void *arena_calloc(struct arena *a, size_t count, size_t size);
void arena_release(struct arena *a);

#endif
