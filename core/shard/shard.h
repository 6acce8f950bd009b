/* A shard's thread: its start, its loop, and which shard a thread runs
 * (struct shard itself is in runtime.h). */
#ifndef SLUICE_CORE_SHARD_SHARD_H
#define SLUICE_CORE_SHARD_SHARD_H

#include <pthread.h>

#include "core/shard/runtime.h"

/* The shard whose thread calls (NULL outside the shards' loops). */
struct shard *shard_current(void);

/* The shard's loop, on its own thread (shard 0: the main thread), once every
 * shard has enabled its ring; returns at once when the start was abandoned. */
void shard_run(struct shard *s);
/* Starts a shard (other than the first) on a new thread pinned to its CPU.
 * Returns 0 or -errno. */
int shard_spawn(struct shard *s);
/* Pins `thread` to the shard's CPU; returns 0 or an errno. */
int shard_pin(struct shard *s, pthread_t thread);

#endif
