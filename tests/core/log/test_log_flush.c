/* The flush policy (log_flush.c): its decisions, the group commit of
 * flush.messages=1 (answers only after an fdatasync that covers them, many
 * appends per fsync, the recovery point moving), flush.messages=N without
 * held answers, flush.ms on the shard's scheduler, and a failed fsync
 * taking the partition offline with KAFKA_STORAGE_ERROR for what it held.
 * Also the free-space floor's default (log_space.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>

#include "core/log/log_flush.h"
#include "core/log/log_internal.h"
#include "core/log/log_space.h"
#include "tests/core/log/log_fixture.h"

static struct log_flush_shard FS;
/* The shard's completed fsyncs when each append was answered. */
static uint64_t fsyncs_at_answer[BATCHES_MAX];

static void on_append_noting_fsyncs(struct log_append *a, int16_t err)
{
	fsyncs_at_answer[a - E->appends] = FS.stats.fsyncs;
	on_append(a, err);
}

static struct partition_log *open_flushing_log(int64_t flush_messages, int64_t flush_ms,
					       uint64_t scheduler_ms)
{
	E->cfg.flush_messages = flush_messages;
	E->cfg.flush_ms = flush_ms;
	log_flush_shard_init(&FS, E->reactor, scheduler_ms);
	struct log_open_params p = { .dir = E->dir, .clean_shutdown = true, .cfg = &E->cfg,
				     .reactor = E->reactor, .flush_shard = &FS };
	struct partition_log *l = NULL;
	char err[256];
	assert_int_equal(partition_log_open(&p, &l, err, sizeof(err)), 0);
	return l;
}

static int16_t submit_noting(struct partition_log *l, int i, int records)
{
	size_t n = make_batch(E->batches[i], records, 1000 + i * 10);
	struct record_batch_header h;
	record_batch_header_read(E->batches[i], &h);
	E->appends[i].done = on_append_noting_fsyncs;
	E->appends[i].log_append_time = -1;
	return partition_log_append(l, E->batches[i], n, &h, &E->appends[i]);
}

/* One turn of a shard's loop: the due fsyncs start, then completions run. */
static void turn(void)
{
	log_flush_shard_turn(&FS);
	reactor_run_once(E->reactor, MS);
}

static void run_for_ms(uint64_t ms)
{
	uint64_t until = reactor_now_ns() + ms * MS;
	while (reactor_now_ns() < until)
		turn();
}

/* settle() with the shard's turns. */
static void settle_turning(struct partition_log *l, int appends)
{
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while ((E->done < appends || partition_log_ops_in_flight(l) > 0 || FS.due_head) &&
	       reactor_now_ns() < deadline)
		turn();
	assert_int_equal(E->done, appends);
	assert_int_equal(partition_log_ops_in_flight(l), 0);
	assert_null(FS.due_head);
}

static void test_decisions(void **state)
{
	(void)state;
	struct log_flush_inputs in = { .flush_messages = INT64_MAX, .flush_ms = INT64_MAX };
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	in.unflushed = 1000000;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	/* Held answers: a group commit, unless one is in flight (they wait for
	 * the next) or the partition is offline. */
	in.held = 3;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_GROUP_COMMIT);
	in.in_flight = true;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	in.in_flight = false;
	in.offline = true;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	in = (struct log_flush_inputs){ .flush_messages = 10, .flush_ms = INT64_MAX, .unflushed = 9 };
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	in.unflushed = 10;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_MESSAGES);
	/* flush.ms is only looked at on a scheduler tick, as in Kafka. */
	in = (struct log_flush_inputs){ .flush_messages = INT64_MAX, .flush_ms = 500, .unflushed = 1,
					.since_flush_ms = 500 };
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	in.tick = true;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_TIME);
	in.since_flush_ms = 499;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
	in.since_flush_ms = 500;
	in.unflushed = 0;
	assert_int_equal(log_flush_decide(&in), LOG_FLUSH_NOTHING);
}

static void test_group_commit_holds_answers_until_fsync(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(1, INT64_MAX, INT64_MAX);
	E->done = 0;
	enum { N = 8 };
	for (int i = 0; i < N; i++)
		assert_int_equal(submit_noting(l, i, 2), KERR_NONE);
	settle_turning(l, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(E->results[i], KERR_NONE);
		assert_true(fsyncs_at_answer[i] >= 1);
	}
	/* Fewer fsyncs than appends: at most one in flight, the next covering
	 * everything that completed meanwhile. */
	assert_true(FS.stats.fsyncs >= 1 && FS.stats.fsyncs < N);
	assert_int_equal(FS.stats.appends, N);
	assert_int_equal(FS.stats.records, 2 * N);
	assert_int_equal(FS.stats.held_acks, N);
	assert_int_equal(partition_log_recovery_point(l), 2 * N);
	uint64_t in_buckets = 0;
	for (int b = 0; b <= LOG_FSYNC_BUCKETS; b++)
		in_buckets += FS.stats.latency_buckets[b];
	assert_int_equal(in_buckets, FS.stats.fsyncs);
	partition_log_close(l);
}

/* Under flush.messages=1 a written batch stays invisible to readers (the
 * high watermark, fetches, time lookups) until the fsync covering it
 * completes, as Kafka moves its high watermark only after the flush. */
static void test_group_commit_hides_records_until_fsync(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(1, INT64_MAX, INT64_MAX);
	E->done = 0;
	assert_int_equal(submit_noting(l, 0, 3), KERR_NONE);
	/* The write completes; without a turn of the shard no fsync starts. */
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (l->pending > 0 && reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, MS);
	assert_int_equal(l->pending, 0);
	assert_int_equal(l->sync.held, 1);
	assert_int_equal(E->done, 0);
	assert_int_equal(partition_log_high_watermark(l), 0);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read(l, 1, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	bool found = true;
	struct log_time_batch tb;
	assert_int_equal(partition_log_time_locate(l, 0, &found, &tb), KERR_NONE);
	assert_false(found);
	settle_turning(l, 1);
	assert_int_equal(E->results[0], KERR_NONE);
	assert_int_equal(partition_log_high_watermark(l), 3);
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	assert_true(rd.len > 0);
	assert_int_equal(partition_log_time_locate(l, 0, &found, &tb), KERR_NONE);
	assert_true(found);
	partition_log_close(l);
}

/* Appends going on across a roll: each fsync syncs one segment, and every
 * answer still waits for the one covering it. */
static void test_group_commit_across_rolls(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(1, INT64_MAX, INT64_MAX);
	E->done = 0;
	enum { N = 25 };
	for (int i = 0; i < N; i++)
		assert_int_equal(submit_noting(l, i, 1), KERR_NONE);
	settle_turning(l, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(E->results[i], KERR_NONE);
	assert_int_equal(FS.stats.appends, N);
	assert_int_equal(count_files(".log"), 3);
	assert_int_equal(partition_log_recovery_point(l), N);
	partition_log_close(l);
}

static void test_flush_messages_counts_offsets_and_holds_nothing(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(5, INT64_MAX, INT64_MAX);
	E->done = 0;
	assert_int_equal(submit_noting(l, 0, 2), KERR_NONE);
	assert_int_equal(submit_noting(l, 1, 2), KERR_NONE);
	settle_turning(l, 2);
	assert_int_equal(FS.stats.fsyncs, 0);
	assert_int_equal(partition_log_recovery_point(l), 0);
	assert_int_equal(submit_noting(l, 2, 1), KERR_NONE);
	settle_turning(l, 3);
	assert_int_equal(FS.stats.fsyncs, 1);
	assert_int_equal(FS.stats.held_acks, 0);
	assert_int_equal(FS.stats.records, 5);
	assert_int_equal(partition_log_recovery_point(l), 5);
	partition_log_close(l);
}

static void test_flush_ms_on_the_scheduler(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(INT64_MAX, 30, 10);
	E->done = 0;
	assert_int_equal(submit_noting(l, 0, 3), KERR_NONE);
	settle_turning(l, 1);
	assert_int_equal(FS.stats.fsyncs, 0);
	assert_true(io_timer_armed(&FS.timer));
	run_for_ms(200);
	assert_int_equal(FS.stats.fsyncs, 1);
	assert_int_equal(partition_log_recovery_point(l), 3);
	/* Flushed and idle: the log left the scheduler, whose timer stopped. */
	assert_null(FS.timed_head);
	assert_false(io_timer_armed(&FS.timer));
	partition_log_close(l);
}

/* Kafka's default scheduler interval never checks flush.ms. */
static void test_flush_ms_without_scheduler_interval(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(INT64_MAX, 0, INT64_MAX);
	E->done = 0;
	assert_int_equal(submit_noting(l, 0, 1), KERR_NONE);
	settle_turning(l, 1);
	assert_false(io_timer_armed(&FS.timer));
	run_for_ms(30);
	assert_int_equal(FS.stats.fsyncs, 0);
	partition_log_close(l);
}

/* fsyncgate: a failed fdatasync is not taken for a success later. */
static void test_failed_group_commit_goes_offline(void **state)
{
	(void)state;
	struct partition_log *l = open_flushing_log(1, INT64_MAX, INT64_MAX);
	E->done = 0;
	assert_int_equal(submit_noting(l, 0, 1), KERR_NONE);
	settle_turning(l, 1);
	assert_int_equal(E->results[0], KERR_NONE);
	/* Writes to /dev/null succeed; fdatasync of it fails (EINVAL). */
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	int null_fd = open("/dev/null", O_WRONLY);
	assert_true(null_fd >= 0);
	assert_true(dup2(null_fd, rd.fd) >= 0);
	close(null_fd);
	struct captured cap;
	capture_start(&cap);
	E->done = 0;
	assert_int_equal(submit_noting(l, 1, 1), KERR_NONE);
	assert_int_equal(submit_noting(l, 2, 1), KERR_NONE);
	settle_turning(l, 2);
	assert_int_equal(capture_count(&cap, "fdatasync failed"), 1);
	assert_int_equal(E->results[1], KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(E->results[2], KERR_KAFKA_STORAGE_ERROR);
	assert_true(partition_log_offline(l));
	assert_int_equal(FS.stats.fsync_failures, 1);
	assert_int_equal(partition_log_recovery_point(l), 1);
	assert_int_equal(submit_noting(l, 3, 1), KERR_KAFKA_STORAGE_ERROR);
	partition_log_close(l);
}

static void test_space_floor_default(void **state)
{
	(void)state;
	const uint64_t GiB = 1ull << 30;
	assert_int_equal(log_space_floor(-1, 100 * (1ull << 20)), 5 * (1ull << 20));
	assert_int_equal(log_space_floor(-1, 1000 * GiB), GiB);
	assert_int_equal(log_space_floor(0, 1000 * GiB), 0);
	assert_int_equal(log_space_floor(12345, 1000 * GiB), 12345);
}

/* Entering and leaving the refusal are logged once each, however many
 * checks see it. */
static void test_space_floor_refuses_and_resumes(void **state)
{
	(void)state;
	static struct log_space sp;
	log_space_init(&sp, "/tmp", INT64_MAX);
	struct captured cap;
	capture_start(&cap);
	assert_int_equal(log_space_check(&sp), 0);
	assert_int_equal(log_space_check(&sp), 0);
	assert_true(log_space_refusing(&sp));
	assert_int_equal(capture_count(&cap, "below sluice.log.dir.min.free.bytes"), 1);
	sp.min_free_bytes = 0;
	capture_start(&cap);
	assert_int_equal(log_space_check(&sp), 0);
	assert_int_equal(log_space_check(&sp), 0);
	assert_false(log_space_refusing(&sp));
	assert_int_equal(capture_count(&cap, "produce accepted"), 1);
	assert_true(atomic_load(&sp.free_bytes) > 0);
	log_space_init(&sp, "/nonexistent-sluice-dir", -1);
	assert_int_equal(log_space_check(&sp), -ENOENT);
	assert_false(log_space_refusing(&sp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test_setup_teardown(test_group_commit_hides_records_until_fsync,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_holds_answers_until_fsync,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_across_rolls, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flush_messages_counts_offsets_and_holds_nothing,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flush_ms_on_the_scheduler, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flush_ms_without_scheduler_interval,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_group_commit_goes_offline, fixture_setup,
						fixture_teardown),
		cmocka_unit_test(test_space_floor_default),
		cmocka_unit_test(test_space_floor_refuses_and_resumes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
