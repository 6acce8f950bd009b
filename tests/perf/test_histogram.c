/* sluice-perf's histogram: every reported quantile is within the promised
 * relative error of the true value, never below it, across the whole range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "perf/histogram.h"

static void test_relative_error_bound(void **state)
{
	(void)state;
	for (uint64_t v = 1; v < (1ull << 40); v = v * 3 / 2 + 1) {
		struct histogram *h = calloc(1, sizeof(*h));
		histogram_record(h, v);
		histogram_record(h, v);
		uint64_t got = histogram_quantile(h, 0.5);
		assert_true(got >= v);
		assert_true((double)(got - v) <= (double)v / HISTOGRAM_SUB_BUCKETS);
		free(h);
	}
}

static void test_quantiles_of_a_uniform_run(void **state)
{
	(void)state;
	struct histogram *h = calloc(1, sizeof(*h));
	for (uint64_t v = 1; v <= 100000; v++)
		histogram_record(h, v);
	const double q[] = { 0.5, 0.9, 0.99, 0.999 };
	for (int i = 0; i < 4; i++) {
		double want = q[i] * 100000;
		double got = (double)histogram_quantile(h, q[i]);
		assert_true(got >= want - 1 && got <= want * (1 + 1.0 / HISTOGRAM_SUB_BUCKETS) + 1);
	}
	assert_int_equal(histogram_quantile(h, 1.0), 100000);
	assert_int_equal(h->total, 100000);
	struct histogram *other = calloc(1, sizeof(*other));
	histogram_record(other, 5000000);
	histogram_merge(h, other);
	assert_int_equal(h->max, 5000000);
	assert_int_equal(h->total, 100001);
	free(other);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relative_error_bound),
		cmocka_unit_test(test_quantiles_of_a_uniform_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
