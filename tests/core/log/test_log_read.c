/* Reads and time lookups over damaged or unusual logs: a corrupt batch
 * header in an old segment answered with CORRUPT_MESSAGE (logged once, data
 * before it served), never skipped; offsets near the int32 limit of a
 * segment rolling; a gap between segments moving on; time lookups through
 * the time index on a stored batch whose record lengths lie, and on
 * LogAppendTime batches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/core/log/log_fixture.h"

static void three_segments_closed(void)
{
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2); /* segments 0, 20, 40; batch k holds 2k, 2k+1 */
	partition_log_close(l);
}

static void expect_error_at_batch_3(const char *why_logged)
{
	struct partition_log *l = open_log(true, 50);
	struct log_read rd;
	struct captured cap;
	capture_start(&cap);
	for (int i = 0; i < 3; i++)
		assert_int_equal(partition_log_read(l, 6, 1 << 20, true, &rd), KERR_CORRUPT_MESSAGE);
	assert_int_equal(partition_log_read(l, 7, 1 << 20, true, &rd), KERR_CORRUPT_MESSAGE);
	assert_int_equal(capture_count(&cap, why_logged), 1);
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.file_off, 0);
	assert_int_equal(rd.len, 3 * BATCH_BYTES);
	assert_int_equal(partition_log_read(l, 12, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.file_off, 6 * BATCH_BYTES); /* past it, from the next index entry */
	assert_int_equal(partition_log_read(l, 20, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, 10 * BATCH_BYTES);
	partition_log_close(l);
}

static void test_bad_magic_in_old_segment(void **state)
{
	(void)state;
	three_segments_closed();
	overwrite(seg_path(0, ".log"), 3 * BATCH_BYTES + 16, "\x7f", 1);
	expect_error_at_batch_3("bad magic");
}

static void test_batch_length_lie_in_old_segment(void **state)
{
	(void)state;
	three_segments_closed();
	overwrite(seg_path(0, ".log"), 3 * BATCH_BYTES + 8, "\x00\x10\x00\x00", 4);
	expect_error_at_batch_3("runs past");
}

static void test_offsets_backwards_in_old_segment(void **state)
{
	(void)state;
	three_segments_closed();
	uint8_t base[8];
	be_store(base, 2, 8); /* batch 4 claims offsets of batch 1 */
	overwrite(seg_path(0, ".log"), 4 * BATCH_BYTES, base, 8);
	struct partition_log *l = open_log(true, 50);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 8, 1 << 20, true, &rd), KERR_CORRUPT_MESSAGE);
	assert_int_equal(partition_log_read(l, 6, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, BATCH_BYTES);
	partition_log_close(l);
}

/* Batch i with `delta` as its last offset delta (a log takes what it is
 * given: Produce validates). */
static size_t batch_with_delta(int i, int32_t delta)
{
	size_t n = make_batch(E->batches[i], 1, 1000 + i);
	be_store(E->batches[i] + 23, (uint32_t)delta, 4);
	batch_seal(E->batches[i], n);
	return n;
}

static void test_offsets_near_int32_max_roll(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	E->done = 0;
	assert_int_equal(submit(l, 0, batch_with_delta(0, INT32_MAX - 10)), KERR_NONE);
	assert_int_equal(submit(l, 1, batch_with_delta(1, 100)), KERR_NONE);
	settle(l, 2);
	int64_t second = (int64_t)INT32_MAX - 9;
	assert_int_equal(E->appends[1].base_offset, second);
	assert_int_equal(count_files(".log"), 2);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, second + 50, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.file_off, 0);
	uint8_t hdr[8];
	assert_int_equal(pread(rd.fd, hdr, 8, 0), 8);
	assert_int_equal((int64_t)be_load(hdr, 8), second);
	assert_int_equal(partition_log_read(l, 5, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, BATCH_BYTES);
	partition_log_close(l);
	/* Every stored relative offset is a non-negative int32. */
	uint8_t idx[8];
	int fd = open(seg_path(second, ".index"), O_RDONLY);
	assert_int_equal(read(fd, idx, 8), 8);
	close(fd);
	assert_int_equal(be_load(idx, 4), 100);
}

static void test_gap_between_segments_moves_on(void **state)
{
	(void)state;
	three_segments_closed();
	/* Segment 0 lost its last four batches behind the log's back. */
	assert_int_equal(truncate(seg_path(0, ".log"), 6 * BATCH_BYTES), 0);
	unlink(seg_path(0, ".index"));
	struct partition_log *l = open_log(true, 50);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 14, 1 << 20, true, &rd), KERR_NONE);
	assert_true(rd.len > 0);
	uint8_t hdr[8];
	assert_int_equal(pread(rd.fd, hdr, 8, (off_t)rd.file_off), 8);
	assert_int_equal(be_load(hdr, 8), 20);
	partition_log_close(l);
}

/* A stored uncompressed batch of two records, the second's length varint
 * -1 (as a produced zstd batch could carry inside). */
static size_t batch_with_negative_record_length(uint8_t *b)
{
	size_t n = make_batch(b, 2, 5000);
	/* First record: length varint (2 bytes) + body; then the second. */
	size_t first = RECORD_BATCH_HEADER_BYTES;
	size_t rec_len = ((b[first] & 0x7f) | ((size_t)b[first + 1] << 7)) / 2;
	if (b[first] < 0x80)
		rec_len = b[first] / 2;
	size_t second = first + (b[first] < 0x80 ? 1 : 2) + rec_len;
	b[second] = 0x01; /* zig-zag -1 */
	batch_seal(b, n);
	return n;
}

static void test_time_lookup_on_lying_record_length(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 2, 1);
	E->done = 0;
	assert_int_equal(submit(l, 2, batch_with_negative_record_length(E->batches[2])), KERR_NONE);
	settle(l, 1);
	int64_t off = 0, ts = 0;
	assert_int_equal(partition_log_offset_for_time(l, 5001, &off, &ts), KERR_CORRUPT_MESSAGE);
	assert_int_equal(off, -1);
	assert_int_equal(ts, -1);
	assert_int_equal(partition_log_offset_for_time(l, 5000, &off, &ts), KERR_NONE);
	assert_int_equal(off, 2);
	assert_int_equal(ts, 5000);
	partition_log_close(l);
}

static void test_time_locate_names_the_batch(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2);
	E->done = 0;
	size_t n = make_batch(E->batches[25], 3, 9000);
	E->batches[25][22] |= BATCH_ATTR_LOG_APPEND_TIME;
	batch_seal(E->batches[25], n);
	assert_int_equal(submit(l, 25, n), KERR_NONE);
	settle(l, 1);
	bool found = true;
	struct log_time_batch b;
	assert_int_equal(partition_log_time_locate(l, 1000 + 13 * 10 + 1, &found, &b), KERR_NONE);
	assert_true(found);
	assert_int_equal(b.header.base_offset, 26);
	assert_int_equal(b.file_off, 3 * BATCH_BYTES);
	assert_int_equal(b.len, BATCH_BYTES);
	assert_true(b.search_records);
	assert_int_equal(partition_log_time_locate(l, 9001, &found, &b), KERR_NONE);
	assert_true(found);
	assert_false(b.search_records);
	int64_t off, ts;
	assert_int_equal(partition_log_offset_for_time(l, 9001, &off, &ts), KERR_NONE);
	assert_int_equal(off, 50);
	assert_int_equal(ts, 9002);
	assert_int_equal(partition_log_time_locate(l, 99999, &found, &b), KERR_NONE);
	assert_false(found);
	partition_log_close(l);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_bad_magic_in_old_segment),
		T(test_batch_length_lie_in_old_segment),
		T(test_offsets_backwards_in_old_segment),
		T(test_offsets_near_int32_max_roll),
		T(test_gap_between_segments_moves_on),
		T(test_time_lookup_on_lying_record_length),
		T(test_time_locate_names_the_batch),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
