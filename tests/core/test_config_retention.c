/* The retention and roll keys of the broker: Kafka's defaults
 * (log.retention.check.interval.ms 300000, log.segment.delete.delay.ms 60000,
 * no roll jitter), log.roll.jitter.hours turned into milliseconds unless
 * log.roll.jitter.ms is given, and log.retention.check.interval.ms taken, not
 * ignored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/config.h"

static void finish(struct broker_config *c)
{
	char err[256];
	assert_int_equal(config_finish(c, err, sizeof(err)), 0);
}

static void set(struct broker_config *c, const char *k, const char *v)
{
	char err[256];
	assert_int_equal(config_set(c, k, v, err, sizeof(err)), 0);
}

static void test_defaults(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	finish(&c);
	assert_int_equal(c.log_retention_check_interval_ms, 300000);
	assert_int_equal(c.log_segment_delete_delay_ms, 60000);
	assert_int_equal(c.log_roll_jitter_ms, 0);
	assert_int_equal(c.log_retention_ms, 168ll * 3600 * 1000);
	assert_int_equal(c.log_retention_bytes, -1);
}

static void test_keys(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	set(&c, "log.retention.check.interval.ms", "250");
	set(&c, "log.segment.delete.delay.ms", "0");
	set(&c, "log.roll.jitter.hours", "2");
	finish(&c);
	assert_int_equal(c.log_retention_check_interval_ms, 250);
	assert_int_equal(c.log_segment_delete_delay_ms, 0);
	assert_int_equal(c.log_roll_jitter_ms, 2ll * 3600 * 1000);
	config_defaults(&c);
	set(&c, "log.roll.jitter.hours", "2");
	set(&c, "log.roll.jitter.ms", "1234");
	finish(&c);
	assert_int_equal(c.log_roll_jitter_ms, 1234);
	char err[256];
	assert_int_not_equal(config_set(&c, "log.retention.check.interval.ms", "0", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "log.retention.check.interval.ms"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
