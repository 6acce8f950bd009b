/* The broker's dynamic configs: the settings Kafka lets change while the
 * broker runs (AlterConfigs, IncrementalAlterConfigs on a broker resource)
 * and that sluice applies: the defaults every topic takes for a key it does
 * not override, and the log cleaner's threads, I/O rate, dedupe buffer and
 * backoff (checked as Kafka checks them, against those in force). Two
 * levels, as Kafka's: this node's own (resource name: its id) over the
 * cluster's defaults (resource name ""). They are recorded in
 * the metadata store, survive restarts, and are put in force at once on
 * every topic and cleaner (topic_alter.h). The control shard owns them. */
#ifndef SLUICE_CORE_META_BROKER_DYNAMIC_H
#define SLUICE_CORE_META_BROKER_DYNAMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta/metadata_store.h"
#include "proto/cursor.h"

struct runtime;
struct broker_config;

/* Whether `key`, one of the broker's settings, may change while it runs (a
 * key the broker does not have may be set too, and is kept without effect,
 * as Kafka keeps it). */
bool broker_dynamic_key(const char *key);

/* Control shard: the broker's settings with the dynamic configs applied. */
const struct broker_config *broker_dynamic_effective(struct runtime *rt);

/* Control shard: the value `key` is given at `level`, or NULL. */
const char *broker_dynamic_value(struct runtime *rt, enum meta_broker_level level, const char *key);

/* Control shard: the level's whole set of dynamic configs. */
const struct meta_kv *broker_dynamic_configs(struct runtime *rt, enum meta_broker_level level,
					     size_t *count);

/* Control shard: makes keys[i]=values[i] (count n) the level's whole set.
 * Returns a Kafka error code: INVALID_REQUEST, in Kafka's words, for a key
 * that cannot change while the broker runs or a bad value; with
 * validate_only nothing changes. The topics' configs do not follow until
 * topic_alter_broker (topic_alter.h), which calls this, refreshes them. */
int16_t broker_dynamic_alter(struct runtime *rt, enum meta_broker_level level, size_t n,
			     const struct kstr *keys, const struct kstr *values, bool validate_only,
			     char *msg, size_t msglen);

#endif
