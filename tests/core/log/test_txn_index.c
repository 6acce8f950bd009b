/* The .txnindex entry format (Kafka's TransactionIndex): encoding, and the
 * parse of bytes read back from disk refusing anything that is not a whole,
 * ordered index of the segment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/txn_index.h"

static void test_round_trip_and_layout(void **state)
{
	(void)state;
	struct aborted_txn in[2] = { { 7, 100, 120, 101 }, { 8, 90, 130, 131 } };
	uint8_t buf[2 * TXN_INDEX_ENTRY_BYTES];
	txn_index_encode(buf, &in[0]);
	txn_index_encode(buf + TXN_INDEX_ENTRY_BYTES, &in[1]);
	/* version 0, then the producer id, big-endian */
	static const uint8_t head[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 100 };
	assert_memory_equal(buf, head, sizeof(head));
	struct aborted_txn *out;
	uint32_t n;
	assert_null(txn_index_parse(buf, sizeof(buf), 100, &out, &n));
	assert_int_equal(n, 2);
	assert_memory_equal(out, in, sizeof(in));
	free(out);
	assert_null(txn_index_parse(buf, 0, 100, &out, &n));
	assert_int_equal(n, 0);
	assert_null(out);
}

static void expect_refused(const uint8_t *buf, size_t len, int64_t base, const char *why)
{
	struct aborted_txn *out = (struct aborted_txn *)1;
	uint32_t n = 9;
	const char *got = txn_index_parse(buf, len, base, &out, &n);
	assert_non_null(got);
	assert_non_null(strstr(got, why));
	assert_null(out);
	assert_int_equal(n, 0);
}

static void test_refuses_what_is_not_an_index(void **state)
{
	(void)state;
	uint8_t buf[2 * TXN_INDEX_ENTRY_BYTES];
	struct aborted_txn a = { 7, 100, 120, 101 }, b = { 8, 90, 130, 131 };
	txn_index_encode(buf, &a);
	txn_index_encode(buf + TXN_INDEX_ENTRY_BYTES, &b);
	/* Torn: every length that is not whole entries. */
	for (size_t len = 1; len < sizeof(buf); len++)
		if (len != TXN_INDEX_ENTRY_BYTES)
			expect_refused(buf, len, 100, "whole number");
	/* A marker below the segment's base. */
	expect_refused(buf, sizeof(buf), 121, "below the segment");
	/* Out of order. */
	uint8_t swapped[2 * TXN_INDEX_ENTRY_BYTES];
	txn_index_encode(swapped, &b);
	txn_index_encode(swapped + TXN_INDEX_ENTRY_BYTES, &a);
	expect_refused(swapped, sizeof(swapped), 0, "offset order");
	/* An unknown version, impossible offsets. */
	uint8_t one[TXN_INDEX_ENTRY_BYTES];
	txn_index_encode(one, &a);
	one[1] = 1;
	expect_refused(one, sizeof(one), 0, "version");
	struct aborted_txn bad[] = { { -1, 1, 2, 3 }, { 1, 5, 4, 5 }, { 1, -2, 4, 5 },
				     { 1, 1, 4, 6 }, { 1, 1, 4, -1 } };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		txn_index_encode(one, &bad[k]);
		assert_non_null(txn_index_parse(one, sizeof(one), 0, &(struct aborted_txn *){ 0 },
						&(uint32_t){ 0 }));
	}
}

/* The bounds hold at the edge of the offset space: an entry whose last
 * offset is INT64_MAX parses (its last stable offset may be that too), with
 * no overflow in the check (found by fuzz/txn_index under UBSan). */
static void test_entries_at_the_largest_offset(void **state)
{
	(void)state;
	uint8_t one[TXN_INDEX_ENTRY_BYTES];
	struct aborted_txn *out;
	uint32_t n;
	struct aborted_txn edge[] = { { 7, 100, INT64_MAX, 5 }, { 7, 0, INT64_MAX, INT64_MAX } };
	for (size_t k = 0; k < sizeof(edge) / sizeof(edge[0]); k++) {
		txn_index_encode(one, &edge[k]);
		assert_null(txn_index_parse(one, sizeof(one), 0, &out, &n));
		assert_int_equal(n, 1);
		assert_memory_equal(out, &edge[k], sizeof(edge[k]));
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_layout),
		cmocka_unit_test(test_refuses_what_is_not_an_index),
		cmocka_unit_test(test_entries_at_the_largest_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
