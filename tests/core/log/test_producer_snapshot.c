/* Producer state snapshots and the partition log's producer state: Kafka's
 * snapshot layout byte for byte, round trips, files cut short or damaged
 * rejected with a log line naming them (never a crash), a duplicate of a
 * batch still being written answered after it, the state kept across a
 * clean close, rebuilt from the log without a snapshot, and a failed write
 * taking the state back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/log/log_flush.h"
#include "core/log/log_internal.h"
#include "core/log/producer_snapshot.h"
#include "tests/core/log/log_fixture.h"

#include <signal.h>
#include <time.h>

static const int64_t DAY_MS = 86400000;
/* Past the log's refusal after a failed write (LOG_WRITE_RETRY_BACKOFF_MS). */
enum { LOG_RETRY_WAIT_MS = 1100 };

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remove_files(const char *ext)
{
	DIR *d = opendir(E->dir);
	int n = 0;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)))
		if (strlen(e->d_name) > strlen(ext) &&
		    strcmp(e->d_name + strlen(e->d_name) - strlen(ext), ext) == 0) {
			snprintf(path, sizeof(path), "%s/%s", E->dir, e->d_name);
			n += unlink(path) == 0;
		}
	closedir(d);
	return n;
}

/* Batch i: `count` records from producer pid, epoch, first sequence seq. */
static size_t idem_batch(int i, int count, int64_t pid, int16_t epoch, int32_t seq)
{
	uint8_t *b = E->batches[i];
	size_t n = make_batch(b, count, now_ms());
	be_store(b + 43, (uint64_t)pid, 8);
	be_store(b + 51, (uint16_t)epoch, 2);
	be_store(b + 53, (uint32_t)seq, 4);
	batch_seal(b, n);
	return n;
}

static int order[BATCHES_MAX], answered;

static void on_ordered(struct log_append *a, int16_t err)
{
	order[answered++] = (int)(a - E->appends);
	on_append(a, err);
}

/* Submits idempotent batch i through the producer check, as Produce does;
 * returns the verdict. */
static enum producer_verdict submit_checked(struct partition_log *l, int i, size_t n,
					    struct producer_check *chk)
{
	struct record_batch_header h;
	record_batch_header_read(E->batches[i], &h);
	E->appends[i].done = on_ordered;
	E->appends[i].log_append_time = -1;
	enum producer_verdict v = partition_log_producer_check(l, &h, (struct producer_where){ "t", 0 }, chk,
							&E->appends[i]);
	if (v == PRODUCER_APPEND)
		assert_int_equal(partition_log_append(l, E->batches[i], n, &h, &E->appends[i]), 0);
	return v;
}

/* Loads a snapshot that must fail; returns how many log lines name `needle`. */
static int failed_load_lines(int64_t offset, const char *needle)
{
	struct captured cap;
	struct producer_state ps = { 0 };
	capture_start(&cap);
	int rc = producer_snapshot_load(E->dir, offset, 0, DAY_MS, &ps);
	int lines = capture_count(&cap, needle);
	assert_int_equal(rc, -1);
	assert_int_equal(ps.count, 0);
	producer_state_clear(&ps);
	return lines;
}

static void fill_state(struct producer_state *ps)
{
	struct record_batch_header h = { .magic = 2, .producer_id = 42, .producer_epoch = 3,
					 .base_sequence = 10, .last_offset_delta = 4 };
	assert_int_equal(producer_state_record(ps, &h, 100, 5000), 0);
	h.producer_id = 43;
	h.base_sequence = INT32_MAX - 1; /* wraps to 2 */
	assert_int_equal(producer_state_record(ps, &h, 105, 6000), 0);
	struct producer_entry bare = { .producer_id = 44, .epoch = 1, .coordinator_epoch = 7,
				       .last_timestamp = 7000, .current_txn_first_offset = 90 };
	assert_int_equal(producer_state_put(ps, &bare), 0);
}

static void test_layout_and_round_trip(void **state)
{
	(void)state;
	struct producer_state ps = { 0 }, back = { 0 };
	fill_state(&ps);
	uint8_t *buf;
	size_t len;
	assert_int_equal(producer_snapshot_encode(&ps, &buf, &len), 0);
	assert_int_equal(len, 10 + 3 * 46);
	assert_int_equal(be_load(buf, 2), 1);                             /* version */
	assert_int_equal(be_load(buf + 2, 4), crc32c(0, buf + 6, len - 6)); /* CRC32C */
	assert_int_equal(be_load(buf + 6, 4), 3);
	char why[128];
	assert_int_equal(producer_snapshot_decode(buf, len, 0, DAY_MS, &back, why, sizeof(why)), 0);
	assert_int_equal(back.count, 3);
	const struct producer_entry *e = producer_state_find(&back, 43);
	assert_int_equal(e->epoch, 3);
	assert_int_equal(e->batch_count, 1);
	assert_int_equal(e->batches[0].first_seq, INT32_MAX - 1);
	assert_int_equal(e->batches[0].last_seq, 2);
	assert_int_equal(e->batches[0].first_offset, 105);
	assert_int_equal(e->batches[0].last_offset, 109);
	e = producer_state_find(&back, 44);
	assert_int_equal(e->batch_count, 0);
	assert_int_equal(e->coordinator_epoch, 7);
	assert_int_equal(e->current_txn_first_offset, 90);
	/* Expired at load (but not one in a transaction). */
	producer_state_clear(&back);
	assert_int_equal(producer_snapshot_decode(buf, len, 6000 + DAY_MS, DAY_MS, &back, why,
						  sizeof(why)), 0);
	assert_int_equal(back.count, 1);
	assert_non_null(producer_state_find(&back, 44));
	producer_state_clear(&back);
	free(buf);
	producer_state_clear(&ps);
}

static void test_damaged_bytes_rejected(void **state)
{
	(void)state;
	struct producer_state ps = { 0 }, back = { 0 };
	fill_state(&ps);
	uint8_t *buf;
	size_t len;
	char why[128];
	assert_int_equal(producer_snapshot_encode(&ps, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(producer_snapshot_decode(buf, cut, 0, DAY_MS, &back, why, sizeof(why)), -1);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x5a;
		assert_int_equal(producer_snapshot_decode(buf, len, 0, DAY_MS, &back, why, sizeof(why)), -1);
		buf[i] ^= 0x5a;
	}
	/* A count that does not match the bytes, with a good CRC. */
	be_store(buf + 6, 1000000, 4);
	be_store(buf + 2, crc32c(0, buf + 6, len - 6), 4);
	assert_int_equal(producer_snapshot_decode(buf, len, 0, DAY_MS, &back, why, sizeof(why)), -1);
	assert_string_equal(why, "the entry count does not match the length");
	assert_int_equal(back.count, 0);
	free(buf);
	producer_state_clear(&ps);
}

static void test_bad_files_logged_and_removed(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	fill_state(&ps);
	assert_int_equal(mkdir(E->dir, 0755), 0);
	assert_int_equal(producer_snapshot_write(E->dir, 110, &ps, true), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/00000000000000000110.snapshot", E->dir);
	assert_int_equal(truncate(path, 30), 0);
	assert_int_equal(failed_load_lines(110, path), 1);
	assert_int_equal(access(path, F_OK), -1); /* removed */
	/* A missing one is named too. */
	assert_int_equal(failed_load_lines(120, "00000000000000000120.snapshot"), 1);
	/* Only the newest few are kept; one past the log end is dropped. */
	for (int64_t off = 1; off <= 5; off++)
		assert_int_equal(producer_snapshot_write(E->dir, off * 10, &ps, false), 0);
	assert_int_equal(count_files(".snapshot"), PRODUCER_SNAPSHOTS_KEPT);
	assert_int_equal(producer_snapshot_latest(E->dir, 45), 40);
	assert_int_equal(count_files(".snapshot"), 1);
	producer_state_clear(&ps);
}

static void test_duplicate_in_flight_answered_after_original(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	struct producer_check chk;
	E->done = answered = 0;
	assert_int_equal(submit_checked(l, 0, idem_batch(0, 3, 5, 0, 0), &chk), PRODUCER_APPEND);
	assert_int_equal(submit_checked(l, 1, idem_batch(1, 2, 5, 0, 3), &chk), PRODUCER_APPEND);
	/* The retry of batch 0 before its write completed: it waits. */
	idem_batch(2, 3, 5, 0, 0);
	assert_int_equal(submit_checked(l, 2, BATCH_BYTES, &chk), PRODUCER_DUPLICATE);
	assert_non_null(E->appends[2].log);
	assert_int_equal(submit_checked(l, 3, idem_batch(3, 1, 5, 0, 9), &chk), PRODUCER_REFUSED);
	assert_int_equal(chk.error, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	settle(l, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	assert_int_equal(E->results[2], KERR_NONE);
	assert_int_equal(E->appends[2].base_offset, 0);
	assert_int_equal(partition_log_end_offset(l), 5); /* written once */
	/* Once written, a retry is answered at once. */
	idem_batch(4, 2, 5, 0, 3);
	assert_int_equal(submit_checked(l, 4, BATCH_BYTES, &chk), PRODUCER_DUPLICATE);
	assert_null(E->appends[4].log);
	assert_int_equal(E->appends[4].base_offset, 3);
	partition_log_close(l);
}

/* flush.messages=1: a retry of a batch that is written but waits for its
 * fsync is not answered before that fsync either, and gets the original's
 * offset. */
static void test_duplicate_of_a_held_batch_waits_for_its_fsync(void **state)
{
	(void)state;
	struct log_flush_shard fs;
	log_flush_shard_init(&fs, E->reactor, INT64_MAX);
	E->cfg.flush_messages = 1;
	struct log_open_params p = { .dir = E->dir, .clean_shutdown = true, .cfg = &E->cfg,
				     .reactor = E->reactor, .flush_shard = &fs };
	struct partition_log *l = NULL;
	char err[256];
	assert_int_equal(partition_log_open(&p, &l, err, sizeof(err)), 0);
	struct producer_check chk;
	E->done = answered = 0;
	assert_int_equal(submit_checked(l, 0, idem_batch(0, 3, 5, 0, 0), &chk), PRODUCER_APPEND);
	/* Written; the fsync starts only at the shard's next turn. */
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (l->pending > 0 && reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, MS);
	assert_int_equal(l->pending, 0);
	idem_batch(1, 3, 5, 0, 0);
	assert_int_equal(submit_checked(l, 1, BATCH_BYTES, &chk), PRODUCER_DUPLICATE);
	assert_non_null(E->appends[1].log);
	for (int i = 0; i < 20; i++)
		reactor_run_once(E->reactor, MS);
	assert_int_equal(E->done, 0);
	deadline = reactor_now_ns() + 5000 * MS;
	while ((E->done < 2 || partition_log_ops_in_flight(l) > 0) && reactor_now_ns() < deadline) {
		log_flush_shard_turn(&fs);
		reactor_run_once(E->reactor, MS);
	}
	assert_int_equal(E->done, 2);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(E->results[1], KERR_NONE);
	assert_int_equal(E->appends[1].base_offset, 0);
	assert_int_equal(partition_log_end_offset(l), 3);
	assert_true(fs.stats.fsyncs >= 1);
	log_flush_shard_stop(&fs);
	partition_log_close(l);
}

/* Appends idempotent batches 0..n-1 of producer pid (2 records each). */
static void append_idem(struct partition_log *l, int n, int64_t pid)
{
	struct producer_check chk;
	E->done = answered = 0;
	for (int i = 0; i < n; i++)
		assert_int_equal(submit_checked(l, i, idem_batch(i, 2, pid, 0, 2 * i), &chk),
				 PRODUCER_APPEND);
	settle(l, n);
}

static void expect_duplicate(struct partition_log *l, int i, int64_t pid, int32_t seq,
			     int64_t offset)
{
	struct producer_check chk;
	idem_batch(i, 2, pid, 0, seq);
	assert_int_equal(submit_checked(l, i, BATCH_BYTES, &chk), PRODUCER_DUPLICATE);
	assert_int_equal(E->appends[i].base_offset, offset);
}

static void test_state_across_clean_close(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_idem(l, 25, 8); /* three segments: snapshots at 20 and 40, 50 at close */
	partition_log_close(l);
	assert_int_equal(count_files(".snapshot"), PRODUCER_SNAPSHOTS_KEPT);
	assert_int_equal(access(seg_path(50, ".snapshot"), F_OK), 0);
	l = open_log(true, 0);
	/* Kafka's file keeps the last batch of each producer. */
	expect_duplicate(l, 30, 8, 48, 48);
	struct producer_check chk;
	assert_int_equal(submit_checked(l, 31, idem_batch(31, 2, 8, 0, 51), &chk), PRODUCER_REFUSED);
	partition_log_close(l);
}

static void test_state_rebuilt_from_log(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_idem(l, 25, 8);
	partition_log_close(l);
	/* Every snapshot lost (or never written): the last two segments are
	 * read back, all five last batches known again. */
	assert_int_equal(remove_files(".snapshot"), PRODUCER_SNAPSHOTS_KEPT);
	l = open_log(false, 0);
	for (int k = 0; k < PRODUCER_BATCHES_KEPT; k++)
		expect_duplicate(l, 30 + k, 8, 2 * (20 + k), 2 * (20 + k));
	partition_log_close(l);
	/* A damaged newest snapshot: the older one, then the batches after it. */
	assert_int_equal(truncate(seg_path(50, ".snapshot"), 12), 0);
	l = open_log(false, 0);
	expect_duplicate(l, 40, 8, 48, 48);
	expect_duplicate(l, 41, 8, 44, 44);
	partition_log_close(l);
}

static void test_failed_write_takes_state_back(void **state)
{
	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	struct partition_log *l = open_log(true, 0);
	append_idem(l, 2, 6); /* seq 0..3 at offsets 0..3 */
	struct producer_check chk;
	struct captured cap;
	capture_start(&cap);
	limit_file_size(2 * BATCH_BYTES + BATCH_BYTES / 2);
	E->done = answered = 0;
	assert_int_equal(submit_checked(l, 2, idem_batch(2, 2, 6, 0, 4), &chk), PRODUCER_APPEND);
	/* Its retry while it is written waits for it, and fails with it. */
	idem_batch(3, 2, 6, 0, 4);
	assert_int_equal(submit_checked(l, 3, BATCH_BYTES, &chk), PRODUCER_DUPLICATE);
	settle(l, 2);
	limit_file_size(RLIM_INFINITY);
	capture_count(&cap, "File too large");
	assert_int_equal(E->results[2], KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(E->results[3], KERR_KAFKA_STORAGE_ERROR);
	/* The batch never landed: its retry is appended, not a duplicate. */
	sleep_ms(LOG_RETRY_WAIT_MS);
	E->done = answered = 0;
	assert_int_equal(submit_checked(l, 4, idem_batch(4, 2, 6, 0, 4), &chk), PRODUCER_APPEND);
	settle(l, 1);
	assert_int_equal(E->results[4], KERR_NONE);
	assert_int_equal(E->appends[4].base_offset, 4);
	partition_log_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_round_trip),
		cmocka_unit_test_setup_teardown(test_duplicate_of_a_held_batch_waits_for_its_fsync,
						fixture_setup, fixture_teardown),
		cmocka_unit_test(test_damaged_bytes_rejected),
		cmocka_unit_test_setup_teardown(test_bad_files_logged_and_removed, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_in_flight_answered_after_original,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_state_across_clean_close, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_state_rebuilt_from_log, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_takes_state_back, fixture_setup,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
