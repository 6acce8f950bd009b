/* sluice-admin's DescribeLogDirs decoder: a v4 (flexible) and a v1 answer
 * decode to their fields; every truncation, and counts larger than the bytes
 * behind them, are refused; ApiVersions picks the highest version served. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "admin/logdirs_wire.h"

struct frame {
	uint8_t b[512];
	size_t n;
};

static void put(struct frame *f, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		f->b[f->n++] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static void put_str(struct frame *f, const char *s, int flexible)
{
	size_t len = strlen(s);
	if (flexible)
		put(f, len + 1, 1);
	else
		put(f, len, 2);
	memcpy(f->b + f->n, s, len);
	f->n += len;
}

/* One dir "/d" with topic "t", partitions 0 (size 100) and 1 (size 7). */
static struct frame answer(int version)
{
	int flexible = version >= 2;
	struct frame f = {.n = 0};
	put(&f, 35, 4); /* correlation id */
	if (flexible)
		put(&f, 0, 1);
	put(&f, 0, 4); /* throttle */
	if (version >= 3)
		put(&f, 0, 2);
	flexible ? put(&f, 2, 1) : put(&f, 1, 4);
	put(&f, 0, 2);
	put_str(&f, "/d", flexible);
	flexible ? put(&f, 2, 1) : put(&f, 1, 4);
	put_str(&f, "t", flexible);
	flexible ? put(&f, 3, 1) : put(&f, 2, 4);
	for (int p = 0; p < 2; p++) {
		put(&f, (uint64_t)p, 4);
		put(&f, p ? 7 : 100, 8);
		put(&f, 0, 8);
		put(&f, 0, 1);
		if (flexible)
			put(&f, 0, 1);
	}
	if (flexible)
		put(&f, 0, 1); /* topic tags */
	if (version >= 4) {
		put(&f, 1000, 8);
		put(&f, 400, 8);
	}
	if (flexible) {
		put(&f, 0, 1); /* dir tags */
		put(&f, 0, 1); /* body tags */
	}
	return f;
}

static void check_decoded(int version)
{
	struct frame f = answer(version);
	struct logdirs_answer a = {.version = (int16_t)version};
	assert_int_equal(logdirs_decode(f.b, (uint32_t)f.n, &a), 0);
	assert_int_equal(a.dir_count, 1);
	assert_string_equal(a.dirs[0].path, "/d");
	assert_int_equal(a.dirs[0].count, 2);
	assert_int_equal(a.dirs[0].total_bytes, version >= 4 ? 1000 : -1);
	assert_int_equal(a.dirs[0].usable_bytes, version >= 4 ? 400 : -1);
	assert_string_equal(a.parts[0].topic, "t");
	assert_int_equal(a.parts[0].size_bytes, 100);
	assert_int_equal(a.parts[1].partition, 1);
	assert_int_equal(a.parts[1].size_bytes, 7);
	logdirs_answer_free(&a);
}

static void test_decodes_every_version(void **state)
{
	(void)state;
	for (int v = 1; v <= 4; v++)
		check_decoded(v);
}

static void test_truncated_answers_are_refused(void **state)
{
	(void)state;
	for (int v = 1; v <= 4; v++) {
		struct frame f = answer(v);
		for (size_t cut = 0; cut < f.n; cut++) {
			uint8_t *copy = malloc(cut + 1);
			memcpy(copy, f.b, cut);
			struct logdirs_answer a = {.version = (int16_t)v};
			assert_int_equal(logdirs_decode(copy, (uint32_t)cut, &a), -1);
			logdirs_answer_free(&a);
			free(copy);
		}
	}
}

static void test_counts_beyond_the_bytes_are_refused(void **state)
{
	(void)state;
	struct frame f = answer(1);
	/* The partitions' count (v1: after the topic's name) says 1,000,000. */
	size_t at = 4 + 4 + 4 + 2 + 2 + 2 + 4 + 2 + 1;
	f.b[at] = 0x00, f.b[at + 1] = 0x0f, f.b[at + 2] = 0x42, f.b[at + 3] = 0x40;
	struct logdirs_answer a = {.version = 1};
	assert_int_equal(logdirs_decode(f.b, (uint32_t)f.n, &a), -1);
	logdirs_answer_free(&a);
}

static struct frame api_versions(int16_t max)
{
	struct frame f = {.n = 0};
	put(&f, 18, 4);
	put(&f, 0, 2);
	put(&f, 2, 4);
	put(&f, 18, 2), put(&f, 0, 2), put(&f, 4, 2);
	put(&f, 35, 2), put(&f, 1, 2), put(&f, (uint16_t)max, 2);
	return f;
}

static void test_picks_the_highest_common_version(void **state)
{
	(void)state;
	struct frame f = api_versions(4);
	assert_int_equal(logdirs_pick_version(f.b, (uint32_t)f.n), 4);
	f = api_versions(9);
	assert_int_equal(logdirs_pick_version(f.b, (uint32_t)f.n), 4);
	f = api_versions(2);
	assert_int_equal(logdirs_pick_version(f.b, (uint32_t)f.n), 2);
	f = api_versions(0);
	assert_int_equal(logdirs_pick_version(f.b, (uint32_t)f.n), -1);
	f = api_versions(4);
	assert_int_equal(logdirs_pick_version(f.b, (uint32_t)f.n - 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decodes_every_version),
		cmocka_unit_test(test_truncated_answers_are_refused),
		cmocka_unit_test(test_counts_beyond_the_bytes_are_refused),
		cmocka_unit_test(test_picks_the_highest_common_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
