/* Opening a log after clean and unclean stops, with segment and index files
 * built or damaged by hand: a bit flip or a tear in the last batch after a
 * clean stop, the recovery point moving at roll and bounding the re-scan,
 * corruption in flushed or earlier segments kept rather than cut, a crash
 * during a roll leaving an empty or later successor, and missing or corrupt
 * index files rebuilt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/core/log/log_fixture.h"

/* Offset of the first record in the batch a read finds. */
static int64_t read_base(struct partition_log *l, int64_t offset)
{
	struct log_read rd;
	assert_int_equal(partition_log_read(l, offset, 1 << 20, true, &rd), KERR_NONE);
	assert_true(rd.len > 0);
	uint8_t hdr[8];
	assert_int_equal(pread(rd.fd, hdr, 8, (off_t)rd.file_off), 8);
	return (int64_t)be_load(hdr, 8);
}

/* Six one-record batches, every one indexed, closed cleanly. */
static void six_batches_closed(void)
{
	E->cfg.index_interval_bytes = 0;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 6, 1);
	partition_log_close(l);
}

static void expect_five_and_append(void)
{
	struct partition_log *l = open_log(true, 6);
	assert_int_equal(partition_log_end_offset(l), 5);
	assert_int_equal(file_size(seg_path(0, ".log")), 5 * BATCH_BYTES);
	append_range(l, 6, 7, 1);
	assert_int_equal(E->appends[6].base_offset, 5);
	assert_int_equal(read_base(l, 0), 0);
	assert_int_equal(read_base(l, 5), 5);
	partition_log_close(l);
}

static void test_clean_start_after_bit_flip_in_last_batch(void **state)
{
	(void)state;
	six_batches_closed();
	flip_bit(seg_path(0, ".log"), 5 * BATCH_BYTES + 500);
	expect_five_and_append();
}

static void test_clean_start_after_torn_last_batch(void **state)
{
	(void)state;
	six_batches_closed();
	assert_int_equal(truncate(seg_path(0, ".log"), 5 * BATCH_BYTES + 300), 0);
	expect_five_and_append();
}

static void test_clean_start_with_corrupt_index(void **state)
{
	(void)state;
	six_batches_closed();
	uint8_t junk[48];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	overwrite(seg_path(0, ".index"), 0, junk, sizeof(junk));
	struct partition_log *l = open_log(true, 6);
	assert_int_equal(partition_log_end_offset(l), 6);
	for (int64_t o = 0; o < 6; o++)
		assert_int_equal(read_base(l, o), o);
	partition_log_close(l);
}

static void test_recovery_point_moves_at_roll(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2); /* three segments: 0, 20, 40 */
	assert_int_equal(partition_log_recovery_point(l), 40);
	int64_t rp, start;
	partition_log_checkpoint_offsets(l, &rp, &start);
	assert_int_equal(rp, 40);
	assert_int_equal(start, 0);
	partition_log_close(l);
}

/* Three segments, then a bit flip in batch 3 (offsets 6-7) of the first. */
static void three_segments_with_flip(void)
{
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2);
	partition_log_close(l);
	flip_bit(seg_path(0, ".log"), 3 * BATCH_BYTES + 700);
}

static void test_unclean_start_rescans_from_recovery_point(void **state)
{
	(void)state;
	three_segments_with_flip();
	struct captured cap;
	capture_start(&cap);
	struct partition_log *l = open_log(false, 40);
	assert_int_equal(capture_count(&cap, "CRC"), 0); /* the flushed segments are not read */
	assert_int_equal(partition_log_end_offset(l), 50);
	assert_int_equal(file_size(seg_path(0, ".log")), 10 * BATCH_BYTES);
	partition_log_close(l);
}

/* An old checkpoint: the flipped segment is re-scanned, but the damage is
 * no torn write, so nothing is cut and no later segment removed. */
static void test_corrupt_earlier_segment_keeps_later_ones(void **state)
{
	(void)state;
	three_segments_with_flip();
	struct partition_log *l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 50);
	assert_int_equal(count_files(".log"), 3);
	assert_int_equal(file_size(seg_path(0, ".log")), 10 * BATCH_BYTES);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 6, 1 << 20, true, &rd), KERR_CORRUPT_MESSAGE);
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, 3 * BATCH_BYTES); /* served up to the bad batch */
	assert_int_equal(read_base(l, 8), 8);
	assert_int_equal(read_base(l, 44), 44);
	partition_log_close(l);
}

static void test_flushed_segment_with_bad_header_keeps_later_ones(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2);
	partition_log_close(l);
	overwrite(seg_path(0, ".log"), 3 * BATCH_BYTES + 16, "\x7f", 1); /* magic */
	unlink(seg_path(0, ".index")); /* rebuilt from the headers */
	l = open_log(false, 40);
	assert_int_equal(partition_log_end_offset(l), 50);
	assert_int_equal(count_files(".log"), 3);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 6, 1 << 20, true, &rd), KERR_CORRUPT_MESSAGE);
	assert_int_equal(read_base(l, 20), 20);
	partition_log_close(l);
}

/* Eight batches in segment 0, of which only the first five landed, and the
 * roll's next segment (base 8) as left by the crash. */
static void crash_during_roll(off_t first_size)
{
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 8, 1);
	partition_log_close(l);
	assert_int_equal(truncate(seg_path(0, ".log"), first_size), 0);
	int fd = open(seg_path(8, ".log"), O_CREAT | O_WRONLY, 0644);
	close(fd);
}

static void expect_contiguous_at_five(void)
{
	struct partition_log *l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 5);
	assert_int_equal(partition_log_high_watermark(l), 5);
	assert_int_equal(count_files(".log"), 1);
	assert_int_equal(read_base(l, 4), 4);
	append_range(l, 8, 9, 1);
	assert_int_equal(E->appends[8].base_offset, 5);
	assert_int_equal(read_base(l, 5), 5);
	partition_log_close(l);
}

static void test_crash_during_roll_leaves_empty_successor(void **state)
{
	(void)state;
	crash_during_roll(5 * BATCH_BYTES);
	expect_contiguous_at_five();
}

static void test_crash_during_roll_with_torn_write_and_later_data(void **state)
{
	(void)state;
	crash_during_roll(5 * BATCH_BYTES + 300);
	/* A write to the new segment landed although earlier ones did not. */
	uint8_t b[BATCH_BYTES];
	size_t n = make_batch(b, 1, 5000);
	be_store(b, 8, 8);
	overwrite(seg_path(8, ".log"), 0, b, n);
	expect_contiguous_at_five();
}

static void test_zero_hole_in_earlier_segment(void **state)
{
	(void)state;
	crash_during_roll(8 * BATCH_BYTES);
	static const uint8_t zeros[BATCH_BYTES];
	overwrite(seg_path(0, ".log"), 5 * BATCH_BYTES, zeros, sizeof(zeros));
	expect_contiguous_at_five();
}

static void test_missing_time_index_rebuilt(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2);
	partition_log_close(l);
	unlink(seg_path(0, ".timeindex"));
	unlink(seg_path(20, ".index"));
	l = open_log(true, 50);
	int64_t off, ts;
	assert_int_equal(partition_log_offset_for_time(l, 1000 + 3 * 10 + 1, &off, &ts), KERR_NONE);
	assert_int_equal(off, 7);
	assert_int_equal(ts, 1031);
	assert_int_equal(read_base(l, 33), 32);
	partition_log_close(l);
}

/* An index entry moved by a few bytes still looks sane at open; the read
 * that meets it finds out and rebuilds the index. */
static void test_index_entry_off_by_some_bytes(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2);
	partition_log_close(l);
	uint8_t pos[4];
	be_store(pos, 3 * BATCH_BYTES + 8, 4); /* entry 1: batch 3 */
	overwrite(seg_path(0, ".index"), 8 + 4, pos, 4);
	l = open_log(true, 50);
	for (int64_t o = 0; o < 20; o += 2)
		assert_int_equal(read_base(l, o + 1), o);
	partition_log_close(l);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_clean_start_after_bit_flip_in_last_batch),
		T(test_clean_start_after_torn_last_batch),
		T(test_clean_start_with_corrupt_index),
		T(test_recovery_point_moves_at_roll),
		T(test_unclean_start_rescans_from_recovery_point),
		T(test_corrupt_earlier_segment_keeps_later_ones),
		T(test_flushed_segment_with_bad_header_keeps_later_ones),
		T(test_crash_during_roll_leaves_empty_successor),
		T(test_crash_during_roll_with_torn_write_and_later_data),
		T(test_zero_hole_in_earlier_segment),
		T(test_missing_time_index_rebuilt),
		T(test_index_entry_off_by_some_bytes),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
