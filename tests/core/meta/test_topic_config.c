/* Topic config keys (core/meta/topic_config.h) and the broker settings'
 * table as DescribeConfigs reads it (core/config.h): every key Kafka's
 * CreateTopics takes is known, typed and validated, with INVALID_CONFIG
 * naming the key; keys sluice only stores keep their defaults; a topic's
 * config maps onto its partition logs'; given broker settings are told from
 * defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/config.h"
#include "core/log/partition_log.h"
#include "core/meta/topic_config.h"
#include "proto/kafka_errors.h"

static int16_t set(struct topic_config *t, const char *k, const char *v, char *err, size_t n)
{
	return topic_config_set(t, k, strlen(k), v, strlen(v), err, n);
}

static void test_issue_keys_are_known(void **state)
{
	(void)state;
	static const char *const keys[] = {
		"delete.retention.ms", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
		"max.compaction.lag.ms", "file.delete.delay.ms", "message.timestamp.difference.max.ms",
		"preallocate", "segment.jitter.ms", "message.downconversion.enable",
		"message.format.version", "leader.replication.throttled.replicas",
		"follower.replication.throttled.replicas", "local.retention.ms", "remote.storage.enable",
	};
	struct broker_config b;
	config_defaults(&b);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct topic_config_key *k = topic_config_key_find(keys[i]);
		assert_non_null(k);
		assert_non_null(k->doc);
		assert_true(k->type >= CONFIG_KAFKA_BOOLEAN && k->type <= CONFIG_KAFKA_LIST);
	}
	for (size_t i = 0; i < topic_config_key_count(); i++)
		assert_ptr_equal(topic_config_key_find(topic_config_key_at(i)->name),
				 topic_config_key_at(i));
	assert_null(topic_config_key_at(topic_config_key_count()));
}

static void test_stored_keys_validated_by_type(void **state)
{
	(void)state;
	struct broker_config b;
	struct topic_config t, before;
	char err[256];
	config_defaults(&b);
	topic_config_from_broker(&t, &b);
	before = t;
	assert_int_equal(set(&t, "preallocate", "true", err, sizeof(err)), KERR_NONE);
	assert_int_equal(set(&t, "local.retention.ms", "-2", err, sizeof(err)), KERR_NONE);
	assert_int_equal(set(&t, "leader.replication.throttled.replicas", "0:0,1:0", err,
			     sizeof(err)), KERR_NONE);
	assert_memory_equal(&t, &before, sizeof(t)); /* stored, not acted on */
	assert_non_null(topic_config_not_enforced("preallocate", "true"));
	assert_null(topic_config_not_enforced("retention.ms", "1"));
	assert_int_equal(set(&t, "preallocate", "yes", err, sizeof(err)), KERR_INVALID_CONFIG);
	assert_non_null(strstr(err, "preallocate"));
	assert_int_equal(set(&t, "local.retention.ms", "soon", err, sizeof(err)), KERR_INVALID_CONFIG);
	assert_string_equal(err, "Invalid value soon for configuration local.retention.ms: "
				 "Not a number of type LONG");
}

static void test_acted_keys(void **state)
{
	(void)state;
	struct broker_config b;
	struct topic_config t;
	char err[256], value[64];
	config_defaults(&b);
	topic_config_from_broker(&t, &b);
	assert_int_equal(set(&t, "retention.ms", "abc", err, sizeof(err)), KERR_INVALID_CONFIG);
	assert_string_equal(err, "Invalid value abc for configuration retention.ms: "
				 "Not a number of type LONG");
	assert_int_equal(set(&t, "segment.bytes", "3", err, sizeof(err)), KERR_INVALID_CONFIG);
	assert_string_equal(err, "Invalid value 3 for configuration segment.bytes");
	assert_int_equal(set(&t, "no.such.key", "1", err, sizeof(err)), KERR_INVALID_CONFIG);
	assert_string_equal(err, "Unknown topic config name: no.such.key");
	assert_int_equal(set(&t, "cleanup.policy", "", err, sizeof(err)), KERR_NONE);
	assert_false(t.cleanup_delete || t.cleanup_compact);
	topic_config_value(&t, "cleanup.policy", value, sizeof(value));
	assert_string_equal(value, "");
	assert_int_equal(set(&t, "cleanup.policy", "delete,compact", err, sizeof(err)), KERR_NONE);
	topic_config_value(&t, "cleanup.policy", value, sizeof(value));
	assert_string_equal(value, "compact,delete");
	assert_int_equal(set(&t, "retention.ms", "1234", err, sizeof(err)), KERR_NONE);
	assert_int_equal(set(&t, "segment.bytes", "30000", err, sizeof(err)), KERR_NONE);
	assert_int_equal(set(&t, "flush.messages", "1", err, sizeof(err)), KERR_NONE);
	struct log_config lc;
	topic_config_to_log(&t, &b, &lc);
	assert_int_equal(lc.retention_ms, 1234);
	assert_int_equal(lc.segment_bytes, 30000);
	assert_int_equal(lc.flush_messages, 1);
	assert_true(lc.compact && lc.delete_enabled);
	assert_int_equal(lc.mapped_append_max_bytes, b.log_append_mapped_max_bytes);
}

/* Keys and values are Kafka strings: a key with a NUL is unknown (not the
 * key before it); a value with a NUL inside is none of its key's type, as
 * in Kafka, which trims bytes up to ' ' at both ends first. */
static void test_nul_in_key_or_value(void **state)
{
	(void)state;
	struct topic_config t;
	struct broker_config b;
	config_defaults(&b);
	topic_config_from_broker(&t, &b);
	char err[256];
	assert_int_equal(topic_config_set(&t, "retention.ms\0x", 14, "5", 1, err, sizeof(err)),
			 KERR_INVALID_CONFIG);
	assert_int_equal(topic_config_set(&t, "retention.ms", 12, "1000\0x", 6, err, sizeof(err)),
			 KERR_INVALID_CONFIG);
	assert_int_equal(topic_config_set(&t, "cleanup.policy", 14, "compact\0delete", 14, err,
					  sizeof(err)),
			 KERR_INVALID_CONFIG);
	assert_int_equal(topic_config_set(&t, "retention.ms", 12, "1000\0", 5, err, sizeof(err)),
			 KERR_NONE);
	assert_int_equal(t.retention_ms, 1000);
}

static void test_broker_rows(void **state)
{
	(void)state;
	struct broker_config b;
	char err[256], value[64];
	config_defaults(&b);
	int row = config_key_row("num.partitions");
	assert_true(row >= 0);
	assert_int_equal(config_key_row("no.such.setting"), -1);
	assert_false(config_key_given(&b, (size_t)row));
	assert_int_equal(config_set(&b, "num.partitions", "3", err, sizeof(err)), 0);
	assert_true(config_key_given(&b, (size_t)row));
	config_key_format(&b, (size_t)row, value, sizeof(value));
	assert_string_equal(value, "3");
	assert_int_equal(config_key_type((size_t)row), CONFIG_KAFKA_INT);
	assert_int_equal(config_key_type((size_t)config_key_row("log.retention.ms")), CONFIG_KAFKA_LONG);
	assert_int_equal(config_key_type((size_t)config_key_row("auto.create.topics.enable")),
			 CONFIG_KAFKA_BOOLEAN);
	for (size_t i = 0; i < config_key_count(); i++)
		assert_non_null(config_key_name(i));
	assert_null(config_key_name(config_key_count()));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_keys_are_known),
		cmocka_unit_test(test_stored_keys_validated_by_type),
		cmocka_unit_test(test_acted_keys),
		cmocka_unit_test(test_nul_in_key_or_value),
		cmocka_unit_test(test_broker_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
