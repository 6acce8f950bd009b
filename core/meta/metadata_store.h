/* The embedded single-node metadata store: `meta.properties` (Kafka's cluster
 * and node identity) and `__sluice_metadata.log`, an append-only log of
 * CRC-checked records (topic created, topic deleted, core layout, producer
 * id blocks, dynamic broker configs) replayed at
 * start. A topic recorded again (its partitions placed anew) replaces the
 * earlier record. This is
 * the control path: appends are synchronous and fdatasync'd before returning. */
#ifndef SLUICE_CORE_META_METADATA_STORE_H
#define SLUICE_CORE_META_METADATA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

struct metadata_store;

struct meta_kv {
	char *key;
	char *value;
};

struct meta_topic {
	char name[250];
	struct kuuid id;
	int32_t partition_count;
	int32_t *partition_shard; /* partition -> io shard */
	size_t config_count;
	struct meta_kv *configs;  /* topic config overrides */
};

/* Opens or creates the store in log_dir; replays it. A torn last record is
 * truncated (logged); corruption before the end, or a meta.properties of
 * another node, fails with a message naming the file. */
int metadata_store_open(const char *log_dir, int32_t node_id, struct metadata_store **out,
			char *err, size_t errlen);
void metadata_store_close(struct metadata_store *ms);

int metadata_store_topic_create(struct metadata_store *ms, const struct meta_topic *t);
int metadata_store_topic_delete(struct metadata_store *ms, const char *name);
/* Whether a topic with this id was deleted (of the last few thousand
 * deletions): its directories, if any are left, are a deletion that a crash
 * interrupted. */
bool metadata_store_was_deleted(const struct metadata_store *ms, struct kuuid id);

/* The number of io shards the recorded placement was made for (0: never
 * recorded), and recording it. */
uint32_t metadata_store_layout(const struct metadata_store *ms);
int metadata_store_set_layout(struct metadata_store *ms, uint32_t io_shards);

/* A producer id never handed out before in this cluster's life: taken from
 * the current block, or from a new block whose record is made durable
 * first, so that a restart (even a crash right after the id is handed
 * out) never hands it out again; the rest of a block is skipped after a
 * restart. Returns 0 or -errno (the record could not be written). */
int metadata_store_producer_id_take(struct metadata_store *ms, int64_t *id);

/* Dynamic broker configs (AlterConfigs on a broker resource) of one level:
 * this node's own, or the cluster's defaults. Each change records the
 * level's whole set again; the last record of a level wins. */
enum meta_broker_level { META_BROKER_NODE = 0, META_BROKER_CLUSTER = 1, META_BROKER_LEVELS = 2 };
int metadata_store_set_broker_configs(struct metadata_store *ms, enum meta_broker_level level,
				      const struct meta_kv *kv, size_t count);
/* The level's set, valid until the next change. */
const struct meta_kv *metadata_store_broker_configs(const struct metadata_store *ms,
						    enum meta_broker_level level, size_t *count);

/* Current topics, in creation order. Valid until the next change. */
const struct meta_topic *metadata_store_topics(struct metadata_store *ms, size_t *count);
const char *metadata_store_cluster_id(const struct metadata_store *ms);

#endif
