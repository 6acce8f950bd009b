/* The transaction coordinator's keys: Kafka's names and defaults
 * (transaction.state.log.num.partitions 50, segment 100 MiB,
 * transaction.max.timeout.ms 900000, timed-out aborts every 10 s, ids
 * expired after 7 days, checked every hour), values taken, bad ones
 * refused naming the key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/config.h"

static void test_defaults(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	char err[256];
	assert_int_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.transaction_state_log_num_partitions, 50);
	assert_int_equal(c.transaction_state_log_segment_bytes, 104857600);
	assert_int_equal(c.transaction_max_timeout_ms, 900000);
	assert_int_equal(c.transaction_abort_timed_out_transaction_cleanup_interval_ms, 10000);
	assert_int_equal(c.transactional_id_expiration_ms, 604800000);
	assert_int_equal(c.transaction_remove_expired_transaction_cleanup_interval_ms, 3600000);
}

static void test_keys(void **state)
{
	(void)state;
	struct broker_config c;
	config_defaults(&c);
	char err[256];
	const char *keys[][2] = {
		{ "transaction.state.log.num.partitions", "8" },
		{ "transaction.state.log.segment.bytes", "1048576" },
		{ "transaction.max.timeout.ms", "60000" },
		{ "transaction.abort.timed.out.transaction.cleanup.interval.ms", "250" },
		{ "transactional.id.expiration.ms", "1000" },
		{ "transaction.remove.expired.transaction.cleanup.interval.ms", "500" },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(config_set(&c, keys[i][0], keys[i][1], err, sizeof(err)), 0);
	assert_int_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.transaction_state_log_num_partitions, 8);
	assert_int_equal(c.transaction_state_log_segment_bytes, 1048576);
	assert_int_equal(c.transaction_max_timeout_ms, 60000);
	assert_int_equal(c.transaction_abort_timed_out_transaction_cleanup_interval_ms, 250);
	assert_int_equal(c.transactional_id_expiration_ms, 1000);
	assert_int_equal(c.transaction_remove_expired_transaction_cleanup_interval_ms, 500);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_not_equal(config_set(&c, keys[i][0], "0", err, sizeof(err)), 0);
		assert_non_null(strstr(err, keys[i][0]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
