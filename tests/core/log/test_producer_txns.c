/* Transactions in the producer state: transactional batches open a
 * producer's transaction, markers end it (with Kafka's epoch and
 * coordinator epoch checks), the first unstable offset across producers and
 * markers not yet written, truncation after a failed write, snapshot
 * entries, and the group coordinator's own batches (no sequence). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "core/log/producer_state.h"
#include "proto/kafka_errors.h"

static struct record_batch_header txn_hdr(int64_t pid, int16_t epoch, int32_t seq, int32_t records)
{
	return (struct record_batch_header){ .magic = 2, .attributes = BATCH_ATTR_TRANSACTIONAL,
					     .producer_id = pid, .producer_epoch = epoch,
					     .base_sequence = seq, .last_offset_delta = records - 1,
					     .max_timestamp = 1000, .record_count = records };
}

/* Records a transactional batch at *offset and moves *offset past it. */
static void write_txn(struct producer_state *ps, int64_t *offset, int64_t pid, int32_t seq,
		      int32_t records)
{
	struct record_batch_header h = txn_hdr(pid, 0, seq, records);
	struct producer_check chk;
	assert_int_equal(producer_state_check(ps, &h, (struct producer_where){ "t", 0 }, *offset, &chk),
			 PRODUCER_APPEND);
	assert_int_equal(producer_state_record(ps, &h, *offset, 1000), 0);
	*offset += records;
}

static struct producer_txn_end write_marker(struct producer_state *ps, int64_t *offset, int64_t pid,
					    int16_t epoch, int32_t coordinator_epoch)
{
	struct producer_txn_end end;
	assert_int_equal(producer_state_check_marker(ps, pid, epoch, coordinator_epoch), KERR_NONE);
	assert_int_equal(producer_state_end_txn(ps, pid, epoch, coordinator_epoch, *offset, 2000, &end), 0);
	*offset += 1;
	return end;
}

static void test_open_and_end(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	int64_t off = 0;
	assert_int_equal(producer_state_first_unstable(&ps, 100), -1);
	write_txn(&ps, &off, 1, 0, 3);   /* 0..2 */
	write_txn(&ps, &off, 2, 0, 2);   /* 3..4 */
	write_txn(&ps, &off, 1, 3, 1);   /* 5: same transaction */
	assert_int_equal(producer_state_find(&ps, 1)->current_txn_first_offset, 0);
	assert_int_equal(producer_state_find(&ps, 2)->current_txn_first_offset, 3);
	/* Open at epoch 0 only: another epoch or producer has to be verified. */
	assert_true(producer_state_txn_open(&ps, 1, 0));
	assert_false(producer_state_txn_open(&ps, 1, 1));
	assert_false(producer_state_txn_open(&ps, 3, 0));
	assert_int_equal(producer_state_first_unstable(&ps, 6), 0);
	struct producer_txn_end end = write_marker(&ps, &off, 1, 0, 4); /* marker at 6 */
	assert_int_equal(end.first_offset, 0);
	assert_int_equal(end.marker_offset, 6);
	/* Producer 2's transaction is still open: Kafka's lastStableOffset. */
	assert_int_equal(end.last_stable_offset, 3);
	assert_int_equal(producer_state_find(&ps, 1)->current_txn_first_offset, -1);
	assert_false(producer_state_txn_open(&ps, 1, 0));
	assert_int_equal(producer_state_find(&ps, 1)->coordinator_epoch, 4);
	/* Until the marker is written, producer 1's transaction holds the LSO. */
	assert_int_equal(producer_state_first_unstable(&ps, 6), 0);
	assert_int_equal(producer_state_first_unstable(&ps, 7), 3);
	producer_state_settle(&ps, 7);
	assert_int_equal(ps.unsettled.len, 0);
	assert_int_equal(producer_state_first_unstable(&ps, 7), 3);
	end = write_marker(&ps, &off, 2, 0, 4);
	assert_int_equal(end.first_offset, 3);
	assert_int_equal(end.last_stable_offset, 8);
	producer_state_settle(&ps, 8);
	assert_int_equal(producer_state_first_unstable(&ps, 8), -1);
	/* A marker with no transaction open spans only itself. */
	end = write_marker(&ps, &off, 2, 0, 4);
	assert_int_equal(end.first_offset, 8);
	assert_int_equal(producer_state_first_unstable(&ps, 8), -1);
	producer_state_clear(&ps);
}

static void test_marker_checks(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	int64_t off = 0;
	/* Unknown producers take any marker (its batches may be gone). */
	assert_int_equal(producer_state_check_marker(&ps, 5, 0, 0), KERR_NONE);
	struct record_batch_header h = txn_hdr(5, 3, 0, 1);
	assert_int_equal(producer_state_record(&ps, &h, off++, 1000), 0);
	assert_int_equal(producer_state_check_marker(&ps, 5, 2, 9), KERR_INVALID_PRODUCER_EPOCH);
	write_marker(&ps, &off, 5, 3, 9);
	assert_int_equal(producer_state_check_marker(&ps, 5, 3, 8),
			 KERR_TRANSACTION_COORDINATOR_FENCED);
	assert_int_equal(producer_state_check_marker(&ps, 5, 3, 9), KERR_NONE);
	/* A marker with a bumped epoch (KIP-890 part 2) moves the epoch on. */
	write_marker(&ps, &off, 5, 4, 9);
	assert_int_equal(producer_state_find(&ps, 5)->epoch, 4);
	assert_int_equal(producer_state_check_marker(&ps, 5, 3, 9), KERR_INVALID_PRODUCER_EPOCH);
	producer_state_clear(&ps);
}

static void test_truncate(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	int64_t off = 0;
	write_txn(&ps, &off, 1, 0, 2);           /* 0..1 */
	write_marker(&ps, &off, 1, 0, 0);        /* 2 */
	write_txn(&ps, &off, 2, 0, 1);           /* 3 */
	/* The write at 2 failed: the log goes back to 2. Producer 1's
	 * transaction is open again, producer 2's never was. */
	producer_state_truncate(&ps, 2);
	assert_int_equal(producer_state_find(&ps, 1)->current_txn_first_offset, 0);
	assert_null(producer_state_find(&ps, 2));
	assert_int_equal(ps.unsettled.len, 0);
	assert_int_equal(producer_state_first_unstable(&ps, 2), 0);
	off = 2;
	struct producer_txn_end end = write_marker(&ps, &off, 1, 0, 0);
	assert_int_equal(end.first_offset, 0);
	producer_state_truncate(&ps, 0);
	assert_int_equal(producer_state_first_unstable(&ps, 0), -1);
	assert_null(producer_state_find(&ps, 1));
	producer_state_clear(&ps);
}

static void test_snapshot_entries_and_coordinator_batches(void **state)
{
	(void)state;
	struct producer_state ps = { 0 };
	struct producer_entry e = { .producer_id = 7, .epoch = 1, .coordinator_epoch = 2,
				    .last_timestamp = 5, .current_txn_first_offset = 40 };
	assert_int_equal(producer_state_put(&ps, &e), 0);
	e.producer_id = 8;
	e.current_txn_first_offset = 30;
	assert_int_equal(producer_state_put(&ps, &e), 0);
	assert_int_equal(producer_state_first_unstable(&ps, 50), 30);
	/* Replaced by a newer entry without a transaction. */
	e.current_txn_first_offset = -1;
	assert_int_equal(producer_state_put(&ps, &e), 0);
	assert_int_equal(ps.open.len, 1);
	assert_int_equal(producer_state_first_unstable(&ps, 50), 40);
	/* The group coordinator's transactional write: base sequence -1,
	 * opens the transaction, keeps no sequence. */
	struct record_batch_header h = txn_hdr(9, 0, -1, 1);
	assert_int_equal(producer_state_record(&ps, &h, 20, 1000), 0);
	const struct producer_entry *c = producer_state_find(&ps, 9);
	assert_int_equal(c->batch_count, 0);
	assert_int_equal(c->current_txn_first_offset, 20);
	assert_int_equal(producer_state_first_unstable(&ps, 50), 20);
	/* Producers with an open transaction are never expired. */
	assert_int_equal(producer_state_expire(&ps, INT64_MAX / 2, 1), 1);
	assert_null(producer_state_find(&ps, 8));
	assert_non_null(producer_state_find(&ps, 7));
	assert_non_null(producer_state_find(&ps, 9));
	producer_state_clear(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_end),
		cmocka_unit_test(test_marker_checks),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_snapshot_entries_and_coordinator_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
