/* The partition log: appends through the reactor, Kafka-format index files,
 * read planning (index lookup, KIP-74, high watermark), rolls, clean reopen,
 * recovery from torn and corrupt tails, time lookups. Damage, recovery and
 * write failures in depth: test_log_recovery.c, test_log_read.c,
 * test_log_write_failure.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/core/log/log_fixture.h"

static void test_append_read_and_limits(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 5, 3); /* offsets 0..14 */
	assert_int_equal(partition_log_end_offset(l), 15);
	assert_int_equal(partition_log_high_watermark(l), 15);
	assert_int_equal(E->appends[2].base_offset, 6);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, 100, true, &rd), 0);
	assert_int_equal(rd.len, BATCH_BYTES);                /* KIP-74: one whole batch */
	assert_int_equal(partition_log_read(l, 0, 100, false, &rd), 0);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read(l, 0, 3 * BATCH_BYTES + 10, true, &rd), 0);
	assert_int_equal(rd.len, 3 * BATCH_BYTES);
	assert_int_equal(partition_log_read(l, 7, 1 << 20, true, &rd), 0); /* mid-batch */
	assert_int_equal(rd.file_off, 2 * BATCH_BYTES);
	assert_int_equal(rd.len, 3 * BATCH_BYTES);
	uint8_t hdr[12];
	assert_int_equal(pread(rd.fd, hdr, 12, (off_t)rd.file_off), 12);
	assert_int_equal(be_load(hdr, 8), 6);                 /* offsets rewritten on disk */
	assert_int_equal(partition_log_read(l, 15, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read(l, 16, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(partition_log_read(l, -1, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	partition_log_close(l);
}

static void test_roll_index_files_and_reopen(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2); /* 10 batches per segment: 3 segments */
	assert_int_equal(count_files(".log"), 3);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 18, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.file_off, 9 * BATCH_BYTES);
	assert_int_equal(rd.len, BATCH_BYTES);                /* stays in its segment */
	assert_int_equal(partition_log_read(l, 20, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.file_off, 0);
	assert_int_equal(rd.len, 10 * BATCH_BYTES);
	char path[128];
	snprintf(path, sizeof(path), "%s/00000000000000000000.index", E->dir);
	int fd = open(path, O_RDONLY);
	uint8_t idx[16];
	assert_int_equal(read(fd, idx, sizeof(idx)), 16);
	close(fd);
	/* Kafka's layout: (int32 relative last offset, int32 position), an entry
	 * for the first batch and then every index interval. */
	assert_int_equal(be_load(idx, 4), 1);
	assert_int_equal(be_load(idx + 4, 4), 0);
	assert_int_equal(be_load(idx + 8, 4), 7);
	assert_int_equal(be_load(idx + 12, 4), 3 * BATCH_BYTES);
	int64_t off, ts;
	partition_log_offset_for_time(l, 1000 + 13 * 10, &off, &ts);
	assert_int_equal(off, 26);
	assert_int_equal(ts, 1130);
	partition_log_offset_for_time(l, 1000 + 13 * 10 + 1, &off, &ts);
	assert_int_equal(off, 27);
	partition_log_offset_for_time(l, 999999, &off, &ts);
	assert_int_equal(off, -1);
	partition_log_max_timestamp(l, &off, &ts);
	assert_int_equal(ts, 1000 + 24 * 10 + 1);
	assert_int_equal(off, 49);
	assert_int_equal(partition_log_sync(l), 0);
	assert_int_equal(partition_log_recovery_point(l), 50);
	partition_log_close(l);
	l = open_log(true, 50);
	assert_int_equal(partition_log_end_offset(l), 50);
	assert_int_equal(partition_log_read(l, 33, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.file_off, 6 * BATCH_BYTES);
	append_range(l, 25, 26, 2);
	assert_int_equal(E->appends[25].base_offset, 50);
	partition_log_close(l);
}

static void test_recovery_truncates_torn_and_corrupt(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 6, 1);
	partition_log_close(l);
	char path[128];
	snprintf(path, sizeof(path), "%s/00000000000000000000.log", E->dir);
	assert_int_equal(truncate(path, 5 * BATCH_BYTES + 300), 0); /* torn last batch */
	l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 5);
	struct stat st;
	stat(path, &st);
	assert_int_equal(st.st_size, 5 * BATCH_BYTES);
	append_range(l, 6, 7, 1);
	assert_int_equal(E->appends[6].base_offset, 5);
	partition_log_close(l);
	int fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, 2 * BATCH_BYTES + 500), 1); /* corrupt batch 2 */
	close(fd);
	l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 2);
	partition_log_close(l);
}

/* segment.ms counts, as in Kafka, from the segment's first batch's max
 * timestamp to the incoming batch's (read back from the file after a
 * reopen), and a full time index rolls too (segment.index.bytes). */
static void test_roll_by_time_and_full_index(void **state)
{
	(void)state;
	E->cfg.segment_ms = 25;
	E->cfg.segment_bytes = 1 << 20;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 7, 1); /* timestamps 1000, 1010, ... 1060 */
	assert_int_equal(count_files(".log"), 3);
	assert_true(file_size(seg_path(3, ".log")) == 3 * BATCH_BYTES);
	assert_true(file_size(seg_path(6, ".log")) == BATCH_BYTES);
	partition_log_close(l);
	l = open_log(true, 0);
	append_range(l, 7, 9, 1); /* 1070, 1080: 20 after the segment's first batch */
	assert_int_equal(count_files(".log"), 3);
	append_range(l, 9, 10, 1); /* 1090: 30 after it */
	assert_int_equal(count_files(".log"), 4);
	partition_log_close(l);

	E->cfg.segment_ms = UINT64_MAX / 2;
	E->cfg.index_interval_bytes = 0;  /* an entry for every batch */
	E->cfg.segment_index_bytes = 24; /* full at two time entries, as Kafka's isFull */
	l = open_log(true, 0);
	append_range(l, 10, 14, 1);
	assert_true(file_size(seg_path(9, ".log")) == 2 * BATCH_BYTES);
	assert_true(file_size(seg_path(11, ".log")) == 2 * BATCH_BYTES);
	assert_true(file_size(seg_path(13, ".log")) == BATCH_BYTES);
	partition_log_close(l);
}

static void test_delete_removes_directory(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 3, 1);
	assert_int_equal(partition_log_delete(l), 0);
	assert_int_equal(access(E->dir, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_read_and_limits, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_roll_index_files_and_reopen, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_truncates_torn_and_corrupt, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_roll_by_time_and_full_index, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_delete_removes_directory, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
