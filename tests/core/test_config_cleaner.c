/* The log cleaner's broker keys: Kafka's defaults, fractional values, the
 * bounds, and Kafka's own Double.MAX_VALUE default for the throttle; and the
 * topic keys they default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "core/meta/topic_config.h"

static int set(struct broker_config *c, const char *k, const char *v)
{
	char err[256];
	return config_set(c, k, v, err, sizeof(err));
}

static void test_cleaner_defaults_are_kafkas(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	assert_true(c.log_cleaner_enable);
	assert_int_equal(c.log_cleaner_threads, 1);
	assert_int_equal(c.log_cleaner_dedupe_buffer_size, 128 << 20);
	assert_int_equal(c.log_cleaner_backoff_ms, 15000);
	assert_true(c.log_cleaner_min_cleanable_ratio == 0.5);
	assert_int_equal(c.log_cleaner_delete_retention_ms, 86400000);
	assert_int_equal(c.log_cleaner_min_compaction_lag_ms, 0);
	assert_int_equal(c.log_cleaner_max_compaction_lag_ms, INT64_MAX);
	assert_true(c.log_cleaner_io_max_bytes_per_second == 0);
}

static void test_cleaner_keys_parse_and_bound(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	assert_int_equal(set(&c, "log.cleaner.min.cleanable.ratio", "0.25"), 0);
	assert_true(c.log_cleaner_min_cleanable_ratio == 0.25);
	assert_int_equal(set(&c, "log.cleaner.min.cleanable.ratio", "1.5"), -1);
	assert_int_equal(set(&c, "log.cleaner.min.cleanable.ratio", "-0.1"), -1);
	assert_int_equal(set(&c, "log.cleaner.min.cleanable.ratio", "half"), -1);
	assert_true(c.log_cleaner_min_cleanable_ratio == 0.25);
	assert_int_equal(set(&c, "log.cleaner.io.max.bytes.per.second", "1048576"), 0);
	assert_true(c.log_cleaner_io_max_bytes_per_second == 1048576);
	assert_int_equal(set(&c, "log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308"), 0);
	assert_true(c.log_cleaner_io_max_bytes_per_second == (double)INT64_MAX);
	assert_int_equal(set(&c, "log.cleaner.dedupe.buffer.size", "100"), -1);
	assert_int_equal(set(&c, "log.cleaner.enable", "false"), 0);
	assert_false(c.log_cleaner_enable);
	assert_int_equal(set(&c, "log.cleaner.threads", "0"), 0);
}

static void test_topic_defaults_follow_the_broker(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	assert_int_equal(set(&c, "log.cleaner.min.cleanable.ratio", "0.1"), 0);
	assert_int_equal(set(&c, "log.cleaner.delete.retention.ms", "5000"), 0);
	struct topic_config t;
	topic_config_from_broker(&t, &c);
	assert_true(t.min_cleanable_dirty_ratio == 0.1);
	assert_int_equal(t.delete_retention_ms, 5000);
	char err[128];
	assert_int_equal(topic_config_set(&t, "min.cleanable.dirty.ratio", 25, "0.75", 4, err,
					  sizeof(err)), 0);
	assert_true(t.min_cleanable_dirty_ratio == 0.75);
	assert_int_not_equal(topic_config_set(&t, "min.cleanable.dirty.ratio", 25, "2", 1, err,
					      sizeof(err)), 0);
	assert_int_equal(topic_config_set(&t, "max.compaction.lag.ms", 21, "1000", 4, err,
					  sizeof(err)), 0);
	assert_int_equal(t.max_compaction_lag_ms, 1000);
	assert_int_not_equal(topic_config_set(&t, "max.compaction.lag.ms", 21, "0", 1, err,
					      sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cleaner_defaults_are_kafkas),
		cmocka_unit_test(test_cleaner_keys_parse_and_bound),
		cmocka_unit_test(test_topic_defaults_follow_the_broker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
