/* Dynamic broker configs: which keys, their levels, validation, recording
 * and putting them in force (broker_dynamic.h). */
#include "core/meta/broker_dynamic.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

enum { BROKER_DYNAMIC_KEY_BYTES = 128, BROKER_DYNAMIC_VALUE_BYTES = 1024,
       BROKER_DYNAMIC_CONFIGS_MAX = 256 };

/* Kafka's floor under the dedupe buffer each cleaner thread gets (its
 * KafkaConfig requires more than this). */
static const uint64_t BROKER_DYNAMIC_DEDUPE_PER_THREAD_MIN = 1024 * 1024;

/* What Kafka lets change at run time and sluice has: the topics' defaults
 * (its DynamicLogConfig keys, each a synonym of a topic key), then the log
 * cleaner's (its LogCleaner.ReconfigurableConfigs). */
static const char *const broker_dynamic_keys[] = {
	"log.retention.ms", "log.retention.bytes", "log.segment.bytes", "log.roll.ms",
	"log.roll.jitter.ms", "log.index.interval.bytes", "log.index.size.max.bytes",
	"log.flush.interval.messages", "log.flush.interval.ms", "log.segment.delete.delay.ms",
	"message.max.bytes", "log.message.timestamp.type", "log.cleaner.min.cleanable.ratio",
	"log.cleaner.delete.retention.ms", "log.cleaner.min.compaction.lag.ms",
	"log.cleaner.max.compaction.lag.ms",
	"log.cleaner.threads", "log.cleaner.io.max.bytes.per.second",
	"log.cleaner.dedupe.buffer.size", "log.cleaner.backoff.ms",
};

bool broker_dynamic_key(const char *key)
{
	for (size_t i = 0; i < sizeof(broker_dynamic_keys) / sizeof(broker_dynamic_keys[0]); i++)
		if (strcmp(broker_dynamic_keys[i], key) == 0)
			return true;
	return false;
}

/* Applies a level's set to c; a value that no longer parses is logged. */
static void broker_dynamic_apply(struct broker_config *c, const struct meta_kv *kv, size_t n)
{
	char err[256];
	for (size_t i = 0; i < n; i++)
		if (config_key_row(kv[i].key) >= 0 &&
		    config_set(c, kv[i].key, kv[i].value, err, sizeof(err)) != 0)
			slog_warn("config", "dynamic broker config ignored: %s", err);
}

static void broker_dynamic_build(struct runtime *rt)
{
	struct topic_registry *r = topics_registry(rt);
	r->dynamic_cfg = rt->cfg;
	for (int level = META_BROKER_CLUSTER; level >= META_BROKER_NODE; level--) {
		size_t n;
		const struct meta_kv *kv = metadata_store_broker_configs(r->store, level, &n);
		broker_dynamic_apply(&r->dynamic_cfg, kv, n);
	}
	r->dynamic_cfg_built = true;
}

const struct broker_config *broker_dynamic_effective(struct runtime *rt)
{
	struct topic_registry *r = topics_registry(rt);
	if (!r->store)
		return &rt->cfg;
	if (!r->dynamic_cfg_built)
		broker_dynamic_build(rt);
	return &r->dynamic_cfg;
}

const struct meta_kv *broker_dynamic_configs(struct runtime *rt, enum meta_broker_level level,
					     size_t *count)
{
	struct topic_registry *r = topics_registry(rt);
	*count = 0;
	return r->store ? metadata_store_broker_configs(r->store, level, count) : NULL;
}

const char *broker_dynamic_value(struct runtime *rt, enum meta_broker_level level, const char *key)
{
	size_t n;
	const struct meta_kv *kv = broker_dynamic_configs(rt, level, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

/* Kafka's words for keys that cannot change while the broker runs. */
static int16_t broker_dynamic_refuse(size_t n, const struct kstr *keys, char *msg, size_t msglen)
{
	size_t used = (size_t)snprintf(msg, msglen, "Cannot update these configs dynamically: [");
	size_t refused = 0;
	for (size_t i = 0; i < n && used < msglen; i++) {
		char key[BROKER_DYNAMIC_KEY_BYTES];
		snprintf(key, sizeof(key), "%.*s", keys[i].len > 0 ? keys[i].len : 0, keys[i].ptr);
		/* A key the broker does not have is kept, as Kafka keeps it. */
		if (broker_dynamic_key(key) || config_key_row(key) < 0)
			continue;
		used += (size_t)snprintf(msg + used, msglen - used, "%s%s", refused++ ? ", " : "", key);
	}
	if (used < msglen)
		snprintf(msg + used, msglen - used, "]");
	return refused ? KERR_INVALID_REQUEST : KERR_NONE;
}

/* Why a value was refused, in Kafka's words for a value not of the key's
 * type, else config_set's (without its "key: " prefix). */
static const char *broker_dynamic_reason(const char *key, const char *value, const char *why)
{
	static const char *const not_a_number[] = {
		[CONFIG_KAFKA_INT] = "Not a number of type INT",
		[CONFIG_KAFKA_SHORT] = "Not a number of type SHORT",
		[CONFIG_KAFKA_LONG] = "Not a number of type LONG",
		[CONFIG_KAFKA_DOUBLE] = "Not a number of type DOUBLE",
	};
	int row = config_key_row(key);
	enum config_kafka_type type = row >= 0 ? config_key_type((size_t)row) : CONFIG_KAFKA_STRING;
	char *end = NULL;
	if (type < sizeof(not_a_number) / sizeof(not_a_number[0]) && not_a_number[type]) {
		(void)strtod(value, &end);
		if (end == value || *end)
			return not_a_number[type];
	}
	size_t prefix = strlen(key);
	return strncmp(why, key, prefix) == 0 && why[prefix] == ':' ? why + prefix + 2 : why;
}

/* Kafka's checks of the cleaner's settings (its KafkaConfig's, then its
 * LogCleaner's validateReconfiguration, which exists only while the cleaner
 * is enabled), made when the settings in force would change. Kafka answers
 * a thread count below 1 with "/ by zero", from dividing the dedupe buffer
 * by it before its own check (known_differences.md KD-64): sluice gives
 * that check's words. */
static int16_t broker_dynamic_check_cleaner(const struct broker_config *now,
					    const struct broker_config *next, char *msg,
					    size_t msglen)
{
	static const char refused[] = "Invalid value org.apache.kafka.common.config."
				      "ConfigException: %s for configuration Invalid dynamic "
				      "configuration";
	char why[128];
	uint32_t current = now->log_cleaner_threads, threads = next->log_cleaner_threads;
	if (threads == current &&
	    next->log_cleaner_dedupe_buffer_size == now->log_cleaner_dedupe_buffer_size)
		return KERR_NONE;
	if (threads < 1) {
		snprintf(msg, msglen, refused, "Log cleaner threads should be at least 1");
		return KERR_INVALID_REQUEST;
	}
	if (next->log_cleaner_dedupe_buffer_size / threads <= BROKER_DYNAMIC_DEDUPE_PER_THREAD_MIN) {
		snprintf(msg, msglen, "requirement failed: log.cleaner.dedupe.buffer.size must be "
			 "at least 1MB per cleaner thread.");
		return KERR_INVALID_REQUEST;
	}
	if (!now->log_cleaner_enable)
		return KERR_NONE;
	if (threads < current / 2)
		snprintf(why, sizeof(why), "Log cleaner threads cannot be reduced to less than half "
			 "the current value %u", current);
	else if ((uint64_t)threads > (uint64_t)current * 2)
		snprintf(why, sizeof(why), "Log cleaner threads cannot be increased to more than "
			 "double the current value %u", current);
	else
		return KERR_NONE;
	snprintf(msg, msglen, refused, why);
	return KERR_INVALID_REQUEST;
}

/* Checks every value on a scratch copy of the broker's settings as they
 * would be with the level's new set (the node's over the cluster's), then
 * the whole against the settings in force. */
static int16_t broker_dynamic_validate(struct runtime *rt, enum meta_broker_level level, size_t n,
				       const struct kstr *keys, const struct kstr *values,
				       char *msg, size_t msglen)
{
	struct broker_config *scratch = malloc(sizeof(*scratch));
	if (!scratch)
		return KERR_UNKNOWN_SERVER_ERROR;
	*scratch = rt->cfg;
	size_t stored;
	const struct meta_kv *cluster = broker_dynamic_configs(rt, META_BROKER_CLUSTER, &stored);
	if (level == META_BROKER_NODE)
		broker_dynamic_apply(scratch, cluster, stored);
	int16_t rc = KERR_NONE;
	for (size_t i = 0; i < n && rc == KERR_NONE; i++) {
		char key[BROKER_DYNAMIC_KEY_BYTES], value[BROKER_DYNAMIC_VALUE_BYTES], why[256];
		if (values[i].len < 0 || (size_t)values[i].len >= sizeof(value)) {
			snprintf(msg, msglen, "Null value not supported for : %.*s", keys[i].len,
				 keys[i].ptr);
			rc = KERR_INVALID_REQUEST;
			break;
		}
		snprintf(key, sizeof(key), "%.*s", keys[i].len, keys[i].ptr);
		snprintf(value, sizeof(value), "%.*s", values[i].len, values[i].ptr);
		if (config_key_row(key) >= 0 && config_set(scratch, key, value, why, sizeof(why)) != 0) {
			snprintf(msg, msglen, "Invalid value %s for configuration %s: %s", value, key,
				 broker_dynamic_reason(key, value, why));
			rc = KERR_INVALID_REQUEST;
		}
	}
	const struct meta_kv *node = broker_dynamic_configs(rt, META_BROKER_NODE, &stored);
	if (level == META_BROKER_CLUSTER)
		broker_dynamic_apply(scratch, node, stored);
	if (rc == KERR_NONE)
		rc = broker_dynamic_check_cleaner(broker_dynamic_effective(rt), scratch, msg, msglen);
	free(scratch);
	return rc;
}

static int broker_dynamic_record(struct runtime *rt, enum meta_broker_level level, size_t n,
				 const struct kstr *keys, const struct kstr *values)
{
	struct meta_kv *kv = calloc(n + 1, sizeof(*kv));
	int rc = -1;
	for (size_t i = 0; kv && i < n; i++) {
		kv[i].key = strndup(keys[i].ptr, (size_t)keys[i].len);
		kv[i].value = strndup(values[i].ptr, (size_t)values[i].len);
	}
	bool whole = kv != NULL;
	for (size_t i = 0; whole && i < n; i++)
		whole = kv[i].key && kv[i].value;
	if (whole)
		rc = metadata_store_set_broker_configs(topics_registry(rt)->store, level, kv, n);
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
	return rc;
}

int16_t broker_dynamic_alter(struct runtime *rt, enum meta_broker_level level, size_t n,
			     const struct kstr *keys, const struct kstr *values, bool validate_only,
			     char *msg, size_t msglen)
{
	assert(shard_current() == NULL || shard_current()->id == SHARD_CONTROL);
	if (n > BROKER_DYNAMIC_CONFIGS_MAX) {
		snprintf(msg, msglen, "too many broker configs (%zu > %d)", n,
			 BROKER_DYNAMIC_CONFIGS_MAX);
		return KERR_INVALID_REQUEST;
	}
	int16_t rc = broker_dynamic_refuse(n, keys, msg, msglen);
	if (rc == KERR_NONE)
		rc = broker_dynamic_validate(rt, level, n, keys, values, msg, msglen);
	if (rc != KERR_NONE || validate_only)
		return rc;
	if (!topics_registry(rt)->store || broker_dynamic_record(rt, level, n, keys, values) != 0) {
		snprintf(msg, msglen, "the metadata store could not record the change");
		return KERR_KAFKA_STORAGE_ERROR;
	}
	broker_dynamic_build(rt);
	return KERR_NONE;
}
