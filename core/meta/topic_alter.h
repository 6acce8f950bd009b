/* Altering an existing topic's configs (AlterConfigs, IncrementalAlterConfigs):
 * the new set of overrides is validated, recorded in the metadata store (the
 * topic recorded again), and put in force without a restart: a new config
 * object is published for every shard (the old one is freed once every shard
 * has moved past it), and each io shard owning a partition of the topic gets
 * its partitions' new log config by message. */
#ifndef SLUICE_CORE_META_TOPIC_ALTER_H
#define SLUICE_CORE_META_TOPIC_ALTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta/metadata_store.h"
#include "proto/cursor.h"

struct runtime;
struct topic;
struct topic_config;

/* Control shard: makes keys[i]=values[i] (count n) the topic's whole set of
 * overrides; every key not in it takes its default. Returns a Kafka error
 * code, INVALID_CONFIG with a message naming the key for a bad key or
 * value; with validate_only nothing changes. */
int16_t topic_alter(struct runtime *rt, struct topic *t, size_t n, const struct kstr *keys,
		    const struct kstr *values, bool validate_only, char *msg, size_t msglen);

/* Control shard: sends each io shard that owns partitions of t their log
 * config under cfg (a topic whose partitions changed hands them over).
 * Returns 0, or -1 when out of memory. */
int topic_alter_push_logs(struct runtime *rt, struct topic *t, const struct topic_config *cfg);

/* Control shard: alters the broker's dynamic configs at `level`
 * (broker_dynamic_alter, same arguments and answers) and puts every topic's
 * config under the new defaults in force, its overrides kept, and the log
 * cleaners' new settings (topics_cleaners_reconfigure). */
int16_t topic_alter_broker(struct runtime *rt, enum meta_broker_level level, size_t n,
			   const struct kstr *keys, const struct kstr *values, bool validate_only,
			   char *msg, size_t msglen);

#endif
