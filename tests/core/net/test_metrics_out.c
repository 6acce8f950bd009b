/* The metrics writer and exposition helpers: latency buckets (the first
 * bound at or above the duration), histograms summed over shards and
 * rendered cumulative in seconds with +Inf equal to _count, the buffer grown
 * up to its bound and cut there (never a partial line), and Prometheus label
 * and HTML escapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net/metrics_histogram.h"
#include "core/net/metrics_out.h"

static void test_bucket_bounds(void **state)
{
	(void)state;
	static const uint64_t bounds[METRICS_LATENCY_BUCKETS] = METRICS_LATENCY_BOUNDS_NS;
	assert_int_equal(metrics_histogram_bucket(0), 0);
	for (uint32_t b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
		assert_int_equal(metrics_histogram_bucket(bounds[b]), b);
		assert_int_equal(metrics_histogram_bucket(bounds[b] + 1), b + 1);
	}
	assert_int_equal(metrics_histogram_bucket(UINT64_MAX), METRICS_LATENCY_BUCKETS);
}

static void test_histogram_summed_and_rendered(void **state)
{
	(void)state;
	struct metrics_histogram shard0 = { 0 }, shard1 = { 0 }, sum = { 0 };
	metrics_histogram_observe(&shard0, 50000);        /* 50 us: le 0.0001 */
	metrics_histogram_observe(&shard0, 2000000);      /* 2 ms: le 0.0025 */
	metrics_histogram_observe(&shard1, 20000000000ull); /* 20 s: +Inf only */
	metrics_histogram_sum(&sum, &shard0);
	metrics_histogram_sum(&sum, &shard1);
	assert_int_equal(sum.sum_ns, 50000 + 2000000 + 20000000000ull);
	struct metrics_out o;
	metrics_out_init(&o, 1 << 20, 0, 0);
	metrics_histogram_render(&o, "x_seconds", "api=\"Produce\"", &sum);
	assert_false(o.cut);
	assert_non_null(strstr(o.buf, "x_seconds_bucket{api=\"Produce\",le=\"0.0001\"} 1\n"));
	assert_non_null(strstr(o.buf, "x_seconds_bucket{api=\"Produce\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(o.buf, "x_seconds_bucket{api=\"Produce\",le=\"0.0025\"} 2\n"));
	assert_non_null(strstr(o.buf, "x_seconds_bucket{api=\"Produce\",le=\"10\"} 2\n"));
	assert_non_null(strstr(o.buf, "x_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(o.buf, "x_seconds_sum{api=\"Produce\"} 20.002050000\n"));
	assert_non_null(strstr(o.buf, "x_seconds_count{api=\"Produce\"} 3\n"));
	metrics_out_free(&o);
	metrics_out_init(&o, 1 << 20, 0, 0);
	metrics_histogram_render(&o, "y", "", &sum);
	assert_non_null(strstr(o.buf, "y_bucket{le=\"+Inf\"} 3\ny_sum 20.002050000\ny_count 3\n"));
	metrics_out_free(&o);
}

static void test_grows_then_cuts_at_bound(void **state)
{
	(void)state;
	struct metrics_out o;
	metrics_out_init(&o, 1 << 20, 0, 0);
	char line[101];
	memset(line, 'a', 99);
	line[99] = '\n';
	line[100] = '\0';
	for (int i = 0; i < 5000; i++)
		metrics_printf(&o, "%s", line);
	assert_false(o.cut);
	assert_int_equal(o.len, 500000);
	assert_int_equal(strlen(o.buf), o.len);
	metrics_out_free(&o);
	metrics_out_init(&o, 1000, 0, 0);
	for (int i = 0; i < 20; i++)
		metrics_printf(&o, "%s", line);
	assert_true(o.cut);
	assert_int_equal(o.len % 100, 0); /* whole lines only */
	assert_true(o.len < 1000);
	size_t len = o.len;
	metrics_printf(&o, "b");
	assert_int_equal(o.len, len); /* nothing after a cut */
	metrics_out_free(&o);
}

/* The head room stays before the text, the expected size is allocated at
 * once, and take hands the whole allocation over. */
static void test_head_room_expect_and_take(void **state)
{
	(void)state;
	struct metrics_out o;
	metrics_out_init(&o, 1 << 20, 64, 300000);
	metrics_printf(&o, "%s", "first");
	assert_int_equal(o.cap, 300000);
	assert_ptr_equal(o.buf, o.mem + 64);
	for (int i = 0; i < 20000; i++)
		metrics_printf(&o, "%s", "0123456789");
	assert_int_equal(o.cap, 300000); /* 200,005 bytes fit: never regrown */
	size_t len = o.len;
	char *mem = metrics_out_take(&o);
	assert_non_null(mem);
	assert_memory_equal(mem + 64, "first0123", 9);
	assert_int_equal(strlen(mem + 64), len);
	assert_null(o.mem);
	assert_int_equal(o.len, 0);
	free(mem);
	assert_null(metrics_out_take(&o));
	metrics_out_free(&o);
}

static void test_label_escape(void **state)
{
	(void)state;
	struct metrics_out o;
	metrics_out_init(&o, 4096, 0, 0);
	const char s[] = "a\"b\\c\nd";
	metrics_put_label(&o, s, sizeof(s) - 1);
	assert_string_equal(o.buf, "a\\\"b\\\\c\\nd");
	/* Escapes at either end, and a run with none. */
	const char ends[] = "\"x\"";
	metrics_put_label(&o, ends, sizeof(ends) - 1);
	metrics_put_label(&o, "plain", 5);
	metrics_put_label(&o, "", 0);
	assert_string_equal(o.buf, "a\\\"b\\\\c\\nd\\\"x\\\"plain");
	metrics_out_free(&o);
}

static void test_integers(void **state)
{
	(void)state;
	struct metrics_out o;
	metrics_out_init(&o, 4096, 0, 0);
	const int64_t v[] = { 0, 7, -1, 1234567890123, INT64_MAX, INT64_MIN };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		metrics_put_i64(&o, v[i]);
		metrics_put_str(&o, " ");
	}
	assert_string_equal(o.buf, "0 7 -1 1234567890123 9223372036854775807 -9223372036854775808 ");
	metrics_out_free(&o);
}

static void test_html_escape(void **state)
{
	(void)state;
	struct metrics_out o;
	metrics_out_init(&o, 4096, 0, 0);
	const char s[] = "<script>&'\"\x01\x7f ok";
	metrics_put_html(&o, s, sizeof(s) - 1);
	assert_string_equal(o.buf, "&lt;script&gt;&amp;&#39;&quot; ok");
	metrics_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_histogram_summed_and_rendered),
		cmocka_unit_test(test_grows_then_cuts_at_bound),
		cmocka_unit_test(test_head_room_expect_and_take),
		cmocka_unit_test(test_label_escape),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_html_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
