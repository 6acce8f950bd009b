/* Request and response header codecs, and the request arena's bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/arena.h"
#include "proto/header.h"

static void test_request_header_v1(void **state)
{
	(void)state;
	uint8_t buf[] = { 0, 3, 0, 1, 0, 0, 0, 42, 0, 3, 'c', 'l', 'i', 0xAA };
	struct rcursor c;
	struct request_header h;
	rc_init(&c, buf, sizeof(buf));
	request_header_read_fixed(&c, &h);
	assert_int_equal(h.api_key, 3);
	assert_int_equal(h.api_version, 1);
	assert_int_equal(h.correlation_id, 42);
	request_header_read_rest(&c, false, &h);
	assert_int_equal(c.err, RC_OK);
	assert_int_equal(h.client_id.len, 3);
	assert_memory_equal(h.client_id.ptr, "cli", 3);
	assert_int_equal(rc_left(&c), 1);
}

static void test_request_header_v2_tags_and_null_client(void **state)
{
	(void)state;
	/* null client id, then one tagged field (tag 5, 2 bytes) */
	uint8_t buf[] = { 0, 18, 0, 3, 0, 0, 0, 7, 0xFF, 0xFF, 1, 5, 2, 'x', 'y', 0x99 };
	struct rcursor c;
	struct request_header h;
	rc_init(&c, buf, sizeof(buf));
	request_header_read_fixed(&c, &h);
	request_header_read_rest(&c, true, &h);
	assert_int_equal(c.err, RC_OK);
	assert_int_equal(h.client_id.len, -1);
	assert_int_equal(rc_left(&c), 1);
	assert_int_equal(*c.pos, 0x99);
}

static void test_request_header_truncated_everywhere(void **state)
{
	(void)state;
	uint8_t buf[] = { 0, 1, 0, 12, 0, 0, 0, 9, 0, 2, 'a', 'b', 1, 0, 1, 'z' };
	for (size_t len = 0; len < sizeof(buf); len++) {
		uint8_t copy[sizeof(buf)];
		memcpy(copy, buf, len);
		struct rcursor c;
		struct request_header h;
		rc_init(&c, copy, len);
		request_header_read_fixed(&c, &h);
		request_header_read_rest(&c, true, &h);
		assert_int_not_equal(c.err, RC_OK);
		assert_true(c.pos <= c.end);
	}
}

static void test_response_header(void **state)
{
	(void)state;
	uint8_t buf[5];
	struct wcursor w;
	wc_init(&w, buf, sizeof(buf), NULL, 0);
	response_header_write(&w, 0x01020304, true);
	assert_false(w.overflow);
	assert_int_equal(w.pos - w.start, response_header_size(true));
	uint8_t want[] = { 1, 2, 3, 4, 0 };
	assert_memory_equal(buf, want, sizeof(want));
	assert_false(response_header_tagged(18, 3, 3)); /* ApiVersions: always v0 */
	assert_true(response_header_tagged(3, 9, 9));
	assert_false(response_header_tagged(3, 8, 9));
}

static void test_arena_bound(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 100000);
	uint8_t *p = arena_alloc(&a, 1000);
	assert_non_null(p);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(p[i], 0);
	assert_non_null(arena_calloc(&a, 10, 5000));
	assert_null(arena_calloc(&a, 100, 1000)); /* past the bound */
	assert_null(arena_calloc(&a, SIZE_MAX / 2, 4)); /* overflowing count * size */
	assert_non_null(arena_alloc(&a, 16));
	arena_release(&a);
	assert_int_equal(a.used_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_header_v1),
		cmocka_unit_test(test_request_header_v2_tags_and_null_client),
		cmocka_unit_test(test_request_header_truncated_everywhere),
		cmocka_unit_test(test_response_header),
		cmocka_unit_test(test_arena_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
