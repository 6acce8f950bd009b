/* CRC32C (isa-l against the table version) and record batch v2 validation:
 * every corruption gets its Kafka error code, in plain and compressed batches
 * of every codec (issue 10, defect 7); rewrites keep the CRC valid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "batch_make.h"
#include "proto/kafka_errors.h"

enum { BATCH_CAP = 65536 };

struct batch {
	uint8_t b[BATCH_CAP];
	size_t n;
};

static void put_varint(struct batch *o, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	do {
		uint8_t byte = u & 0x7f;
		u >>= 7;
		o->b[o->n++] = byte | (u ? 0x80 : 0);
	} while (u);
}

static void batch_fix_crc(struct batch *o)
{
	be_store(o->b + 17, crc32c(0, o->b + 21, o->n - 21), 4);
}

/* A valid uncompressed batch of `count` records with keys and a header. */
static void batch_build(struct batch *o, int count, int value_bytes)
{
	memset(o, 0, sizeof(*o));
	o->n = RECORD_BATCH_HEADER_BYTES;
	for (int i = 0; i < count; i++) {
		struct batch rec = { .n = 0 };
		rec.b[rec.n++] = 0;
		put_varint(&rec, i);   /* timestamp delta */
		put_varint(&rec, i);   /* offset delta */
		put_varint(&rec, 2);
		memcpy(rec.b + rec.n, "k1", 2);
		rec.n += 2;
		put_varint(&rec, value_bytes);
		memset(rec.b + rec.n, 'v', (size_t)value_bytes);
		rec.n += (size_t)value_bytes;
		put_varint(&rec, 1);   /* one header */
		put_varint(&rec, 1);
		rec.b[rec.n++] = 'h';
		put_varint(&rec, -1);  /* null header value */
		put_varint(o, (int64_t)rec.n);
		memcpy(o->b + o->n, rec.b, rec.n);
		o->n += rec.n;
	}
	be_store(o->b + 8, o->n - 12, 4);
	o->b[16] = 2;
	be_store(o->b + 23, (uint32_t)(count - 1), 4);
	be_store(o->b + 27, 1000, 8);
	be_store(o->b + 35, 1000 + (uint64_t)count - 1, 8);
	be_store(o->b + 43, (uint64_t)-1, 8);
	be_store(o->b + 51, 0xFFFF, 2);
	be_store(o->b + 53, 0xFFFFFFFF, 4);
	be_store(o->b + 57, (uint32_t)count, 4);
	batch_fix_crc(o);
}

static int16_t validate(const struct batch *o, uint32_t max)
{
	struct batch_limits lim = { .max_batch_bytes = max };
	struct batch_verdict v;
	record_batch_validate(o->b, o->n, &lim, &v);
	return v.error_code;
}

static void test_crc32c_vectors(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283);
	uint8_t buf[4099];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off < sizeof(buf); len += 97)
			assert_int_equal(crc32c(0, buf + off, len), crc32c_sw(0, buf + off, len));
	assert_int_equal(crc32c(crc32c(0, buf, 1000), buf + 1000, 3000), crc32c(0, buf, 4000));
}

static void test_valid_batch(void **state)
{
	(void)state;
	struct batch o;
	batch_build(&o, 5, 100);
	struct batch_limits lim = { .max_batch_bytes = 1 << 20 };
	struct batch_verdict v;
	record_batch_validate(o.b, o.n, &lim, &v);
	assert_int_equal(v.error_code, KERR_NONE);
	assert_int_equal(v.header.record_count, 5);
	assert_int_equal(v.header.last_offset_delta, 4);
	assert_int_equal(v.header.max_timestamp, 1004);
	assert_int_equal(record_batch_total_bytes(&v.header), o.n);
}

static void test_corruptions(void **state)
{
	(void)state;
	struct batch o;
	batch_build(&o, 3, 50);
	o.b[o.n - 1] ^= 1;
	assert_int_equal(validate(&o, 1 << 20), KERR_CORRUPT_MESSAGE);

	batch_build(&o, 3, 50);
	assert_int_equal(validate(&o, (uint32_t)o.n - 1), KERR_MESSAGE_TOO_LARGE);

	for (size_t cut = 0; cut < o.n; cut++) {
		struct batch_limits lim = { .max_batch_bytes = 1 << 20 };
		struct batch_verdict v;
		record_batch_validate(o.b, cut, &lim, &v);
		assert_int_not_equal(v.error_code, KERR_NONE);
	}

	struct batch two;
	batch_build(&two, 3, 50);
	memcpy(two.b + two.n, o.b, o.n);
	two.n += o.n;
	assert_int_equal(validate(&two, 1 << 20), KERR_INVALID_RECORD);

	batch_build(&o, 3, 50);
	o.b[16] = 1;
	assert_int_equal(validate(&o, 1 << 20), KERR_INVALID_RECORD);

	batch_build(&o, 3, 50);
	be_store(o.b + 23, 5, 4);
	batch_fix_crc(&o);
	assert_int_equal(validate(&o, 1 << 20), KERR_INVALID_RECORD);

	batch_build(&o, 3, 50);
	be_store(o.b + 57, 4, 4);   /* count says 4, three are there */
	be_store(o.b + 23, 3, 4);
	batch_fix_crc(&o);
	assert_int_equal(validate(&o, 1 << 20), KERR_INVALID_RECORD);

	batch_build(&o, 3, 50);
	be_store(o.b + 21, 5, 2);   /* codec 5 */
	batch_fix_crc(&o);
	assert_int_equal(validate(&o, 1 << 20), KERR_UNSUPPORTED_COMPRESSION_TYPE);

	batch_build(&o, 3, 50);
	be_store(o.b + 21, BATCH_ATTR_CONTROL, 2);
	batch_fix_crc(&o);
	assert_int_equal(validate(&o, 1 << 20), KERR_INVALID_RECORD);

	batch_build(&o, 2, 10);
	o.b[RECORD_BATCH_HEADER_BYTES + 3] = 4; /* first record's offset delta: 2 */
	batch_fix_crc(&o);
	assert_int_equal(validate(&o, 1 << 20), KERR_INVALID_RECORD);

	batch_build(&o, 1, 10);
	o.b[RECORD_BATCH_HEADER_BYTES] = 0x7e; /* record length far past the batch */
	batch_fix_crc(&o);
	assert_int_equal(validate(&o, 1 << 20), KERR_INVALID_RECORD);
}

static void test_rewrites_keep_crc(void **state)
{
	(void)state;
	struct batch o;
	batch_build(&o, 4, 20);
	record_batch_assign_offset(o.b, 123456, 7);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(o.b, o.n, true, &h), RECORD_SCAN_OK);
	assert_int_equal(h.base_offset, 123456);
	assert_int_equal(h.partition_leader_epoch, 7);
	record_batch_set_log_append_time(o.b, o.n, 99999);
	assert_int_equal(record_batch_scan(o.b, o.n, true, &h), RECORD_SCAN_OK);
	assert_int_equal(h.max_timestamp, 99999);
	assert_true(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
	assert_int_equal(validate(&o, 1 << 20), KERR_NONE);
}

static void test_scan(void **state)
{
	(void)state;
	struct batch o;
	struct record_batch_header h;
	batch_build(&o, 2, 30);
	assert_int_equal(record_batch_scan(o.b, o.n - 1, true, &h), RECORD_SCAN_TORN);
	assert_int_equal(record_batch_scan(o.b, 20, true, &h), RECORD_SCAN_TORN);
	o.b[o.n - 2] ^= 0x40;
	assert_int_equal(record_batch_scan(o.b, o.n, true, &h), RECORD_SCAN_CORRUPT);
	assert_int_equal(record_batch_scan(o.b, o.n, false, &h), RECORD_SCAN_OK);
	o.b[16] = 7;
	assert_int_equal(record_batch_scan(o.b, o.n, false, &h), RECORD_SCAN_CORRUPT);
}

enum { INFLATED_MAX = 4 << 20 };

static int16_t validate_bb(const struct bytes_buf *b, size_t inflated_max)
{
	struct batch_limits lim = { .max_batch_bytes = 1 << 30, .max_inflated_bytes = inflated_max };
	struct batch_verdict v;
	record_batch_validate(b->b, b->n, &lim, &v);
	return v.error_code;
}

/* Records of every codec, plain included, small and large enough that
 * records straddle the walk's windows (one record larger than a window). */
static void test_compressed_valid(void **state)
{
	(void)state;
	struct bytes_buf many = bb_records(1000, 1000);
	struct bytes_buf huge = bb_records(3, 150000);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &many, 1000);
		assert_int_equal(validate_bb(&b, INFLATED_MAX), KERR_NONE);
		assert_int_equal(validate_bb(&b, many.n), KERR_NONE);
		bb_free(&b);
		b = batch_make(codec, &huge, 3);
		assert_int_equal(validate_bb(&b, INFLATED_MAX), KERR_NONE);
		bb_free(&b);
	}
	bb_free(&many);
	bb_free(&huge);
}

static void test_compressed_garbage(void **state)
{
	(void)state;
	uint8_t junk[512];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	struct bytes_buf recs = bb_records(5, 20);
	for (int codec = 1; codec < TEST_CODECS; codec++) {
		struct bytes_buf g = batch_wrap(test_codec_attr(codec), junk, sizeof(junk), 5);
		assert_int_equal(validate_bb(&g, INFLATED_MAX), KERR_CORRUPT_MESSAGE);
		bb_free(&g);
		/* A good payload with bytes after its end, and one cut short. */
		struct bytes_buf b = batch_make(codec, &recs, 5);
		size_t payload = b.n - RECORD_BATCH_HEADER_BYTES;
		struct bytes_buf t = { 0 };
		bb_put(&t, b.b + RECORD_BATCH_HEADER_BYTES, payload);
		bb_put(&t, "trailing", 8);
		struct bytes_buf tb = batch_wrap(test_codec_attr(codec), t.b, t.n, 5);
		assert_int_equal(validate_bb(&tb, INFLATED_MAX), KERR_CORRUPT_MESSAGE);
		struct bytes_buf cut = batch_wrap(test_codec_attr(codec), t.b, payload - 3, 5);
		assert_int_equal(validate_bb(&cut, INFLATED_MAX), KERR_CORRUPT_MESSAGE);
		bb_free(&cut);
		bb_free(&tb);
		bb_free(&t);
		bb_free(&b);
	}
	bb_free(&recs);
}

/* Counts that do not match the records: more claimed (1,000,000 and
 * 2^31-1, with a matching lastOffsetDelta), fewer claimed. */
static void test_compressed_counts(void **state)
{
	(void)state;
	struct bytes_buf recs = bb_records(3, 20);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		int32_t claims[] = { 1000000, INT32_MAX, 4, 2, 1 };
		for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
			struct bytes_buf b = batch_make(codec, &recs, claims[i]);
			assert_int_equal(validate_bb(&b, INFLATED_MAX), KERR_INVALID_RECORD);
			bb_free(&b);
		}
	}
	bb_free(&recs);
}

/* Bad inner records: length -1, a length past the payload, offset deltas
 * not 0..n-1, a key longer than its record, bytes after the last record. */
static void test_compressed_bad_records(void **state)
{
	(void)state;
	struct bytes_buf bad[5] = { { 0 } };
	bb_record(&bad[0], 0, 0, 10);
	bb_varint(&bad[0], -1);
	bb_fill(&bad[0], 0x41, 30);
	bb_record(&bad[1], 0, 0, 10);
	bb_varint(&bad[1], 100000);
	bb_fill(&bad[1], 0x41, 30);
	bb_record(&bad[2], 0, 0, 10);
	bb_record(&bad[2], 10, 2, 10);
	bb_varint(&bad[3], 8);
	bb_put(&bad[3], "\0\0\0\x40", 4); /* key length 32 in a record of 8 bytes */
	bb_fill(&bad[3], 0, 4);
	bb_record(&bad[3], 0, 1, 1);
	bb_record(&bad[4], 0, 0, 10);
	bb_record(&bad[4], 10, 1, 10);
	bb_put(&bad[4], "\x02", 1);
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		for (size_t i = 0; i < 5; i++) {
			struct bytes_buf b = batch_make(codec, &bad[i], 2);
			assert_int_equal(validate_bb(&b, INFLATED_MAX), KERR_INVALID_RECORD);
			bb_free(&b);
		}
	}
	for (size_t i = 0; i < 5; i++)
		bb_free(&bad[i]);
}

/* Records inflating past the bound: MESSAGE_TOO_LARGE, found while
 * inflating (the bomb is never inflated whole). */
static void test_compressed_bomb(void **state)
{
	(void)state;
	struct bytes_buf recs = { 0 };
	bb_record(&recs, 0, 0, 6 << 20);
	for (int codec = 1; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, 1);
		assert_true(b.n < (1 << 20));
		assert_int_equal(validate_bb(&b, INFLATED_MAX), KERR_MESSAGE_TOO_LARGE);
		assert_int_equal(validate_bb(&b, 8 << 20), KERR_NONE);
		bb_free(&b);
	}
	bb_free(&recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_valid_batch),
		cmocka_unit_test(test_corruptions),
		cmocka_unit_test(test_rewrites_keep_crc),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_compressed_valid),
		cmocka_unit_test(test_compressed_garbage),
		cmocka_unit_test(test_compressed_counts),
		cmocka_unit_test(test_compressed_bad_records),
		cmocka_unit_test(test_compressed_bomb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
