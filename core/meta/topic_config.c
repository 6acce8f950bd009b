/* Topic configuration keys, their parsing and description (topic_config.h). */
#include "core/meta/topic_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "proto/kafka_errors.h"

enum { TOPIC_CONFIG_KEY_BYTES = 128, TOPIC_SEGMENT_BYTES_MIN = 14 };

void topic_config_from_broker(struct topic_config *t, const struct broker_config *b)
{
	memset(t, 0, sizeof(*t));
	t->cleanup_delete = true;
	t->retention_ms = b->log_retention_ms;
	t->retention_bytes = b->log_retention_bytes;
	t->segment_bytes = b->log_segment_bytes;
	t->segment_ms = (int64_t)b->log_roll_ms;
	t->segment_jitter_ms = (int64_t)b->log_roll_jitter_ms;
	t->file_delete_delay_ms = (int64_t)b->log_segment_delete_delay_ms;
	t->segment_index_bytes = b->log_index_size_max_bytes;
	t->index_interval_bytes = b->log_index_interval_bytes;
	t->max_message_bytes = b->message_max_bytes;
	t->message_timestamp_type_log_append =
		strcmp(b->log_message_timestamp_type, "LogAppendTime") == 0;
	t->min_insync_replicas = 1;
	snprintf(t->compression_type, sizeof(t->compression_type), "producer");
	t->flush_messages = b->log_flush_interval_messages;
	t->flush_ms = b->log_flush_interval_ms < 0 ? INT64_MAX : b->log_flush_interval_ms;
	t->min_cleanable_dirty_ratio = b->log_cleaner_min_cleanable_ratio;
	t->min_compaction_lag_ms = b->log_cleaner_min_compaction_lag_ms;
	t->max_compaction_lag_ms = b->log_cleaner_max_compaction_lag_ms;
	t->delete_retention_ms = b->log_cleaner_delete_retention_ms;
}

static int topic_config_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

static int topic_config_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		*out = v[0] == 't';
		return 0;
	}
	return -1;
}

/* Applies a NUL-terminated key/value; returns 0, -1 for a bad value, -2 for
 * an unknown key. */
static int topic_config_apply(struct topic_config *t, const char *k, const char *v)
{
	int64_t n;
	if (strcmp(k, "cleanup.policy") == 0) {
		bool c = strcmp(v, "compact") == 0, d = strcmp(v, "delete") == 0;
		bool both = strcmp(v, "compact,delete") == 0 || strcmp(v, "delete,compact") == 0;
		if (!c && !d && !both)
			return -1;
		t->cleanup_compact = c || both;
		t->cleanup_delete = d || both;
		return 0;
	}
	if (strcmp(k, "compression.type") == 0) {
		static const char *const ok[] = { "producer", "uncompressed", "gzip", "snappy", "lz4", "zstd" };
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			if (strcmp(v, ok[i]) == 0) {
				snprintf(t->compression_type, sizeof(t->compression_type), "%s", ok[i]);
				return 0;
			}
		}
		return -1;
	}
	if (strcmp(k, "message.timestamp.type") == 0) {
		if (strcmp(v, "CreateTime") && strcmp(v, "LogAppendTime"))
			return -1;
		t->message_timestamp_type_log_append = v[0] == 'L';
		return 0;
	}
	if (strcmp(k, "min.cleanable.dirty.ratio") == 0) {
		char *end = NULL;
		errno = 0;
		double d = strtod(v, &end);
		if (errno || end == v || *end || !(d >= 0 && d <= 1))
			return -1;
		t->min_cleanable_dirty_ratio = d;
		return 0;
	}
	if (strcmp(k, "unclean.leader.election.enable") == 0)
		return topic_config_bool(v, &t->unclean_leader_election_enable);
#define TOPIC_INT(key, field, lo, hi)                                  \
	if (strcmp(k, key) == 0) {                                     \
		if (topic_config_int(v, lo, hi, &n) != 0)              \
			return -1;                                     \
		t->field = n;                                          \
		return 0;                                              \
	}
	TOPIC_INT("retention.ms", retention_ms, -1, INT64_MAX)
	TOPIC_INT("retention.bytes", retention_bytes, -1, INT64_MAX)
	TOPIC_INT("segment.bytes", segment_bytes, TOPIC_SEGMENT_BYTES_MIN, INT32_MAX)
	TOPIC_INT("segment.ms", segment_ms, 1, INT64_MAX)
	TOPIC_INT("segment.jitter.ms", segment_jitter_ms, 0, INT64_MAX)
	TOPIC_INT("file.delete.delay.ms", file_delete_delay_ms, 0, INT64_MAX)
	TOPIC_INT("segment.index.bytes", segment_index_bytes, 4, INT32_MAX)
	TOPIC_INT("index.interval.bytes", index_interval_bytes, 0, INT32_MAX)
	TOPIC_INT("max.message.bytes", max_message_bytes, 0, INT32_MAX)
	TOPIC_INT("min.insync.replicas", min_insync_replicas, 1, INT32_MAX)
	TOPIC_INT("flush.messages", flush_messages, 1, INT64_MAX)
	TOPIC_INT("flush.ms", flush_ms, 0, INT64_MAX)
	TOPIC_INT("min.compaction.lag.ms", min_compaction_lag_ms, 0, INT64_MAX)
	TOPIC_INT("max.compaction.lag.ms", max_compaction_lag_ms, 1, INT64_MAX)
	TOPIC_INT("delete.retention.ms", delete_retention_ms, 0, INT64_MAX)
#undef TOPIC_INT
	return -2;
}

int16_t topic_config_set(struct topic_config *t, const char *key, size_t key_len,
			 const char *value, size_t value_len, char *err, size_t errlen)
{
	char k[TOPIC_CONFIG_KEY_BYTES];
	char v[TOPIC_CONFIG_VALUE_BYTES * 4];
	if (key_len >= sizeof(k) || value_len >= sizeof(v)) {
		snprintf(err, errlen, "Invalid value for topic config %.*s", (int)(key_len < 64 ? key_len : 64), key);
		return KERR_INVALID_CONFIG;
	}
	memcpy(k, key, key_len);
	k[key_len] = '\0';
	memcpy(v, value, value_len);
	v[value_len] = '\0';
	int rc = topic_config_apply(t, k, v);
	if (rc == -2) {
		snprintf(err, errlen, "Unknown topic config name: %s", k);
		return KERR_INVALID_CONFIG;
	}
	if (rc != 0) {
		snprintf(err, errlen, "Invalid value %s for configuration %s", v, k);
		return KERR_INVALID_CONFIG;
	}
	return KERR_NONE;
}

size_t topic_config_list(const struct topic_config *t, struct topic_config_entry *out, size_t max)
{
	size_t n = 0;
#define TOPIC_ENTRY(key, fmt, val)                                                     \
	if (n < max) {                                                                 \
		out[n].name = key;                                                     \
		snprintf(out[n].value, sizeof(out[n].value), fmt, val);                \
		n++;                                                                   \
	}
	TOPIC_ENTRY("cleanup.policy", "%s", t->cleanup_compact && t->cleanup_delete ? "compact,delete"
				: t->cleanup_compact ? "compact" : "delete")
	TOPIC_ENTRY("compression.type", "%s", t->compression_type)
	TOPIC_ENTRY("retention.ms", "%" PRId64, t->retention_ms)
	TOPIC_ENTRY("retention.bytes", "%" PRId64, t->retention_bytes)
	TOPIC_ENTRY("segment.bytes", "%" PRIu64, t->segment_bytes)
	TOPIC_ENTRY("segment.ms", "%" PRId64, t->segment_ms)
	TOPIC_ENTRY("segment.jitter.ms", "%" PRId64, t->segment_jitter_ms)
	TOPIC_ENTRY("file.delete.delay.ms", "%" PRId64, t->file_delete_delay_ms)
	TOPIC_ENTRY("segment.index.bytes", "%u", t->segment_index_bytes)
	TOPIC_ENTRY("index.interval.bytes", "%u", t->index_interval_bytes)
	TOPIC_ENTRY("max.message.bytes", "%u", t->max_message_bytes)
	TOPIC_ENTRY("message.timestamp.type", "%s",
		    t->message_timestamp_type_log_append ? "LogAppendTime" : "CreateTime")
	TOPIC_ENTRY("min.insync.replicas", "%d", t->min_insync_replicas)
	TOPIC_ENTRY("flush.messages", "%" PRId64, t->flush_messages)
	TOPIC_ENTRY("flush.ms", "%" PRId64, t->flush_ms)
	TOPIC_ENTRY("unclean.leader.election.enable", "%s",
		    t->unclean_leader_election_enable ? "true" : "false")
	TOPIC_ENTRY("min.cleanable.dirty.ratio", "%g", t->min_cleanable_dirty_ratio)
	TOPIC_ENTRY("min.compaction.lag.ms", "%" PRId64, t->min_compaction_lag_ms)
	TOPIC_ENTRY("max.compaction.lag.ms", "%" PRId64, t->max_compaction_lag_ms)
	TOPIC_ENTRY("delete.retention.ms", "%" PRId64, t->delete_retention_ms)
#undef TOPIC_ENTRY
	return n;
}

const char *topic_config_not_enforced(const char *key, const char *value)
{
	if (!strcmp(key, "compression.type") && strcmp(value, "producer") && strcmp(value, "uncompressed"))
		return "batches are stored as the producer compressed them, not recompressed";
	return NULL;
}
