/* record_batch_find_time on stored batches of every codec: the first record
 * at or after a timestamp; and on bytes that cannot be trusted (a record
 * length of -1, truncation, payloads that inflate past the bound, garbage,
 * every single-byte corruption), which must be refused without reading
 * outside the batch (run under ASan); and the records' largest timestamp
 * that validation finds for the header to carry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "batch_make.h"

enum { INFLATED_MAX = 64 << 20 };

static int find(const struct bytes_buf *b, int64_t ts, size_t inflated_max, int64_t *offset,
		int64_t *timestamp)
{
	*offset = *timestamp = -7;
	return record_batch_find_time(b->b, b->n, ts, inflated_max, offset, timestamp);
}

static void test_finds_first_record_at_or_after(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(50, 100);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 50);
		int64_t off, ts;
		assert_int_equal(find(&b, 0, INFLATED_MAX, &off, &ts), 1);
		assert_int_equal(off, 500);
		assert_int_equal(ts, 1000);
		assert_int_equal(find(&b, 1125, INFLATED_MAX, &off, &ts), 1);
		assert_int_equal(off, 513);
		assert_int_equal(ts, 1130);
		assert_int_equal(find(&b, 1490, INFLATED_MAX, &off, &ts), 1);
		assert_int_equal(off, 549);
		assert_int_equal(find(&b, 1491, INFLATED_MAX, &off, &ts), 0);
		assert_int_equal(off, -7);
		bb_free(&b);
	}
	bb_free(&recs);
}

/* A record whose length varint is -1 (the heap overflow of issue 10,
 * defect 1): refused in every codec, whatever timestamp is looked for. */
static void test_record_length_minus_one(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(2, 10);
	bb_varint(&recs, -1);
	bb_fill(&recs, 0x55, 40);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 3);
		int64_t off, ts;
		assert_int_equal(find(&b, 1015, INFLATED_MAX, &off, &ts), -EINVAL);
		assert_int_equal(find(&b, INT64_MAX, INFLATED_MAX, &off, &ts), -EINVAL);
		bb_free(&b);
	}
	bb_free(&recs);
}

static void test_truncated(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(20, 300);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 20);
		int64_t off, ts;
		for (size_t cut = 0; cut < b.n; cut += 7)
			assert_int_equal(record_batch_find_time(b.b, cut, INT64_MAX, INFLATED_MAX, &off, &ts),
					 -EINVAL);
		/* The header agrees with the bytes, the payload is cut short. */
		struct bytes_buf cut = batch_wrap(test_codec_attr(codec), b.b + RECORD_BATCH_HEADER_BYTES,
						  (b.n - RECORD_BATCH_HEADER_BYTES) * 2 / 3, 20);
		assert_int_equal(find(&cut, INT64_MAX, INFLATED_MAX, &off, &ts), -EINVAL);
		bb_free(&cut);
		bb_free(&b);
	}
	bb_free(&recs);
}

/* Inflating past the bound is -EMSGSIZE, but a record found before the
 * bound is found: the lookup stops at its first match. Snappy decodes whole
 * blocks, so a block that would pass the bound is refused before it is
 * decoded. */
static void test_inflated_bound(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(200, 1000);
	for (int codec = 1; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 200);
		int64_t off, ts;
		assert_int_equal(find(&b, INT64_MAX, recs.n - 1, &off, &ts), -EMSGSIZE);
		assert_int_equal(find(&b, INT64_MAX, recs.n, &off, &ts), 0);
		if (test_codec_attr(codec) == CODEC_SNAPPY) {
			assert_int_equal(find(&b, 1000, 2000, &off, &ts), -EMSGSIZE);
		} else {
			assert_int_equal(find(&b, 1000, 2000, &off, &ts), 1);
			assert_int_equal(off, 500);
		}
		bb_free(&b);
	}
	bb_free(&recs);
}

static void test_garbage_and_trailing_bytes(void **state)
{
	(void)state;
	uint8_t junk[300];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 17);
	struct bytes_buf recs = bb_records(5, 20);
	for (int codec = 1; codec < TEST_CODECS; codec++) {
		int64_t off, ts;
		struct bytes_buf g = batch_wrap(test_codec_attr(codec), junk, sizeof(junk), 5);
		assert_int_equal(find(&g, 0, INFLATED_MAX, &off, &ts), -EINVAL);
		bb_free(&g);
		struct bytes_buf b = batch_make(codec, &recs, 5);
		struct bytes_buf t = batch_wrap(test_codec_attr(codec), b.b + RECORD_BATCH_HEADER_BYTES,
						b.n - RECORD_BATCH_HEADER_BYTES, 5);
		bb_put(&t, "xyz", 3);
		be_store(t.b + 8, t.n - 12, 4);
		assert_int_equal(find(&t, INT64_MAX, INFLATED_MAX, &off, &ts), -EINVAL);
		bb_free(&t);
		bb_free(&b);
	}
	bb_free(&recs);
}

/* More records claimed than there are, and a count below zero. */
static void test_counts(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(3, 20);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		int64_t off, ts;
		struct bytes_buf b = batch_make(codec, &recs, 1000000);
		assert_int_equal(find(&b, INT64_MAX, INFLATED_MAX, &off, &ts), -EINVAL);
		assert_int_equal(find(&b, 1010, INFLATED_MAX, &off, &ts), 1);
		bb_free(&b);
		b = batch_make(codec, &recs, -1);
		assert_int_equal(find(&b, 0, INFLATED_MAX, &off, &ts), -EINVAL);
		bb_free(&b);
		b = batch_make(codec, &recs, 2);
		assert_int_equal(find(&b, INT64_MAX, INFLATED_MAX, &off, &ts), -EINVAL);
		bb_free(&b);
	}
	bb_free(&recs);
}

/* Every byte of small batches flipped in turn: any answer but a read
 * outside the batch (ASan) is acceptable. */
static void test_every_byte_flipped(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(4, 30);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 4);
		for (size_t i = 0; i < b.n; i++) {
			for (int bit = 0; bit < 8; bit += 3) {
				b.b[i] ^= (uint8_t)(1u << bit);
				int64_t off, ts;
				int rc = find(&b, 1015, 1 << 20, &off, &ts);
				assert_true(rc == 1 || rc == 0 || rc == -EINVAL || rc == -EMSGSIZE);
				b.b[i] ^= (uint8_t)(1u << bit);
			}
		}
		bb_free(&b);
	}
	bb_free(&recs);
}

static void validate(const struct bytes_buf *b, struct batch_verdict *v)
{
	const struct batch_limits lim = { .max_batch_bytes = 1 << 20, .max_inflated_bytes = INFLATED_MAX };
	record_batch_validate(b->b, b->n, &lim, v);
}

/* Validation finds the records' largest timestamp wherever it is (a tie's
 * value once), whatever the header says; rewriting the header with it keeps
 * the batch valid (its CRC is recomputed) and bears it out. Records without
 * timestamps (-1) have -1; in a LogAppendTime batch every record has the
 * header's, until the batch is made CreateTime again. */
static void test_records_max_timestamp(void **state)
{
	(void)state;
	static const int64_t deltas[] = { 30, 90, 90, -5, 10 };
	struct bytes_buf recs = { 0 };
	for (int i = 0; i < 5; i++)
		bb_record(&recs, deltas[i], i, 8);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 5);
		struct batch_verdict v;
		validate(&b, &v);
		assert_int_equal(v.error_code, 0);
		assert_int_equal(v.header.max_timestamp, 1000);
		assert_int_equal(v.records_max_timestamp, 1090);
		record_batch_set_create_time(b.b, b.n, v.records_max_timestamp);
		validate(&b, &v);
		assert_int_equal(v.error_code, 0);
		assert_int_equal(v.header.max_timestamp, 1090);
		assert_int_equal(v.records_max_timestamp, 1090);
		int64_t off, ts;
		assert_int_equal(find(&b, v.header.max_timestamp, INFLATED_MAX, &off, &ts), 1);
		assert_int_equal(off, 501);
		assert_int_equal(ts, 1090);
		bb_free(&b);
	}
	bb_free(&recs);
	recs = (struct bytes_buf){ 0 };
	bb_record(&recs, 0, 0, 8);
	bb_record(&recs, 0, 1, 8);
	struct bytes_buf b = batch_make(0, &recs, 2);
	be_store(b.b + 27, (uint64_t)-1, 8);
	record_batch_set_create_time(b.b, b.n, -1);
	struct batch_verdict v;
	validate(&b, &v);
	assert_int_equal(v.error_code, 0);
	assert_int_equal(v.records_max_timestamp, -1);
	/* A batch that says LogAppendTime: each record's is maxTimestamp. */
	record_batch_set_log_append_time(b.b, b.n, 5000);
	validate(&b, &v);
	assert_int_equal(v.error_code, 0);
	assert_int_equal(v.records_max_timestamp, 5000);
	record_batch_set_create_time(b.b, b.n, 7);
	validate(&b, &v);
	assert_int_equal(v.error_code, 0);
	assert_int_equal(v.header.attributes & BATCH_ATTR_LOG_APPEND_TIME, 0);
	assert_int_equal(v.header.max_timestamp, 7);
	assert_int_equal(v.records_max_timestamp, -1);
	bb_free(&b);
	bb_free(&recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finds_first_record_at_or_after),
		cmocka_unit_test(test_record_length_minus_one),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_inflated_bound),
		cmocka_unit_test(test_garbage_and_trailing_bytes),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_every_byte_flipped),
		cmocka_unit_test(test_records_max_timestamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
