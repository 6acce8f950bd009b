/* The topic registry's table: its topics and partitions, looked up by name
 * and id, and Kafka's rules for names.
 *
 * The registry belongs to the control shard (shard 0); the other shards read
 * the image published from it (metadata_image.h). A topic's fields are fixed
 * once published; each partition's log and waiters belong to the io shard it
 * is placed on. */
#ifndef SLUICE_CORE_META_TOPIC_REGISTRY_H
#define SLUICE_CORE_META_TOPIC_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log/log_space.h"
#include "core/meta/topic_config.h"
#include "core/shard/runtime.h"
#include "proto/cursor.h"

struct partition_log;
struct fetch_waiter;
struct metadata_store;
struct topic_growth;

enum {
	TOPIC_NAME_MAX = 249,
	TOPIC_PARTITIONS_MAX = 10000,
	TOPIC_REGISTRY_BUCKETS = 1024,
	TOPIC_CONFIGS_MAX = 64,
};

struct partition {
	struct topic *topic;
	int32_t index;
	uint32_t shard;
	struct partition_log *log;    /* NULL: offline, its log could not be opened at start */
	struct fetch_waiter *waiters; /* fetches long-polling on this partition */
};

struct topic_override {
	char *key;
	char *value;
};

struct topic {
	struct topic *next_by_name;
	char name[TOPIC_NAME_MAX + 1];
	size_t name_len;
	struct kuuid id;
	int32_t partition_count;
	struct partition *partitions;
	struct topic_config cfg;      /* as created or loaded */
	/* The config in force since an alteration (topic_alter.h), read by any
	 * shard through topic_config_current; NULL: cfg. */
	_Atomic(const struct topic_config *) altered_cfg;
	size_t override_count;
	struct topic_override *overrides;
	bool internal;
};

/* Any shard: the topic's config in force, valid until the caller returns to
 * its loop (as the image it found the topic in). */
static inline const struct topic_config *topic_config_current(const struct topic *t)
{
	const struct topic_config *c = atomic_load_explicit(&t->altered_cfg, memory_order_acquire);
	return c ? c : &t->cfg;
}

struct topic_registry {
	struct topic *buckets[TOPIC_REGISTRY_BUCKETS];
	size_t count;
	struct metadata_store *store; /* where the registry is persisted */
	struct log_space space;       /* log.dirs' free-space floor, read by every shard */
	/* The broker's settings with its dynamic configs applied, what topics
	 * default to (broker_dynamic.h); built at first use. */
	struct broker_config dynamic_cfg;
	bool dynamic_cfg_built;
	struct topic_growth *growths; /* partition count raises in flight (topic_partitions.h) */
};

/* The registry, from any layer that has the runtime (RUNTIME_SLOT_TOPICS). */
static inline struct topic_registry *topics_registry(struct runtime *rt)
{
	return rt->slots[RUNTIME_SLOT_TOPICS];
}

/* Control shard: the registry itself. */
struct topic *topics_find(struct topic_registry *r, struct kstr name);
struct topic *topics_find_id(struct topic_registry *r, struct kuuid id);
/* Calls fn for every topic (order unspecified). */
void topics_for_each(struct topic_registry *r, void (*fn)(struct topic *t, void *ctx), void *ctx);

/* Kafka's topic name rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..".
 * Returns NULL if valid, else the reason. */
const char *topic_name_invalid(struct kstr name);

/* Kafka's internal topics (__consumer_offsets, __transaction_state): clients
 * may read them but not produce to them. */
bool topic_name_is_internal(const char *name, size_t len);

/* Kafka refuses names that differ only in '.' versus '_' (metric names
 * would collide): the registry's topic that `name` collides with, or NULL. */
struct topic *topics_find_colliding(struct topic_registry *r, struct kstr name);
void topics_insert(struct topic_registry *r, struct topic *t);
void topics_unlink(struct topic_registry *r, struct topic *t);

struct partition *topic_partition(struct topic *t, int32_t index);

#endif
