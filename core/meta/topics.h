/* Topics' lives: lookups from any shard, creation with Kafka's rules,
 * deletion, and loading every topic's logs at start.
 *
 * The registry (topic_registry.h) belongs to the control shard (shard 0):
 * CreateTopics, DeleteTopics and auto-creation change it there, and every
 * change is published as an immutable image (metadata_image.h) that the
 * other shards read through topics_lookup. */
#ifndef SLUICE_CORE_META_TOPICS_H
#define SLUICE_CORE_META_TOPICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta/topic_config.h"
#include "core/meta/topic_registry.h"
#include "core/shard/metadata_sync.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"

struct runtime;


/* Any shard: the current image. The topic may be used until the caller
 * returns to its loop (metadata_image.h). */
struct topic *topics_lookup(struct runtime *rt, struct kstr name);
struct topic *topics_lookup_id(struct runtime *rt, struct kuuid id);

struct topic_create_args {
	struct kstr name;
	int32_t partitions;           /* -1: num.partitions */
	int16_t replication_factor;   /* -1: default.replication.factor */
	size_t config_count;
	const struct kstr *config_keys;
	const struct kstr *config_values;
	bool validate_only;
};

/* A fresh random topic id (Kafka's Uuid.randomUuid: never the zero id). */
void topics_random_id(struct kuuid *id);

/* Creates a topic (or only validates). Returns a Kafka error code, with a
 * message for the response's error_message in `msg`. On success and not
 * validate_only, *out (when given) is the new topic, its logs open, then
 * persisted in the metadata store; a creation that fails on the way
 * (KAFKA_STORAGE_ERROR) leaves neither a record nor files. *effective (when
 * given) receives the topic's resulting configuration, also for
 * validate_only. */
int16_t topics_create(struct runtime *rt, const struct topic_create_args *a, struct topic **out,
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
	struct runtime *rt;
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
int16_t topics_delete(struct runtime *rt, struct topic *t, struct topic_deletion *d);

/* Whether topics_get_or_create would create `name` when it is missing. */
bool topics_auto_creatable(const struct runtime *rt, struct kstr name, bool allow_create);
/* For produce/metadata: the topic, auto-created when allowed. Returns NULL
 * with *err set (UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, ...).
 * Only the control shard creates: elsewhere this looks the name up in the
 * image, so a handler that may need a topic created sends its request to the
 * control shard first (topics_auto_creatable). */
struct topic *topics_get_or_create(struct runtime *rt, struct kstr name, bool allow_create,
				   int16_t *err);

/* Opens logs of every topic in the metadata store (startup; the broker adopts
 * unrecorded partition directories first). A partition whose log cannot be
 * opened is logged and left offline; it does not stop the start. */
int topics_load(struct runtime *rt, bool clean_shutdown);

/* Records in the metadata store the topics whose partition directories are
 * in the log dir without a record there: a log dir Apache Kafka wrote, with
 * the names, ids, partition counts and topic configs its KRaft metadata log
 * gives (or, without one, the directories and their partition.metadata).
 * Leftovers of a deletion a crash interrupted are removed instead. Never
 * fails the start: what cannot be adopted is logged and left alone. */
void topics_adopt_dirs(struct runtime *rt);

/* Control shard: records the topic (again) in the metadata store, with its
 * placement and overrides; a new record replaces the earlier one. Returns 0
 * or -errno. */
int topics_persist(struct runtime *rt, const struct topic *t);

/* Removes a directory and everything in it (missing: 0). Returns 0 or -errno. */
int topics_remove_tree(const char *dir);
void topics_close_all(struct runtime *rt);

#endif
