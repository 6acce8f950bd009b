/* Retention and DeleteRecords: the decision as Kafka makes it (by log start,
 * size and time, oldest first, never past the high watermark, never the
 * empty active segment), and its effect on a real log: segments renamed
 * .deleted and then removed through the reactor, the log start moved, reads
 * below it refused, the start restored at reopen and leftovers removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/log/log_retention.h"
#include "log_fixture.h"

/* ---- the decision ---- */

static struct retention_segment SEGS[8];

static struct retention_input input(uint32_t n, uint64_t size, int64_t ts0)
{
	for (uint32_t i = 0; i < n; i++)
		SEGS[i] = (struct retention_segment){ .base_offset = (int64_t)i * 10, .size = size,
						      .largest_timestamp_ms = ts0 + (int64_t)i * 1000 };
	return (struct retention_input){ .segs = SEGS, .count = n, .end_offset = (int64_t)n * 10,
					 .high_watermark = (int64_t)n * 10, .log_start = 0,
					 .delete_enabled = true, .retention_ms = -1,
					 .retention_bytes = -1, .now_ms = 100000 };
}

static void test_decide_by_time_oldest_first(void **state)
{
	(void)state;
	struct retention_input in = input(4, 100, 90000);
	struct retention_decision d;
	in.retention_ms = 8500; /* segments 0 (90 s) and 1 (91 s) are older than 8.5 s */
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_time, 2);
	assert_int_equal(retention_total(&d), 2);
	/* A younger segment stops the walk even when an older one follows. */
	SEGS[0].largest_timestamp_ms = 99000;
	log_retention_decide(&in, &d);
	assert_int_equal(retention_total(&d), 0);
	/* A timestamp in the future never expires. */
	SEGS[0].largest_timestamp_ms = 200000;
	log_retention_decide(&in, &d);
	assert_int_equal(retention_total(&d), 0);
}

static void test_decide_by_size_counts_every_segment(void **state)
{
	(void)state;
	struct retention_input in = input(5, 100, 0);
	struct retention_decision d;
	in.retention_bytes = 250; /* 500 bytes: 250 too many, two whole segments go */
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_size, 2);
	in.retention_bytes = 500;
	log_retention_decide(&in, &d);
	assert_int_equal(retention_total(&d), 0);
	in.retention_bytes = 0; /* everything, the active segment by a roll */
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_size, 5);
	in.retention_bytes = -1;
	log_retention_decide(&in, &d);
	assert_int_equal(retention_total(&d), 0);
}

static void test_decide_active_segment(void **state)
{
	(void)state;
	struct retention_input in = input(3, 100, 0);
	struct retention_decision d;
	in.retention_ms = 0;
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_time, 3); /* the non-empty active one too: the log rolls */
	SEGS[2].size = 0;
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_time, 2); /* an empty active segment stays */
	SEGS[2].size = 100;
	in.high_watermark = 25; /* appends in flight in the active segment */
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_time, 2);
	in.high_watermark = 15; /* nothing past the high watermark goes */
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_time, 1);
}

static void test_decide_log_start_and_policy(void **state)
{
	(void)state;
	struct retention_input in = input(4, 100, 0);
	struct retention_decision d;
	in.log_start = 25; /* inside segment 2: segments 0 and 1 are wholly below */
	in.delete_enabled = false;
	in.retention_ms = 0;
	in.retention_bytes = 0;
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_start, 2);
	assert_int_equal(retention_total(&d), 2); /* no delete policy: only the log start */
	in.delete_enabled = true;
	in.retention_ms = -1;
	in.retention_bytes = 150; /* after those two, 200 bytes: one more */
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_start, 2);
	assert_int_equal(d.by_size, 0);
	in.retention_bytes = 100;
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_size, 1);
	in.log_start = 40; /* at the end: the active segment has no next one */
	in.retention_bytes = -1;
	log_retention_decide(&in, &d);
	assert_int_equal(d.by_start, 3);
}

/* ---- on a log ---- */

static const int64_t NOW_MS = 1000000; /* the fixture's batches are from t=1000 */

/* Runs the reactor until the deletions (timers, then their ops) are done. */
static void run_until_idle(struct partition_log *l)
{
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while ((partition_log_ops_in_flight(l) > 0 || count_files(".deleted") > 0) &&
	       reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(partition_log_ops_in_flight(l), 0);
}

static void test_retain_by_size_deletes_and_moves_start(void **state)
{
	(void)state;
	E->cfg.delete_enabled = true;
	E->cfg.retention_ms = -1;
	E->cfg.retention_bytes = 15 * BATCH_BYTES;
	E->cfg.file_delete_delay_ms = 0;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 30, 2); /* 3 segments of 10 batches, offsets 0..59 */
	assert_int_equal(count_files(".log"), 3);
	assert_int_equal(partition_log_retain(l, NOW_MS), 1);
	assert_int_equal(partition_log_start_offset(l), 20);
	assert_int_equal(count_files(".deleted"), 3);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 19, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(partition_log_read(l, 20, 1 << 20, true, &rd), KERR_NONE);
	assert_true(rd.len > 0);
	run_until_idle(l);
	assert_int_equal(count_files(".deleted"), 0);
	assert_int_equal(count_files(".log"), 2);
	struct log_stats st;
	partition_log_stats(l, &st);
	assert_int_equal(st.start_offset, 20);
	assert_int_equal(st.deleted_segments, 1);
	assert_int_equal(st.deleted_bytes, 10 * BATCH_BYTES);
	assert_int_equal(st.segments, 2);
	assert_int_equal(st.size_bytes, 20 * BATCH_BYTES);
	partition_log_close(l);
}

static void test_retain_expired_active_segment_rolls(void **state)
{
	(void)state;
	E->cfg.delete_enabled = true;
	E->cfg.retention_ms = 1000;
	E->cfg.retention_bytes = -1;
	E->cfg.file_delete_delay_ms = 0;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 15, 1); /* a closed segment and a non-empty active one */
	assert_int_equal(partition_log_retain(l, NOW_MS), 2);
	assert_int_equal(partition_log_start_offset(l), 15);
	assert_int_equal(partition_log_end_offset(l), 15);
	run_until_idle(l);
	assert_int_equal(count_files(".log"), 1);
	assert_true(file_size(seg_path(15, ".log")) == 0);
	/* Nothing left to delete: the empty active segment stays. */
	assert_int_equal(partition_log_retain(l, NOW_MS), 0);
	append_range(l, 15, 16, 1);
	assert_int_equal(E->appends[15].base_offset, 15);
	partition_log_close(l);
}

static void test_retain_keeps_data_for_a_held_descriptor(void **state)
{
	(void)state;
	E->cfg.delete_enabled = true;
	E->cfg.retention_bytes = 0;
	E->cfg.retention_ms = -1;
	E->cfg.file_delete_delay_ms = 0;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 12, 1);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, BATCH_BYTES, true, &rd), KERR_NONE);
	int held = fcntl(rd.fd, F_DUPFD_CLOEXEC, 0); /* what a fetch in flight holds */
	assert_true(held >= 0);
	assert_int_equal(partition_log_retain(l, NOW_MS), 2);
	run_until_idle(l);
	assert_int_equal(count_files(".deleted"), 0);
	uint8_t b[BATCH_BYTES];
	assert_int_equal(pread(held, b, sizeof(b), 0), (ssize_t)sizeof(b));
	assert_memory_equal(b + 12, E->batches[0] + 12, BATCH_BYTES - 12);
	close(held);
	partition_log_close(l);
}

static void test_delete_records(void **state)
{
	(void)state;
	E->cfg.delete_enabled = true;
	E->cfg.retention_ms = -1;
	E->cfg.retention_bytes = -1;
	E->cfg.file_delete_delay_ms = 60000;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2); /* segments at 0, 20, 40; offsets 0..49 */
	int64_t low = 0;
	assert_int_equal(partition_log_delete_records(l, 51, &low), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(low, -1);
	assert_int_equal(partition_log_delete_records(l, -2, &low), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(partition_log_delete_records(l, 25, &low), KERR_NONE);
	assert_int_equal(low, 25);
	assert_int_equal(count_files(".log"), 2); /* the one holding 25 stays */
	assert_int_equal(count_files(".deleted"), 3); /* waiting for the delay */
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 24, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(partition_log_read(l, 25, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.file_off, 2 * BATCH_BYTES); /* the batch holding 24..25 */
	assert_int_equal(partition_log_delete_records(l, 3, &low), KERR_NONE);
	assert_int_equal(low, 25); /* never backwards */
	assert_int_equal(partition_log_delete_records(l, -1, &low), KERR_NONE);
	assert_int_equal(low, 50);
	E->cfg.delete_enabled = false;
	partition_log_close(l);
	/* Reopened: the start comes from the checkpoint, leftovers go. */
	struct log_open_params p = { .dir = E->dir, .clean_shutdown = true, .cfg = &E->cfg,
				     .reactor = E->reactor, .log_start_offset = 45 };
	char err[256];
	assert_int_equal(partition_log_open(&p, &l, err, sizeof(err)), 0);
	assert_int_equal(count_files(".deleted"), 0);
	assert_int_equal(partition_log_start_offset(l), 45);
	assert_int_equal(partition_log_delete_records(l, 46, &low), KERR_POLICY_VIOLATION);
	partition_log_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_by_time_oldest_first),
		cmocka_unit_test(test_decide_by_size_counts_every_segment),
		cmocka_unit_test(test_decide_active_segment),
		cmocka_unit_test(test_decide_log_start_and_policy),
		cmocka_unit_test_setup_teardown(test_retain_by_size_deletes_and_moves_start,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retain_expired_active_segment_rolls,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retain_keeps_data_for_a_held_descriptor,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_delete_records, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
