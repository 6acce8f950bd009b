/* Producer state: Kafka's sequence and epoch rules (in order, duplicates of
 * the last five, gaps, old and new epochs, unknown producers, the wrap at
 * INT32_MAX, negative sequences), truncation after a failed write, expiry,
 * and the table growing and shrinking under many producers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "core/log/producer_state.h"
#include "proto/kafka_errors.h"

static struct record_batch_header hdr(int64_t pid, int16_t epoch, int32_t seq, int32_t records)
{
	return (struct record_batch_header){ .magic = 2, .producer_id = pid, .producer_epoch = epoch,
					     .base_sequence = seq, .last_offset_delta = records - 1,
					     .max_timestamp = 1000, .record_count = records };
}

/* Checks a batch and, when it is to be appended, records it at *offset. */
static enum producer_verdict put(struct producer_state *ps, int64_t *offset, int64_t pid,
				 int16_t epoch, int32_t seq, int32_t records,
				 struct producer_check *chk)
{
	struct record_batch_header h = hdr(pid, epoch, seq, records);
	enum producer_verdict v = producer_state_check(ps, &h, (struct producer_where){ "t", 0 }, *offset, chk);
	if (v == PRODUCER_APPEND) {
		assert_int_equal(producer_state_record(ps, &h, *offset, h.max_timestamp), 0);
		*offset += records;
	}
	return v;
}

static void test_in_order_duplicates_and_gaps(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	assert_int_equal(put(&ps, &off, 7, 0, 0, 3, &chk), PRODUCER_APPEND);
	assert_int_equal(put(&ps, &off, 7, 0, 3, 2, &chk), PRODUCER_APPEND);
	/* Retries of either batch: their original offsets, nothing written. */
	assert_int_equal(put(&ps, &off, 7, 0, 0, 3, &chk), PRODUCER_DUPLICATE);
	assert_int_equal(chk.dup.first_offset, 0);
	assert_int_equal(chk.dup.last_offset, 2);
	assert_int_equal(put(&ps, &off, 7, 0, 3, 2, &chk), PRODUCER_DUPLICATE);
	assert_int_equal(chk.dup.first_offset, 3);
	assert_int_equal(off, 5);
	/* Overlapping but not equal, and a gap: out of order. */
	assert_int_equal(put(&ps, &off, 7, 0, 1, 2, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	assert_int_equal(put(&ps, &off, 7, 0, 9, 1, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	assert_non_null(strstr(chk.message, "9 (incoming seq. number), 4 (current end sequence"));
	assert_int_equal(put(&ps, &off, 7, 0, 5, 1, &chk), PRODUCER_APPEND);
	producer_state_clear(&ps);
}

static void test_only_last_five_remembered(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	for (int32_t seq = 0; seq < 7; seq++)
		assert_int_equal(put(&ps, &off, 1, 0, seq, 1, &chk), PRODUCER_APPEND);
	assert_int_equal(put(&ps, &off, 1, 0, 2, 1, &chk), PRODUCER_DUPLICATE);
	assert_int_equal(chk.dup.first_offset, 2);
	assert_int_equal(put(&ps, &off, 1, 0, 1, 1, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	producer_state_clear(&ps);
}

static void test_epochs(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	assert_int_equal(put(&ps, &off, 3, 0, 0, 1, &chk), PRODUCER_APPEND);
	/* A new epoch must start at 0. */
	assert_int_equal(put(&ps, &off, 3, 1, 5, 1, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	assert_non_null(strstr(chk.message, "new epoch"));
	assert_int_equal(put(&ps, &off, 3, 1, 0, 1, &chk), PRODUCER_APPEND);
	/* The old epoch is fenced, its batches no longer duplicates. */
	assert_int_equal(put(&ps, &off, 3, 0, 0, 1, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_INVALID_PRODUCER_EPOCH);
	assert_int_equal(put(&ps, &off, 3, 0, 1, 1, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_INVALID_PRODUCER_EPOCH);
	assert_int_equal(producer_state_find(&ps, 3)->epoch, 1);
	producer_state_clear(&ps);
}

static void test_unknown_producer_wrap_and_negative(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	/* Unknown: any sequence (Kafka 4), here one that wraps. */
	assert_int_equal(put(&ps, &off, 9, 2, INT32_MAX - 1, 3, &chk), PRODUCER_APPEND);
	const struct producer_entry *e = producer_state_find(&ps, 9);
	assert_int_equal(producer_entry_last(e)->last_seq, 0);
	assert_int_equal(put(&ps, &off, 9, 2, INT32_MAX - 1, 3, &chk), PRODUCER_DUPLICATE);
	assert_int_equal(put(&ps, &off, 9, 2, 1, 1, &chk), PRODUCER_APPEND);
	assert_int_equal(put(&ps, &off, 9, 2, -1, 1, &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_INVALID_RECORD);
	producer_state_clear(&ps);
}

static void test_truncate_and_expire(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	assert_int_equal(put(&ps, &off, 1, 0, 0, 2, &chk), PRODUCER_APPEND); /* 0..1 */
	assert_int_equal(put(&ps, &off, 2, 0, 0, 2, &chk), PRODUCER_APPEND); /* 2..3 */
	assert_int_equal(put(&ps, &off, 1, 0, 2, 2, &chk), PRODUCER_APPEND); /* 4..5 */
	/* The write of 2.. failed: producer 1 keeps its first batch, producer
	 * 2 is forgotten, and producer 1's retry of seq 2 is appended again. */
	producer_state_truncate(&ps, 2);
	assert_int_equal(ps.count, 1);
	assert_null(producer_state_find(&ps, 2));
	off = 2;
	assert_int_equal(put(&ps, &off, 1, 0, 2, 2, &chk), PRODUCER_APPEND);
	assert_int_equal(producer_state_expire(&ps, 1000 + 99, 100), 0);
	assert_int_equal(producer_state_expire(&ps, 1000 + 100, 100), 1);
	assert_int_equal(ps.count, 0);
	producer_state_clear(&ps);
}

/* Expiry with timestamps from a snapshot on disk, which may be anything:
 * far in the past is expired, far in the future is not, and neither
 * overflows (the fuzz target segment_recovery found the overflow). */
static void test_expire_with_timestamps_from_disk(void **state)
{
	(void)state;
	const int64_t now = 1796142844119, day = 86400000;
	assert_true(producer_idle_expired(now, -9223372036821153674, day));
	assert_true(producer_idle_expired(now, INT64_MIN, day));
	assert_false(producer_idle_expired(now, INT64_MAX, day));
	assert_false(producer_idle_expired(-now, INT64_MAX, day));
	assert_true(producer_idle_expired(now, now - day, day));
	assert_false(producer_idle_expired(now, now - day + 1, day));
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	assert_int_equal(put(&ps, &off, 1, 0, 0, 2, &chk), PRODUCER_APPEND);
	struct producer_entry e = *producer_state_find(&ps, 1);
	e.last_timestamp = INT64_MIN + 5;
	assert_int_equal(producer_state_put(&ps, &e), 0);
	assert_int_equal(producer_state_expire(&ps, now, day), 1);
	producer_state_clear(&ps);
}

static void test_many_producers(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_check chk;
	int64_t off = 0;
	enum { N = 5000 };
	for (int64_t pid = 0; pid < N; pid++)
		assert_int_equal(put(&ps, &off, pid * 7919, 0, 0, 1, &chk), PRODUCER_APPEND);
	assert_int_equal(ps.count, N);
	/* Removals shift entries back (no tombstones): the rest stay findable. */
	producer_state_truncate(&ps, 0);
	assert_int_equal(ps.count, 0);
	off = 0;
	for (int64_t pid = 0; pid < N; pid++)
		assert_int_equal(put(&ps, &off, pid, 0, 0, 1, &chk), PRODUCER_APPEND);
	producer_state_truncate(&ps, N / 2);
	assert_int_equal(ps.count, N / 2);
	for (int64_t pid = 0; pid < N; pid++)
		assert_true((producer_state_find(&ps, pid) != NULL) == (pid < N / 2));
	producer_state_clear(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_duplicates_and_gaps),
		cmocka_unit_test(test_expire_with_timestamps_from_disk),
		cmocka_unit_test(test_only_last_five_remembered),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_unknown_producer_wrap_and_negative),
		cmocka_unit_test(test_truncate_and_expire),
		cmocka_unit_test(test_many_producers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
