/* Offset expiry arithmetic on peer-supplied times: OffsetCommit's
 * retention_time_ms (-1: the broker's policy) saturates instead of wrapping,
 * and an age check holds for any pair of timestamps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "core/group/group.h"

static void test_expire_saturates(void **state)
{
	(void)state;
	int64_t now = 1800000000000;
	assert_true(group_offset_expire_ms(now, -1) == -1);
	assert_true(group_offset_expire_ms(now, 0) == now);
	assert_true(group_offset_expire_ms(now, 800) == now + 800);
	assert_true(group_offset_expire_ms(now, INT64_MAX) == INT64_MAX);
	assert_true(group_offset_expire_ms(INT64_MAX, 1) == INT64_MAX);
	/* Other negative retentions expire at once, as in Kafka. */
	assert_true(group_offset_expire_ms(now, -5) == now - 5);
	assert_true(group_offset_expire_ms(now, INT64_MIN) == 0);
}

static void test_elapsed_any_values(void **state)
{
	(void)state;
	int64_t now = 1800000000000;
	assert_true(group_elapsed(now, now - 60000, 60000));
	assert_false(group_elapsed(now, now - 59999, 60000));
	assert_true(group_elapsed(now, INT64_MIN, 60000));
	assert_false(group_elapsed(now, INT64_MAX, 60000));
	assert_false(group_elapsed(-10, INT64_MAX, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expire_saturates),
		cmocka_unit_test(test_elapsed_any_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
