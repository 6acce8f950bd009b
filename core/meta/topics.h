/* Topics and partitions: the registry every handler looks names up in.
 *
 * The registry belongs to the control shard (shard 0): CreateTopics,
 * DeleteTopics and auto-creation change it there, and every change is
 * published as an immutable image (metadata_image.h) that the other shards
 * read through topics_lookup. A topic's fields are fixed once published;
 * each partition's log and waiters belong to the io shard it is placed on. */
#ifndef SLUICE_CORE_META_TOPICS_H
#define SLUICE_CORE_META_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/shard/metadata_sync.h"
#include "core/shard/shard_call.h"
#include "core/meta/topic_config.h"
#include "io/reactor.h"
#include "proto/cursor.h"

struct partition_log;
struct broker;
struct fetch_waiter;

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
	struct topic_config cfg;
	size_t override_count;
	struct topic_override *overrides;
	bool internal;
};

struct topic_registry {
	struct topic *buckets[TOPIC_REGISTRY_BUCKETS];
	size_t count;
};

/* Control shard: the registry itself. */
struct topic *topics_find(struct topic_registry *r, struct kstr name);
struct topic *topics_find_id(struct topic_registry *r, struct kuuid id);
/* Any shard: the current image. The topic may be used until the caller
 * returns to its loop (metadata_image.h). */
struct topic *topics_lookup(struct broker *b, struct kstr name);
struct topic *topics_lookup_id(struct broker *b, struct kuuid id);
/* Calls fn for every topic (order unspecified). */
void topics_for_each(struct topic_registry *r, void (*fn)(struct topic *t, void *ctx), void *ctx);

/* Kafka's topic name rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..".
 * Returns NULL if valid, else the reason. */
const char *topic_name_invalid(struct kstr name);

/* Kafka's internal topics (__consumer_offsets, __transaction_state): clients
 * may read them but not produce to them. */
bool topic_name_is_internal(const char *name, size_t len);

struct topic_create_args {
	struct kstr name;
	int32_t partitions;           /* -1: num.partitions */
	int16_t replication_factor;   /* -1: default.replication.factor */
	size_t config_count;
	const struct kstr *config_keys;
	const struct kstr *config_values;
	bool validate_only;
};

/* Creates a topic (or only validates). Returns a Kafka error code, with a
 * message for the response's error_message in `msg`. On success and not
 * validate_only, *out (when given) is the new topic, its logs open, then
 * persisted in the metadata store; a creation that fails on the way
 * (KAFKA_STORAGE_ERROR) leaves neither a record nor files. *effective (when
 * given) receives the topic's resulting configuration, also for
 * validate_only. */
int16_t topics_create(struct broker *b, const struct topic_create_args *a, struct topic **out,
		      struct topic_config *effective, char *msg, size_t msglen);
/* One owning shard's part of a deletion. */
struct topic_owner_call {
	struct shard_call call;
	struct topic *topic;
	struct topic_deletion *deletion;
};

/* A deletion in progress, owned by the caller until done runs. */
struct topic_deletion {
	struct metadata_sync_waiter sync;
	struct broker *broker;
	struct topic *topic;
	struct topic_owner_call *owners; /* per io shard */
	uint32_t owners_pending;
	void (*done)(struct topic_deletion *d);
};

/* Control shard: deletes a topic. The deletion is recorded and the topic
 * leaves the registry at once; once every shard has moved past the image
 * that had it, its owners answer its waiting fetches and remove its logs
 * and files, and then d->done runs (never before this returns). Returns
 * NONE, or an error code without calling done. */
int16_t topics_delete(struct broker *b, struct topic *t, struct topic_deletion *d);

/* Whether topics_get_or_create would create `name` when it is missing. */
bool topics_auto_creatable(const struct broker *b, struct kstr name, bool allow_create);
/* For produce/metadata: the topic, auto-created when allowed. Returns NULL
 * with *err set (UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, ...).
 * Only the control shard creates: elsewhere this looks the name up in the
 * image, so a handler that may need a topic created sends its request to the
 * control shard first (topics_auto_creatable). */
struct topic *topics_get_or_create(struct broker *b, struct kstr name, bool allow_create,
				   int16_t *err);

struct partition *topic_partition(struct topic *t, int32_t index);

/* Opens logs of every topic in the metadata store (startup). A partition
 * whose log cannot be opened is logged and left offline; it does not stop
 * the start. */
int topics_load(struct broker *b, bool clean_shutdown);
void topics_close_all(struct broker *b);

#endif
