/* Transactions on a partition log: transactional batches hold the last
 * stable offset until their marker is written, markers are checked against
 * the producer state (epochs, coordinator epochs), and open transactions
 * come back after a clean close (the snapshot) and after an unclean stop
 * (the scan of the log, markers included). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "log_fixture.h"

/* Batch i: `count` records of producer pid's transaction (epoch 0) from
 * sequence seq. */
static size_t make_txn_batch(int i, int count, int64_t pid, int32_t seq)
{
	uint8_t *b = E->batches[i];
	size_t n = make_batch(b, count, 1000 + i);
	be_store(b + 21, BATCH_ATTR_TRANSACTIONAL, 2);
	be_store(b + 43, (uint64_t)pid, 8);
	be_store(b + 51, 0, 2);
	be_store(b + 53, (uint32_t)seq, 4);
	batch_seal(b, n);
	return n;
}

static void append_txn(struct partition_log *l, int i, int count, int64_t pid, int32_t seq)
{
	E->done = 0;
	assert_int_equal(submit(l, i, make_txn_batch(i, count, pid, seq)), KERR_NONE);
	settle(l, 1);
	assert_int_equal(E->results[i], KERR_NONE);
}

static struct log_marker_append markers[8];
static int16_t marker_results[8];

static void on_marker(struct log_append *a, int16_t err)
{
	marker_results[container_of(a, struct log_marker_append, append) - markers] = err;
	E->done++;
}

static int16_t submit_marker(struct partition_log *l, int k, int64_t pid, int16_t epoch,
			     int32_t coordinator_epoch, bool commit)
{
	struct control_marker m = { .producer_id = pid, .producer_epoch = epoch,
				    .coordinator_epoch = coordinator_epoch, .commit = commit };
	markers[k].append.done = on_marker;
	return partition_log_append_marker(l, &m, &markers[k]);
}

static void remove_snapshots(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.snapshot", E->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_markers_and_last_stable_offset(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_txn(l, 0, 3, 1, 0);   /* 0..2, producer 1 */
	append_txn(l, 1, 3, 2, 0);   /* 3..5, producer 2 */
	assert_int_equal(partition_log_high_watermark(l), 6);
	assert_int_equal(partition_log_last_stable_offset(l), 0);
	E->done = 0;
	assert_int_equal(submit_marker(l, 0, 1, 0, 5, true), KERR_NONE);
	assert_int_equal(markers[0].append.base_offset, 6);
	/* Not written yet: producer 1's transaction still holds the LSO. */
	assert_int_equal(partition_log_last_stable_offset(l), 0);
	settle(l, 1);
	assert_int_equal(partition_log_last_stable_offset(l), 3);
	/* A read_committed read stops at the LSO: producer 1's batch only. */
	struct log_read rd;
	assert_int_equal(partition_log_read_below(l, 0, 1 << 20, true, 3, &rd), KERR_NONE);
	assert_int_equal(rd.len, BATCH_BYTES);
	assert_int_equal(rd.next_offset, 3);
	assert_int_equal(partition_log_read_below(l, 3, 1 << 20, true, 3, &rd), KERR_NONE);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read_below(l, 5, 1 << 20, true, 3, &rd), KERR_NONE);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read_below(l, 8, 1 << 20, true, 3, &rd), KERR_OFFSET_OUT_OF_RANGE);
	/* Unbounded, as read_uncommitted: up to the high watermark. */
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.next_offset, 7);
	/* Fenced markers write nothing. */
	assert_int_equal(submit_marker(l, 1, 1, 0, 4, true), KERR_TRANSACTION_COORDINATOR_FENCED);
	append_txn(l, 2, 1, 1, 3);   /* 7, producer 1's next transaction */
	assert_int_equal(partition_log_last_stable_offset(l), 3);
	E->done = 0;
	assert_int_equal(submit_marker(l, 1, 2, 0, 5, false), KERR_NONE); /* 8 */
	settle(l, 1);
	assert_int_equal(partition_log_last_stable_offset(l), 7);
	/* Producer 1 bumps its epoch (the coordinator fenced it): an older
	 * epoch is refused. */
	E->done = 0;
	assert_int_equal(submit_marker(l, 2, 1, 1, 5, false), KERR_NONE); /* 9 */
	settle(l, 1);
	assert_int_equal(submit_marker(l, 3, 1, 0, 5, false), KERR_INVALID_PRODUCER_EPOCH);
	assert_int_equal(partition_log_end_offset(l), 10);
	assert_int_equal(partition_log_last_stable_offset(l), 10);
	partition_log_close(l);
}

static void test_open_transactions_survive_restarts(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_txn(l, 0, 2, 7, 0);   /* 0..1, producer 7 */
	append_txn(l, 1, 2, 8, 0);   /* 2..3, producer 8 */
	E->done = 0;
	assert_int_equal(submit_marker(l, 0, 7, 0, 1, true), KERR_NONE); /* 4 */
	settle(l, 1);
	assert_int_equal(partition_log_last_stable_offset(l), 2);
	partition_log_close(l);
	/* A clean close: the snapshot has producer 8's transaction. */
	l = open_log(true, 0);
	assert_int_equal(partition_log_last_stable_offset(l), 2);
	assert_int_equal(producer_state_find(partition_log_producers(l), 8)->current_txn_first_offset, 2);
	partition_log_close(l);
	/* No snapshot: the scan finds the batches and producer 7's marker. */
	remove_snapshots();
	l = open_log(false, 0);
	assert_int_equal(partition_log_last_stable_offset(l), 2);
	assert_int_equal(producer_state_find(partition_log_producers(l), 7)->current_txn_first_offset, -1);
	assert_int_equal(producer_state_find(partition_log_producers(l), 7)->coordinator_epoch, 1);
	E->done = 0;
	assert_int_equal(submit_marker(l, 1, 8, 0, 1, false), KERR_NONE); /* 5 */
	settle(l, 1);
	assert_int_equal(partition_log_last_stable_offset(l), 6);
	partition_log_close(l);
	remove_snapshots();
	l = open_log(false, 0);
	assert_int_equal(partition_log_last_stable_offset(l), 6);
	partition_log_close(l);
}

static void append_marker(struct partition_log *l, int k, int64_t pid, bool commit)
{
	E->done = 0;
	assert_int_equal(submit_marker(l, k, pid, 0, 0, commit), KERR_NONE);
	settle(l, 1);
	assert_int_equal(marker_results[k], KERR_NONE);
}

static uint32_t aborted(struct partition_log *l, int64_t start, int64_t upper, struct aborted_txn *out)
{
	return partition_log_aborted_txns(l, start, upper, out, 4);
}

static void test_transaction_index(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_txn(l, 0, 2, 1, 0);    /* 0..1, producer 1 */
	append_txn(l, 1, 1, 2, 0);    /* 2, producer 2 */
	append_marker(l, 0, 2, false); /* 3: producer 2 aborts while 1 is open */
	append_marker(l, 1, 1, true);  /* 4 */
	append_txn(l, 2, 1, 1, 2);    /* 5 */
	append_marker(l, 2, 1, false); /* 6 */
	assert_int_equal(file_size(seg_path(0, ".txnindex")), 2 * TXN_INDEX_ENTRY_BYTES);
	struct aborted_txn got[4];
	const struct aborted_txn want[2] = { { 2, 2, 3, 0 }, { 1, 5, 6, 7 } };
	assert_int_equal(aborted(l, 0, 7, got), 2);
	assert_memory_equal(got, want, sizeof(want));
	/* Overlap only: from 4 on, producer 2's abort (2..3) is behind. */
	assert_int_equal(aborted(l, 4, 7, got), 1);
	assert_int_equal(got[0].producer_id, 1);
	assert_int_equal(aborted(l, 0, 2, got), 0);
	partition_log_close(l);
	/* Loaded back; then a torn file is rebuilt from the batches. */
	l = open_log(true, 0);
	assert_int_equal(aborted(l, 0, 7, got), 2);
	assert_memory_equal(got, want, sizeof(want));
	partition_log_close(l);
	overwrite(seg_path(0, ".txnindex"), 2 * TXN_INDEX_ENTRY_BYTES, "xyz", 3);
	struct captured c;
	capture_start(&c);
	l = open_log(true, 0);
	assert_int_equal(capture_count(&c, "00000000000000000000.txnindex: its length is not a whole"), 1);
	assert_int_equal(aborted(l, 0, 7, got), 2);
	assert_int_equal(got[0].first_offset, 2);
	assert_int_equal(got[1].first_offset, 5);
	assert_int_equal(file_size(seg_path(0, ".txnindex")), 2 * TXN_INDEX_ENTRY_BYTES);
	partition_log_close(l);
	/* A crash tore the last marker off the log: its entry goes too. */
	off_t size = file_size(seg_path(0, ".log"));
	assert_int_equal(truncate(seg_path(0, ".log"), size - 10), 0);
	remove_snapshots();
	l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 6);
	assert_int_equal(aborted(l, 0, 7, got), 1);
	assert_int_equal(file_size(seg_path(0, ".txnindex")), TXN_INDEX_ENTRY_BYTES);
	/* Producer 1's transaction is open again at 5. */
	assert_int_equal(partition_log_last_stable_offset(l), 5);
	partition_log_close(l);
}

static void test_index_goes_with_its_segment(void **state)
{
	(void)state;
	E->cfg.delete_enabled = true;
	E->cfg.segment_bytes = 2 * BATCH_BYTES;
	struct partition_log *l = open_log(true, 0);
	append_txn(l, 0, 1, 1, 0);     /* 0 */
	append_marker(l, 0, 1, false);  /* 1 */
	append_range(l, 1, 4, 1);      /* 2..4, rolling past the first segment */
	assert_int_equal(file_size(seg_path(0, ".txnindex")), TXN_INDEX_ENTRY_BYTES);
	int64_t low;
	assert_int_equal(partition_log_delete_records(l, 3, &low), KERR_NONE);
	E->done = 0;
	settle(l, 0);
	assert_int_equal(file_size(seg_path(0, ".txnindex")), -1);
	assert_int_equal(count_files(".txnindex"), 0);
	struct aborted_txn got[4];
	assert_int_equal(aborted(l, 3, 5, got), 0);
	/* A transaction open across the new log start: the LSO is the start. */
	append_txn(l, 5, 1, 2, 0);     /* 5 */
	append_range(l, 6, 7, 1);      /* 6 */
	assert_int_equal(partition_log_last_stable_offset(l), 5);
	assert_int_equal(partition_log_delete_records(l, 6, &low), KERR_NONE);
	assert_int_equal(partition_log_last_stable_offset(l), 6);
	partition_log_close(l);
}

/* A transaction across a roll: its abort is listed by the segment of its
 * marker and found from a read in the segment before; a corrupt index is
 * rebuilt with the part of the transaction its segment holds. */
static void test_transaction_across_segments(void **state)
{
	(void)state;
	E->cfg.segment_bytes = 3 * BATCH_BYTES;
	struct partition_log *l = open_log(true, 0);
	append_txn(l, 0, 1, 1, 0);     /* 0, segment 0 */
	append_range(l, 1, 3, 1);      /* 1..2 */
	append_txn(l, 3, 1, 1, 1);     /* 3, rolling to segment 3 */
	append_marker(l, 0, 1, false);  /* 4 */
	assert_int_equal(count_files(".log"), 2);
	assert_int_equal(file_size(seg_path(0, ".txnindex")), -1);
	assert_int_equal(file_size(seg_path(3, ".txnindex")), TXN_INDEX_ENTRY_BYTES);
	struct aborted_txn got[4];
	assert_int_equal(aborted(l, 0, 2, got), 1);
	assert_int_equal(got[0].first_offset, 0);
	assert_int_equal(got[0].last_offset, 4);
	partition_log_close(l);
	overwrite(seg_path(3, ".txnindex"), 0, "\x01", 1);
	l = open_log(true, 0);
	assert_int_equal(aborted(l, 0, 5, got), 1);
	assert_int_equal(got[0].first_offset, 3);
	assert_int_equal(got[0].last_offset, 4);
	assert_int_equal(got[0].last_stable_offset, 0);
	partition_log_close(l);
}

/* An ABORT marker whose write fails: the log goes back, and the index
 * entry with it, and the transaction is open again. */
static void test_failed_marker_write_takes_its_entry_back(void **state)
{
	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	struct partition_log *l = open_log(true, 0);
	append_txn(l, 0, 1, 1, 0);     /* 0 */
	limit_file_size(BATCH_BYTES + 40);
	E->done = 0;
	struct captured cap;
	capture_start(&cap);
	assert_int_equal(submit_marker(l, 0, 1, 0, 0, false), KERR_NONE);
	settle(l, 1);
	limit_file_size(RLIM_INFINITY);
	assert_int_equal(capture_count(&cap, "File too large"), 1);
	assert_int_equal(marker_results[0], KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(partition_log_end_offset(l), 1);
	struct aborted_txn got[4];
	assert_int_equal(aborted(l, 0, 2, got), 0);
	assert_int_equal(file_size(seg_path(0, ".txnindex")), 0);
	assert_int_equal(partition_log_last_stable_offset(l), 0);
	assert_int_equal(producer_state_find(partition_log_producers(l), 1)->current_txn_first_offset, 0);
	partition_log_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_markers_and_last_stable_offset, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_open_transactions_survive_restarts,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_transaction_index, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_index_goes_with_its_segment, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_transaction_across_segments, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_marker_write_takes_its_entry_back,
						fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
