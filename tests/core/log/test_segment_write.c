/* The mapped append path (core/log/segment_write.c): small appends copied
 * into the prepared range of the active segment's mapping, the file cut back
 * to its batches at roll and close, the zeros a crash leaves cut by recovery
 * without a warning, and appends going by write when the preparation fails,
 * the batch is larger than sluice.log.append.mapped.max.bytes, or under
 * flush.messages=1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/log/log_internal.h"
#include "tests/core/log/log_fixture.h"

enum { SEGMENT_BATCHES = 10, PREPARE_BYTES = 4096 };

static int mapped_setup(void **state)
{
	fixture_setup(state);
	E->cfg.mapped_append_max_bytes = BATCH_BYTES;
	E->cfg.prefault_max_bytes = PREPARE_BYTES;
	return 0;
}

/* Appends batches [from, to) one at a time, each after the helper's
 * preparation ahead of it has completed. */
static void append_each(struct partition_log *l, int from, int to)
{
	for (int i = from; i < to; i++)
		append_range(l, i, i + 1, 1);
}

/* The segment's bytes in the file are the batches, in order. */
static void assert_file_holds(int64_t base, int from, int to)
{
	int fd = open(seg_path(base, ".log"), O_RDONLY);
	assert_true(fd >= 0);
	uint8_t got[BATCH_BYTES];
	for (int i = from; i < to; i++) {
		assert_int_equal(pread(fd, got, BATCH_BYTES, (off_t)(i - from) * BATCH_BYTES),
				 BATCH_BYTES);
		/* The stored batch has its offset assigned, as the copy in memory. */
		assert_memory_equal(got, E->batches[i], BATCH_BYTES);
	}
	close(fd);
}

static void test_small_appends_are_copied_into_the_mapping(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_each(l, 0, 8);
	/* The first waits for the first range; the rest are copies. */
	assert_true(l->writer.mapped_appends >= 6);
	assert_int_equal(l->writer.stops, 0);
	struct log_stats st;
	partition_log_stats(l, &st);
	assert_int_equal(st.mapped_appends, l->writer.mapped_appends);
	assert_int_equal(st.written_appends, 8 - st.mapped_appends);
	/* While written, the file is sparse up to segment.bytes. */
	assert_int_equal(file_size(seg_path(0, ".log")), SEGMENT_BATCHES * BATCH_BYTES);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 5, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.file_off, 5 * BATCH_BYTES);
	assert_int_equal(rd.len, 3 * BATCH_BYTES);
	assert_file_holds(0, 0, 8);
	partition_log_close(l);
	/* A clean stop leaves exactly the batches. */
	assert_int_equal(file_size(seg_path(0, ".log")), 8 * BATCH_BYTES);
	l = open_log(true, 0);
	assert_int_equal(partition_log_end_offset(l), 8);
	append_each(l, 8, 9);
	partition_log_close(l);
	assert_file_holds(0, 0, 9);
}

/* A preparation runs on the shard's core: the helper prepares a wide reach
 * in steps of at most STEP_BYTES (segment_write.c), one after another. */
static void test_wide_reach_is_prepared_in_steps(void **state)
{
	(void)state;
	enum { STEP_BYTES = 64 << 10, REACH_BYTES = 1 << 20 };
	E->cfg.segment_bytes = 2 * REACH_BYTES;
	E->cfg.prefault_max_bytes = REACH_BYTES;
	struct partition_log *l = open_log(true, 0);
	/* Batches at once: the rate asks for the whole reach. */
	uint64_t widest = 0, deadline = reactor_now_ns() + 5000 * MS;
	append_range(l, 0, 200, 1);
	while (l->writer.in_flight && reactor_now_ns() < deadline) {
		uint64_t asked = l->writer.ask_end - l->writer.ask_start;
		widest = asked > widest ? asked : widest;
		reactor_run_once(E->reactor, 10 * MS);
	}
	assert_false(l->writer.in_flight);
	assert_true(widest <= STEP_BYTES);
	/* The steps went on to the reach the rate asked for. */
	assert_true(l->writer.reach_bytes > STEP_BYTES);
	assert_true(l->writer.ready_end >= l->writer.append_end + l->writer.reach_bytes);
	append_each(l, 200, 202);
	assert_int_equal(l->writer.stops, 0);
	partition_log_close(l);
	assert_file_holds(0, 0, 202);
}

static void test_roll_cuts_the_segment_to_its_batches(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_each(l, 0, 13);
	assert_int_equal(count_files(".log"), 2);
	assert_int_equal(file_size(seg_path(0, ".log")), SEGMENT_BATCHES * BATCH_BYTES);
	assert_int_equal(file_size(seg_path(10, ".log")), SEGMENT_BATCHES * BATCH_BYTES);
	assert_true(l->writer.mapped_appends >= 10);
	assert_file_holds(0, 0, 10);
	partition_log_close(l);
	assert_int_equal(file_size(seg_path(10, ".log")), 3 * BATCH_BYTES);
	assert_file_holds(10, 10, 13);
}

/* Freed without closing, as a kill -9 leaves it: the active segment ends in
 * zeros up to segment.bytes, and the rolled one too when its cut never
 * reached the disk. Recovery cuts them, calling them neither torn nor
 * corrupt, and every batch is there. */
static void test_crash_leaves_zeros_that_recovery_cuts(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_each(l, 0, 14);
	log_free(l);
	assert_int_equal(truncate(seg_path(0, ".log"), 12 * BATCH_BYTES), 0);
	struct captured cap;
	capture_start(&cap);
	l = open_log(false, 0);
	assert_int_equal(capture_count(&cap, "WARN"), 0);
	capture_start(&cap);
	assert_int_equal(partition_log_end_offset(l), 14);
	append_each(l, 14, 15);
	partition_log_close(l);
	assert_int_equal(capture_count(&cap, "WARN"), 0);
	assert_int_equal(file_size(seg_path(0, ".log")), SEGMENT_BATCHES * BATCH_BYTES);
	assert_int_equal(file_size(seg_path(10, ".log")), 5 * BATCH_BYTES);
	assert_file_holds(0, 0, 10);
	assert_file_holds(10, 10, 15);
}

/* A torn batch before the zeros is still damage, and said so. */
static void test_torn_batch_before_zeros_is_reported(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_each(l, 0, 4);
	log_free(l);
	overwrite(seg_path(0, ".log"), 3 * BATCH_BYTES + 100, "X", 1);
	struct captured cap;
	capture_start(&cap);
	l = open_log(false, 0);
	assert_int_equal(capture_count(&cap, "CRC mismatch at byte 3000"), 1);
	assert_int_equal(partition_log_end_offset(l), 3);
	partition_log_close(l);
	assert_int_equal(file_size(seg_path(0, ".log")), 3 * BATCH_BYTES);
}

/* The helper's preparation fails (here: the file was cut under the
 * mapping, so the pages cannot be faulted in; on a full disk the
 * filesystem's block reservation fails the same way): logged once, and the
 * segment's appends go by write, which reports its own errors. */
static void test_failed_preparation_falls_back_to_writes(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	assert_int_equal(truncate(seg_path(0, ".log"), 0), 0);
	struct captured cap;
	capture_start(&cap);
	append_each(l, 0, 6);
	assert_int_equal(capture_count(&cap, "preparing bytes 0-4096 for mapped appends failed"), 1);
	assert_int_equal(l->writer.mapped_appends, 0);
	assert_int_equal(l->writer.stops, 1);
	assert_file_holds(0, 0, 6);
	partition_log_close(l);
	assert_int_equal(file_size(seg_path(0, ".log")), 6 * BATCH_BYTES);
	l = open_log(true, 0);
	assert_int_equal(partition_log_end_offset(l), 6);
	partition_log_close(l);
}

/* Above sluice.log.append.mapped.max.bytes, and with it 0, by write. */
static void test_large_appends_and_zero_limit_go_by_write(void **state)
{
	(void)state;
	E->cfg.mapped_append_max_bytes = BATCH_BYTES - 1;
	struct partition_log *l = open_log(true, 0);
	append_each(l, 0, 4);
	assert_int_equal(l->writer.mapped_appends, 0);
	assert_int_equal(l->writer.unready_appends, 0);
	partition_log_close(l);
	E->cfg.mapped_append_max_bytes = 0;
	l = open_log(true, 0);
	assert_null(l->writer.map);
	append_each(l, 4, 6);
	assert_int_equal(file_size(seg_path(0, ".log")), 6 * BATCH_BYTES);
	partition_log_close(l);
	assert_file_holds(0, 0, 6);
}

/* flush.messages=1 keeps writes: each fdatasync would leave the page being
 * appended to write-protected under writeback, for the shard to wait on. */
static void test_durable_acks_keep_writes(void **state)
{
	(void)state;
	E->cfg.flush_messages = 1;
	struct partition_log *l = open_log(true, 0);
	assert_null(l->writer.map);
	append_each(l, 0, 3);
	assert_int_equal(l->writer.mapped_appends, 0);
	assert_int_equal(file_size(seg_path(0, ".log")), 3 * BATCH_BYTES);
	partition_log_close(l);
	assert_file_holds(0, 0, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_appends_are_copied_into_the_mapping,
						mapped_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_wide_reach_is_prepared_in_steps, mapped_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_roll_cuts_the_segment_to_its_batches, mapped_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash_leaves_zeros_that_recovery_cuts, mapped_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_torn_batch_before_zeros_is_reported, mapped_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_preparation_falls_back_to_writes,
						mapped_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_large_appends_and_zero_limit_go_by_write,
						mapped_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_durable_acks_keep_writes, mapped_setup,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
