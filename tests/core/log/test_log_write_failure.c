/* Write failures: a short write and the errno behind it (RLIMIT_FSIZE stands
 * in for a full disk: the kernel cuts the write short at the limit and
 * refuses the rest with EFBIG, as it does with ENOSPC), the segment cut back
 * to the high watermark, reads going on, and appends resuming after the
 * backoff; a failed roll likewise; a failed fsync keeping the partition
 * offline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "tests/core/log/log_fixture.h"

static void test_short_write_reverts_and_resumes(void **state)
{
	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 2, 1);
	struct captured cap;
	capture_start(&cap);
	limit_file_size(2 * BATCH_BYTES + BATCH_BYTES / 2);
	E->done = 0;
	assert_int_equal(submit(l, 2, make_batch(E->batches[2], 1, 1020)), KERR_NONE);
	assert_int_equal(submit(l, 3, make_batch(E->batches[3], 1, 1030)), KERR_NONE);
	settle(l, 2);
	/* A retry after the backoff that fails too is not logged again. */
	sleep_ms(1100);
	E->done = 0;
	assert_int_equal(submit(l, 4, make_batch(E->batches[4], 1, 1040)), KERR_NONE);
	settle(l, 1);
	assert_int_equal(E->results[4], KERR_KAFKA_STORAGE_ERROR);
	limit_file_size(RLIM_INFINITY);
	assert_int_equal(capture_count(&cap, "File too large"), 1);
	assert_int_equal(E->results[2], KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(E->results[3], KERR_KAFKA_STORAGE_ERROR);
	assert_false(partition_log_offline(l));
	assert_int_equal(partition_log_high_watermark(l), 2);
	assert_int_equal(partition_log_end_offset(l), 2);
	assert_int_equal(file_size(seg_path(0, ".log")), 2 * BATCH_BYTES);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 1, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, BATCH_BYTES);
	/* Within the backoff appends are refused; after it they go on. */
	assert_int_equal(submit(l, 4, make_batch(E->batches[4], 1, 1040)), KERR_KAFKA_STORAGE_ERROR);
	sleep_ms(1100);
	E->done = 0;
	assert_int_equal(submit(l, 4, make_batch(E->batches[4], 1, 1040)), KERR_NONE);
	capture_start(&cap);
	settle(l, 1);
	assert_int_equal(capture_count(&cap, "writes resumed"), 1);
	assert_int_equal(E->results[4], KERR_NONE);
	assert_int_equal(E->appends[4].base_offset, 2);
	assert_int_equal(partition_log_read(l, 2, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.file_off, 2 * BATCH_BYTES);
	partition_log_close(l);
	l = open_log(true, 0);
	assert_int_equal(partition_log_end_offset(l), 3);
	partition_log_close(l);
}

static void test_failed_roll_refuses_then_retries(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 10, 1);
	/* Something holds the next segment's name: the roll cannot create it. */
	int fd = open(seg_path(10, ".log"), O_CREAT | O_WRONLY, 0644);
	close(fd);
	E->done = 0;
	assert_int_equal(submit(l, 10, make_batch(E->batches[10], 1, 1100)),
			 KERR_KAFKA_STORAGE_ERROR);
	assert_false(partition_log_offline(l));
	unlink(seg_path(10, ".log"));
	sleep_ms(1100);
	append_range(l, 10, 11, 1);
	assert_int_equal(E->appends[10].base_offset, 10);
	assert_int_equal(count_files(".log"), 2);
	partition_log_close(l);
}

static void test_failed_flush_takes_partition_offline(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 10, 1);
	/* The full segment's descriptor now cannot be fsync'd. */
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_true(dup2(p[0], rd.fd) >= 0);
	close(p[0]);
	close(p[1]);
	E->done = 0;
	assert_int_equal(submit(l, 10, make_batch(E->batches[10], 1, 1100)), KERR_NONE);
	settle(l, 1);
	assert_true(partition_log_offline(l));
	assert_int_equal(partition_log_recovery_point(l), 0);
	assert_int_equal(submit(l, 11, make_batch(E->batches[11], 1, 1110)),
			 KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(partition_log_read(l, 0, 100, true, &rd), KERR_KAFKA_STORAGE_ERROR);
	partition_log_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_short_write_reverts_and_resumes, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_roll_refuses_then_retries, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_flush_takes_partition_offline,
						fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
