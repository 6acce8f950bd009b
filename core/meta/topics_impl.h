/* topics.c's helpers that other parts of the topics service share (topic
 * growth, topic_partitions.c): allocating and freeing a topic, placing its
 * partitions over the io shards, opening a partition's log and recording a
 * topic in the metadata store. Control shard only, except
 * topics_open_partition and topics_on_advance, which the owning shard of the
 * partition may call. */
#ifndef SLUICE_CORE_META_TOPICS_IMPL_H
#define SLUICE_CORE_META_TOPICS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta/topic_registry.h"

struct runtime;
struct topics_checkpoints;

/* A partition whose recorded shard is not an io shard of this layout. */
static const uint32_t TOPICS_UNPLACED = UINT32_MAX;

/* A topic of `partitions` partitions, each knowing its topic and index;
 * nothing else is set. NULL when out of memory. */
struct topic *topic_alloc(const char *name, size_t name_len, int32_t partitions);
/* Frees the topic, its partition array and its overrides (not the logs). */
void topic_free(struct topic *t);

/* Placed partitions per io shard (rt->shard_count entries, caller frees), of
 * every topic in the registry but `skip`; and the io shard with the fewest. */
uint32_t *topics_shard_load(struct runtime *rt, const struct topic *skip);
uint32_t topics_least_loaded(const struct runtime *rt, const uint32_t *load);

/* Opens (creating when new) the log of t's partition i and hooks its appends
 * to the partition's waiters. Returns 0, or -errno with the reason in err. */
int topics_open_partition(struct runtime *rt, struct topic *t, int32_t i, bool clean_shutdown,
			  const struct topics_checkpoints *cp, char *err, size_t errlen);
/* The advance hook of a partition's log: ctx is the partition. */
void topics_on_advance(void *ctx);
/* Removes the directory of t's partition i, for a partition without a log. */
int topics_remove_partition_dir(struct runtime *rt, const struct topic *t, int32_t i);

/* Records t (again: it replaces the earlier record) in the metadata store.
 * Returns 0 or -errno. */
int topics_persist(struct runtime *rt, const struct topic *t);

#endif
