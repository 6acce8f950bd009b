/* The sweep's rules: the rate series climbs 1, 1.5, 2, 3, 5, 7 per decade
 * from any start, and a step is sustained only when nothing was lost and
 * both the producer and the consumer kept 95% of the target. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "perf/sweep_rule.h"

static void test_series_from_1000(void **state)
{
	(void)state;
	const double want[] = { 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 50000, 70000, 100000 };
	double rate = 1000;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		rate = sweep_next_rate(rate);
		assert_true(rate > want[i] - 1e-6 && rate < want[i] + 1e-6);
	}
}

static void test_series_from_off_series_starts(void **state)
{
	(void)state;
	assert_true(sweep_next_rate(1200) == 1500);
	assert_true(sweep_next_rate(7500) == 10000);
	assert_true(sweep_next_rate(1) == 1.5);
	assert_true(sweep_next_rate(999) == 1000);
}

static void test_sustained_rule(void **state)
{
	(void)state;
	assert_true(sweep_sustained(1000, 1000, 1000, 0));
	assert_true(sweep_sustained(1000, 950, 950, 0));
	assert_false(sweep_sustained(1000, 949, 1000, 0));  /* the producer fell behind */
	assert_false(sweep_sustained(1000, 1000, 949, 0));  /* a backlog grew */
	assert_false(sweep_sustained(1000, 1000, 1000, 1)); /* a message was lost */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_from_1000),
		cmocka_unit_test(test_series_from_off_series_starts),
		cmocka_unit_test(test_sustained_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
