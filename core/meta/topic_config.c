/* Topic configuration keys, their parsing and description (topic_config.h). */
#include "core/meta/topic_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log/partition_log.h"
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
		/* Empty: neither (Kafka 4 takes it: nothing is ever removed). */
		bool c = strcmp(v, "compact") == 0, d = strcmp(v, "delete") == 0;
		bool both = strcmp(v, "compact,delete") == 0 || strcmp(v, "delete,compact") == 0;
		if (!c && !d && !both && v[0])
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

#define K_(name, type, broker, doc) { name, CONFIG_KAFKA_##type, broker, NULL, doc, false }
#define KS(name, type, broker, dflt, doc) { name, CONFIG_KAFKA_##type, broker, dflt, doc, false }
/* Keys Kafka 4 still takes but no longer describes unless a topic sets them. */
#define KL(name, type, broker, dflt, doc) { name, CONFIG_KAFKA_##type, broker, dflt, doc, true }
static const struct topic_config_key topic_config_keys[] = {
	K_("cleanup.policy", LIST, "log.cleanup.policy",
	   "What happens to old segments: delete (by retention), compact (keep the last record "
	   "per key), or both."),
	KS("compression.gzip.level", INT, "compression.gzip.level", "-1",
	   "The gzip level when compression.type is gzip."),
	KS("compression.lz4.level", INT, "compression.lz4.level", "9",
	   "The lz4 level when compression.type is lz4."),
	K_("compression.type", STRING, "compression.type",
	   "The topic's compression: producer keeps what the producer sent."),
	KS("compression.zstd.level", INT, "compression.zstd.level", "3",
	   "The zstd level when compression.type is zstd."),
	K_("delete.retention.ms", LONG, "log.cleaner.delete.retention.ms",
	   "How long a compacted topic keeps tombstones (and transaction markers)."),
	KS("errors.deadletterqueue.group.enable", BOOLEAN, NULL, "false",
	   "Whether share groups may use the topic as a dead-letter queue."),
	K_("file.delete.delay.ms", LONG, "log.segment.delete.delay.ms",
	   "How long a removed segment's files stay on disk before they are deleted."),
	K_("flush.messages", LONG, "log.flush.interval.messages",
	   "Force an fsync after this many messages."),
	K_("flush.ms", LONG, "log.flush.interval.ms,log.flush.scheduler.interval.ms",
	   "Force an fsync after this much time."),
	KS("follower.replication.throttled.replicas", LIST, NULL, "",
	   "Replicas whose follower fetches are throttled (partition:broker, or *)."),
	K_("index.interval.bytes", INT, "log.index.interval.bytes",
	   "Bytes of log between two offset index entries."),
	KS("leader.replication.throttled.replicas", LIST, NULL, "",
	   "Replicas whose leader side is throttled (partition:broker, or *)."),
	KS("local.retention.bytes", LONG, "log.local.retention.bytes", "-2",
	   "Bytes kept locally with tiered storage; -2: retention.bytes."),
	KS("local.retention.ms", LONG, "log.local.retention.ms", "-2",
	   "Time kept locally with tiered storage; -2: retention.ms."),
	K_("max.compaction.lag.ms", LONG, "log.cleaner.max.compaction.lag.ms",
	   "The longest a record stays uncompacted."),
	KS("max.decompressed.message.bytes", INT, "max.decompressed.message.bytes", "2147483639",
	   "The largest a single record may decompress to."),
	K_("max.message.bytes", INT, "message.max.bytes",
	   "The largest record batch the topic accepts."),
	KL("message.downconversion.enable", BOOLEAN, "log.message.downconversion.enable", "true",
	   "Whether fetches of old formats are converted down."),
	KL("message.format.version", STRING, "log.message.format.version", "3.0-IV1",
	   "The message format version (ignored since Kafka 3.0)."),
	KS("message.timestamp.after.max.ms", LONG, "log.message.timestamp.after.max.ms", "3600000",
	   "How far after the broker's time a record's timestamp may be."),
	KS("message.timestamp.before.max.ms", LONG, "log.message.timestamp.before.max.ms",
	   "9223372036854775807", "How far before the broker's time a record's timestamp may be."),
	KL("message.timestamp.difference.max.ms", LONG, "log.message.timestamp.difference.max.ms",
	   "9223372036854775807", "How far from the broker's time a record's timestamp may be."),
	K_("message.timestamp.type", STRING, "log.message.timestamp.type",
	   "CreateTime (the producer's) or LogAppendTime (the broker's) timestamps."),
	K_("min.cleanable.dirty.ratio", DOUBLE, "log.cleaner.min.cleanable.ratio",
	   "The uncompacted share of the log that makes it eligible for compaction."),
	K_("min.compaction.lag.ms", LONG, "log.cleaner.min.compaction.lag.ms",
	   "The shortest a record stays uncompacted."),
	K_("min.insync.replicas", INT, "min.insync.replicas",
	   "In-sync replicas an acks=all produce needs."),
	KS("preallocate", BOOLEAN, "log.preallocate", "false",
	   "Whether new segment files are preallocated."),
	KS("remote.copy.lag.bytes", LONG, "log.remote.copy.lag.bytes", "-1",
	   "Bytes of newer local data after which a segment may be copied to tiered storage."),
	KS("remote.copy.lag.ms", LONG, "log.remote.copy.lag.ms", "0",
	   "Time after which a segment may be copied to tiered storage."),
	KS("remote.log.copy.disable", BOOLEAN, NULL, "false",
	   "Whether copying segments to tiered storage is stopped."),
	KS("remote.log.delete.on.disable", BOOLEAN, NULL, "false",
	   "Whether tiered segments are deleted when tiered storage is turned off."),
	KS("remote.storage.enable", BOOLEAN, NULL, "false", "Whether the topic uses tiered storage."),
	K_("retention.bytes", LONG, "log.retention.bytes",
	   "The most bytes a partition keeps before old segments go; -1: no limit."),
	K_("retention.ms", LONG, "log.retention.ms,log.retention.minutes,log.retention.hours",
	   "How long segments are kept before they go; -1: no limit."),
	K_("segment.bytes", INT, "log.segment.bytes", "The size at which a segment rolls."),
	K_("segment.index.bytes", INT, "log.index.size.max.bytes",
	   "The size of a segment's offset and time indexes."),
	K_("segment.jitter.ms", LONG, "log.roll.jitter.ms,log.roll.jitter.hours",
	   "The most random time subtracted from segment.ms."),
	K_("segment.ms", LONG, "log.roll.ms,log.roll.hours", "The age at which a segment rolls."),
	K_("unclean.leader.election.enable", BOOLEAN, "unclean.leader.election.enable",
	   "Whether an out-of-sync replica may become leader."),
};
#undef K_
#undef KS
#undef KL

enum { TOPIC_CONFIG_KEYS = sizeof(topic_config_keys) / sizeof(topic_config_keys[0]) };

size_t topic_config_key_count(void)
{
	return TOPIC_CONFIG_KEYS;
}

const struct topic_config_key *topic_config_key_at(size_t i)
{
	return i < TOPIC_CONFIG_KEYS ? &topic_config_keys[i] : NULL;
}

const struct topic_config_key *topic_config_key_find(const char *name)
{
	for (size_t i = 0; i < TOPIC_CONFIG_KEYS; i++)
		if (strcmp(topic_config_keys[i].name, name) == 0)
			return &topic_config_keys[i];
	return NULL;
}

/* A key sluice only stores: its value is checked against its type. */
static int topic_config_check_stored(const struct topic_config_key *k, const char *v)
{
	int64_t n;
	bool b;
	switch (k->type) {
	case CONFIG_KAFKA_BOOLEAN: return topic_config_bool(v, &b);
	case CONFIG_KAFKA_INT: return topic_config_int(v, INT32_MIN, INT32_MAX, &n);
	case CONFIG_KAFKA_LONG: return topic_config_int(v, INT64_MIN, INT64_MAX, &n);
	default: return 0;
	}
}

/* Kafka's words after a value that is not of the key's type. */
static const char *topic_config_type_mismatch(const struct topic_config_key *k, const char *v)
{
	if (!k || topic_config_check_stored(k, v) == 0)
		return "";
	switch (k->type) {
	case CONFIG_KAFKA_INT: return ": Not a number of type INT";
	case CONFIG_KAFKA_LONG: return ": Not a number of type LONG";
	default: return ": Expected value to be either true or false";
	}
}

/* The key and value are Kafka strings, checked above as C strings (cut at
 * a NUL). No key has a NUL: a key with one is unknown, not the key before
 * it. Kafka checks a value trimmed of the bytes up to ' ' at both ends (Java's
 * String.trim), so a NUL there is taken, and one inside makes the value none
 * of its key's type. */
static bool topic_config_nul_inside(const char *value, size_t len)
{
	const char *nul = memchr(value, '\0', len);
	if (!nul)
		return false;
	size_t start = 0;
	while (start < len && (unsigned char)value[start] <= ' ')
		start++;
	size_t end = len;
	while (end > start && (unsigned char)value[end - 1] <= ' ')
		end--;
	return memchr(value + start, '\0', end - start) != NULL;
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
	const struct topic_config_key *known = topic_config_key_find(k);
	int rc = known && known->stored_default ? topic_config_check_stored(known, v)
						: topic_config_apply(t, k, v);
	if (memchr(key, '\0', key_len))
		rc = -2;
	else if (rc == 0 && topic_config_nul_inside(value, value_len))
		rc = -1;
	if (rc == -2) {
		snprintf(err, errlen, "Unknown topic config name: %s", k);
		return KERR_INVALID_CONFIG;
	}
	if (rc != 0) {
		snprintf(err, errlen, "Invalid value %s for configuration %s%s", v, k,
			 topic_config_type_mismatch(known, v));
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
				: t->cleanup_compact ? "compact" : t->cleanup_delete ? "delete" : "")
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

void topic_config_value(const struct topic_config *t, const char *key, char *out, size_t cap)
{
	struct topic_config_entry e[TOPIC_CONFIG_ENTRIES_MAX];
	size_t n = topic_config_list(t, e, TOPIC_CONFIG_ENTRIES_MAX);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, key) == 0)
			snprintf(out, cap, "%s", e[i].value);
}

void topic_config_to_log(const struct topic_config *t, const struct broker_config *b,
			 struct log_config *out)
{
	*out = (struct log_config){
		.segment_bytes = t->segment_bytes,
		.segment_ms = (uint64_t)t->segment_ms,
		.index_interval_bytes = t->index_interval_bytes,
		.segment_index_bytes = t->segment_index_bytes,
		.flush_messages = t->flush_messages,
		.flush_ms = t->flush_ms,
		.segment_jitter_ms = (uint64_t)t->segment_jitter_ms,
		.delete_enabled = t->cleanup_delete,
		.retention_ms = t->retention_ms,
		.retention_bytes = t->retention_bytes,
		.file_delete_delay_ms = (uint64_t)t->file_delete_delay_ms,
		.producer_id_expiration_ms = b->producer_id_expiration_ms,
		.producer_id_expiration_check_interval_ms = b->producer_id_expiration_check_interval_ms,
		.compact = t->cleanup_compact,
		.mapped_append_max_bytes = b->log_append_mapped_max_bytes,
		.prefault_max_bytes = b->log_append_prefault_max_bytes,
	};
}

const char *topic_config_not_enforced(const char *key, const char *value)
{
	const struct topic_config_key *k = topic_config_key_find(key);
	if (k && k->stored_default)
		return "sluice stores and describes this setting but does not act on it yet";
	if (!strcmp(key, "compression.type") && strcmp(value, "producer") && strcmp(value, "uncompressed"))
		return "batches are stored as the producer compressed them, not recompressed";
	return NULL;
}
