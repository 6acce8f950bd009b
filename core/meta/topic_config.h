/* Per-topic configuration: Kafka's topic keys, defaults taken from the
 * broker's log.* settings, validated values for CreateTopics. */
#ifndef SLUICE_CORE_META_TOPIC_CONFIG_H
#define SLUICE_CORE_META_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct log_config;

struct topic_config {
	bool cleanup_compact;
	bool cleanup_delete;
	int64_t retention_ms;
	int64_t retention_bytes;
	uint64_t segment_bytes;
	int64_t segment_ms;
	int64_t segment_jitter_ms;
	int64_t file_delete_delay_ms;
	uint32_t segment_index_bytes;
	uint32_t index_interval_bytes;
	uint32_t max_message_bytes;
	bool message_timestamp_type_log_append;
	int32_t min_insync_replicas;
	char compression_type[16];
	int64_t flush_messages;
	int64_t flush_ms;
	bool unclean_leader_election_enable;
	/* Compaction (core/log/log_cleaner.h). */
	double min_cleanable_dirty_ratio;
	int64_t min_compaction_lag_ms;
	int64_t max_compaction_lag_ms;
	int64_t delete_retention_ms;
};

enum { TOPIC_CONFIG_ENTRIES_MAX = 32, TOPIC_CONFIG_VALUE_BYTES = 32 };

/* One effective setting, for describing a topic. */
struct topic_config_entry {
	const char *name;
	char value[TOPIC_CONFIG_VALUE_BYTES];
};

void topic_config_from_broker(struct topic_config *t, const struct broker_config *b);
/* Sets one key. Returns 0 or INVALID_CONFIG with a message naming the key. */
int16_t topic_config_set(struct topic_config *t, const char *key, size_t key_len,
			 const char *value, size_t value_len, char *err, size_t errlen);
/* For a key/value that is valid but whose behaviour sluice does not provide
 * yet (broker-side recompression): the
 * reason, to be logged at topic creation; NULL otherwise. */
const char *topic_config_not_enforced(const char *key, const char *value);

/* One of Kafka's topic keys: its type, the broker settings it defaults to
 * (comma-separated, most specific first, as Kafka lists its synonyms), and, for a key sluice stores and describes but does not act on yet, its
 * default value (NULL for a key topic_config carries). */
struct topic_config_key {
	const char *name;
	enum config_kafka_type type;
	const char *broker_keys;
	const char *stored_default;
	const char *doc;
	bool described_when_set; /* Kafka 4 describes it only when a topic sets it */
};

size_t topic_config_key_count(void);
const struct topic_config_key *topic_config_key_at(size_t i);
const struct topic_config_key *topic_config_key_find(const char *name);
/* The effective value of a key topic_config carries, as text. */
void topic_config_value(const struct topic_config *t, const char *key, char *out, size_t cap);
/* The partition log's share of a topic's config (the broker's append
 * settings alongside). */
void topic_config_to_log(const struct topic_config *t, const struct broker_config *b,
			 struct log_config *out);

/* Every setting with its effective value; returns the count. */
size_t topic_config_list(const struct topic_config *t, struct topic_config_entry *out, size_t max);

#endif
