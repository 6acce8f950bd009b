/* Cleaning a log with transactions and idempotent producers, as Kafka's
 * cleaner does it: no pass past an open transaction, aborted data removed
 * whatever its keys (and its keys never the latest value), markers kept
 * while their transaction's data remains, then given a delete horizon and
 * removed after it, and each producer's last batch kept (emptied) so that
 * the producer state rebuilt from the log still knows a retried batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/log/log_cleaner_batch.h"
#include "core/log/log_cleaner_pass.h"
#include "core/log/log_cleaner_swap.h"
#include "core/log/log_cleaner_txn.h"
#include "core/log/log_internal.h"
#include "proto/control_batch.h"
#include "tests/core/log/cleaner_fixture.h"
#include "tests/core/log/log_fixture.h"

enum { SEEN_MAX = 32, NO_PRODUCER = -1 };

/* Appends batch i: one record key=value (value NULL: a tombstone) from
 * producer pid (NO_PRODUCER: none) at sequence seq, transactional or not. */
static void append_one(struct partition_log *l, int i, const char *key, const char *value,
		       int64_t pid, int32_t seq, bool transactional)
{
	const char *k[1] = { key }, *v[1] = { value };
	size_t len;
	/* Now: the producer state rebuilt from the log must not expire it. */
	uint8_t *b = make_keyed(k, v, 1, 0, CODEC_NONE, log_now_ms() + i, &len);
	assert_true(len <= BATCH_BYTES);
	if (pid != NO_PRODUCER) {
		be_store(b + 21, transactional ? BATCH_ATTR_TRANSACTIONAL : 0, 2);
		be_store(b + 43, (uint64_t)pid, 8);
		be_store(b + 51, 0, 2);
		be_store(b + 53, (uint32_t)seq, 4);
		batch_seal(b, len);
	}
	memcpy(E->batches[i], b, len);
	free(b);
	E->done = 0;
	assert_int_equal(submit(l, i, len), KERR_NONE);
	settle(l, 1);
	assert_int_equal(E->results[i], KERR_NONE);
}

static struct log_marker_append marker;
static void on_marker(struct log_append *a, int16_t err)
{
	(void)a;
	assert_int_equal(err, KERR_NONE);
	E->done++;
}

static void append_marker(struct partition_log *l, int64_t pid, bool commit)
{
	struct control_marker m = { .producer_id = pid, .producer_epoch = 0, .coordinator_epoch = 0,
				    .commit = commit };
	marker.append.done = on_marker;
	E->done = 0;
	assert_int_equal(partition_log_append_marker(l, &m, &marker), KERR_NONE);
	settle(l, 1);
}

/* What a reader from offset 0 sees: each batch's offsets, whether it is a
 * control batch (and its attributes), and the records in it. */
struct seen_batch {
	int64_t base, last;
	int16_t attributes;
	int64_t base_ts;
	int32_t count;
	int32_t base_seq;
	char records[4][16]; /* "key=value", "key=" for a tombstone */
};

struct seen {
	struct seen_batch b[SEEN_MAX];
	int n;
};

static void read_all(struct partition_log *l, struct seen *s)
{
	s->n = 0;
	int64_t offset = 0;
	struct cleaner_buf scratch = { 0 };
	while (offset < partition_log_high_watermark(l)) {
		struct log_read rd;
		assert_int_equal(partition_log_read(l, offset, 1 << 20, true, &rd), KERR_NONE);
		if (rd.len == 0)
			break;
		uint8_t *buf = malloc(rd.len);
		assert_int_equal(pread(rd.fd, buf, rd.len, (off_t)rd.file_off), rd.len);
		for (size_t pos = 0; pos < rd.len;) {
			struct record_batch_header h;
			assert_int_equal(record_batch_scan(buf + pos, rd.len - pos, true, &h), RECORD_SCAN_OK);
			size_t total = record_batch_total_bytes(&h);
			assert_true(s->n < SEEN_MAX);
			struct seen_batch *sb = &s->b[s->n++];
			*sb = (struct seen_batch){ .base = h.base_offset,
						   .last = h.base_offset + h.last_offset_delta,
						   .attributes = h.attributes, .base_ts = h.base_timestamp,
						   .count = h.record_count, .base_seq = h.base_sequence };
			struct cleaner_batch b;
			assert_int_equal(log_cleaner_batch_open(buf + pos, total, 1 << 20, &scratch, &b), 0);
			struct cleaner_record r;
			for (int k = 0; log_cleaner_batch_next(&b, &r) == 1; k++) {
				assert_true(k < 4);
				if (!(h.attributes & BATCH_ATTR_CONTROL))
					snprintf(sb->records[k], 16, "%.*s=%.*s", r.key.len,
						 (const char *)r.key.ptr, r.value.len < 0 ? 0 : r.value.len,
						 (const char *)r.value.ptr);
			}
			offset = sb->last + 1;
			pos += total;
		}
		free(buf);
	}
	cleaner_buf_free(&scratch);
}

static const struct seen_batch *batch_at(const struct seen *s, int64_t offset)
{
	for (int i = 0; i < s->n; i++)
		if (s->b[i].base <= offset && offset <= s->b[i].last)
			return &s->b[i];
	return NULL;
}

/* Whether any batch holds the record "key=value". */
static bool has_record(const struct seen *s, const char *kv)
{
	for (int i = 0; i < s->n; i++)
		for (int k = 0; k < s->b[i].count && k < 4; k++)
			if (strcmp(s->b[i].records[k], kv) == 0)
				return true;
	return false;
}

static struct log_cleaner_map map;
static atomic_bool cancel;

/* A pass over l with delete.retention.ms `retention_ms`, ready to run
 * (the map to free after it). */
static void prepare(struct partition_log *l, struct log_cleaner_pass *p, int64_t retention_ms)
{
	assert_int_equal(log_cleaner_pass_prepare(p, l, 0, log_now_ms()), 0);
	assert_int_equal(log_cleaner_map_init(&map, 1 << 16), 0);
	atomic_init(&cancel, false);
	p->map = &map;
	p->cancel = &cancel;
	p->inflated_max = 1 << 20;
	p->delete_retention_ms = retention_ms;
}

/* One whole cleaning (pass, swap, unlink); returns the pass's rc. */
static int clean(struct partition_log *l, int64_t retention_ms)
{
	struct log_cleaner_pass p;
	prepare(l, &p, retention_ms);
	int rc = 0;
	if (p.nsegs > 0) {
		log_cleaner_pass_run(&p);
		rc = p.rc;
		if (rc == 0) {
			assert_int_equal(log_cleaner_swap(l, &p), p.nruns);
			log_cleaner_pass_unlink_doomed(&p);
		}
	}
	log_cleaner_pass_free(&p);
	log_cleaner_map_free(&map);
	return rc;
}

static struct partition_log *compacted_log_of(uint64_t segment_bytes)
{
	E->cfg.compact = true;
	E->cfg.segment_bytes = segment_bytes;
	return open_log(true, 0);
}

static struct partition_log *compacted_log(void)
{
	return compacted_log_of(100); /* every batch its own segment */
}

/* Rule 1: the cleanable part ends at the first unstable offset. */
static void test_no_pass_cleans_past_an_open_transaction(void **state)
{
	(void)state;
	struct partition_log *l = compacted_log();
	append_one(l, 0, "k", "a", NO_PRODUCER, 0, false);
	append_one(l, 1, "t", "open", 1, 0, true);       /* producer 1's transaction */
	append_one(l, 2, "k", "b", NO_PRODUCER, 0, false);
	append_one(l, 3, "z", "active", NO_PRODUCER, 0, false);
	assert_int_equal(partition_log_last_stable_offset(l), 1);
	assert_int_equal(log_cleaner_first_uncleanable(l, 0, log_now_ms()), 1);
	assert_int_equal(clean(l, 1000), 0);
	struct seen s;
	read_all(l, &s);
	/* k=b is past the open transaction: k=a is not replaced yet. */
	assert_true(has_record(&s, "k=a"));
	assert_true(has_record(&s, "t=open"));
	append_marker(l, 1, true);                        /* 4 */
	append_one(l, 5, "z", "active2", NO_PRODUCER, 0, false);
	assert_int_equal(log_cleaner_first_uncleanable(l, 0, log_now_ms()), 5);
	assert_int_equal(clean(l, 1000), 0);
	read_all(l, &s);
	assert_false(has_record(&s, "k=a"));
	assert_true(has_record(&s, "k=b"));
	assert_true(has_record(&s, "t=open"));
	partition_log_close(l);
}

/* Rules 2 and 3: aborted data goes, its key never replaces an older
 * committed value; the ABORT marker stays (with its .txnindex entry) in the
 * pass that removes the data, then takes a delete horizon, then goes; the
 * COMMIT marker stays while its transaction's data does. */
static void test_aborted_data_goes_and_markers_follow(void **state)
{
	(void)state;
	struct partition_log *l = compacted_log();
	append_one(l, 0, "k", "committed", NO_PRODUCER, 0, false);
	append_one(l, 1, "k", "aborted", 1, 0, true);
	append_marker(l, 1, false);                       /* 2: ABORT */
	append_one(l, 3, "j", "txn", 1, 1, true);
	append_marker(l, 1, true);                        /* 4: COMMIT */
	append_one(l, 5, "z", "active", NO_PRODUCER, 0, false);
	struct aborted_txn t[2];
	assert_int_equal(partition_log_aborted_txns(l, 0, 6, t, 2), 1);

	assert_int_equal(clean(l, 60000), 0);
	struct seen s;
	read_all(l, &s);
	assert_true(has_record(&s, "k=committed"));
	assert_null(batch_at(&s, 1));
	const struct seen_batch *abort_marker = batch_at(&s, 2);
	assert_non_null(abort_marker);
	assert_false(abort_marker->attributes & BATCH_ATTR_DELETE_HORIZON);
	assert_int_equal(partition_log_aborted_txns(l, 0, 6, t, 2), 1);
	assert_int_equal(t[0].last_offset, 2);
	assert_int_equal(count_files(".txnindex"), 1);

	/* No data of the aborted transaction is left: its marker is done. */
	int64_t before = log_now_ms();
	assert_int_equal(clean(l, 60000), 0);
	read_all(l, &s);
	abort_marker = batch_at(&s, 2);
	assert_non_null(abort_marker);
	assert_true(abort_marker->attributes & BATCH_ATTR_DELETE_HORIZON);
	assert_true(abort_marker->base_ts >= before + 60000);
	assert_int_equal(partition_log_aborted_txns(l, 0, 6, t, 2), 0);
	const struct seen_batch *commit_marker = batch_at(&s, 4);
	assert_non_null(commit_marker);
	assert_false(commit_marker->attributes & BATCH_ATTR_DELETE_HORIZON);

	assert_int_equal(count_files(".txnindex"), 0);
	/* Before its horizon it stays; the committed transaction's marker
	 * stays with its data. */
	assert_int_equal(clean(l, 60000), 0);
	read_all(l, &s);
	assert_non_null(batch_at(&s, 2));
	assert_true(has_record(&s, "j=txn"));
	assert_non_null(batch_at(&s, 4));
	partition_log_close(l);
}

/* The marker's horizon passes: it goes (when it is not its producer's last
 * entry). */
static void test_done_marker_goes_after_its_horizon(void **state)
{
	(void)state;
	struct partition_log *l = compacted_log();
	append_one(l, 0, "k", "aborted", 1, 0, true);
	append_marker(l, 1, false);                       /* 1: ABORT */
	append_one(l, 2, "j", "later", 1, 1, false);      /* producer 1's last batch */
	append_one(l, 3, "z", "active", NO_PRODUCER, 0, false);
	assert_int_equal(clean(l, 0), 0);                 /* data goes, marker stays */
	struct seen s;
	read_all(l, &s);
	assert_non_null(batch_at(&s, 1));
	assert_int_equal(clean(l, 0), 0);                 /* the horizon: now + 0 */
	read_all(l, &s);
	assert_non_null(batch_at(&s, 1));
	assert_true(batch_at(&s, 1)->attributes & BATCH_ATTR_DELETE_HORIZON);
	sleep_ms(2);
	assert_int_equal(clean(l, 0), 0);
	read_all(l, &s);
	assert_null(batch_at(&s, 1));
	assert_true(has_record(&s, "j=later"));
	partition_log_close(l);
}

/* Rule 4: a producer's last batch stays even when its records are all
 * replaced (Kafka keeps it empty); rebuilt from the log after an unclean
 * stop without snapshots (from the last two segments, as Kafka), the
 * producer state still answers a retried batch as a duplicate. */
static void test_last_batch_of_a_producer_is_kept_empty(void **state)
{
	(void)state;
	struct partition_log *l = compacted_log_of(240); /* three batches a segment */
	append_one(l, 0, "k", "first", 7, 0, false);
	append_one(l, 1, "k", "second", 7, 1, false);     /* producer 7's last */
	append_one(l, 2, "k", "third", NO_PRODUCER, 0, false);
	append_one(l, 3, "z", "active", NO_PRODUCER, 0, false);
	assert_int_equal(count_files(".log"), 2);
	assert_int_equal(clean(l, 1000), 0);
	struct seen s;
	read_all(l, &s);
	assert_null(batch_at(&s, 0));
	const struct seen_batch *last = batch_at(&s, 1);
	assert_non_null(last);
	assert_int_equal(last->count, 0);
	assert_int_equal(last->base, 1);
	assert_int_equal(last->last, 1);
	assert_int_equal(last->base_seq, 1);
	assert_true(has_record(&s, "k=third"));
	/* Cleaned again, the empty batch stays while it is the last. */
	assert_int_equal(clean(l, 1000), 0);
	read_all(l, &s);
	assert_non_null(batch_at(&s, 1));

	partition_log_close(l);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.snapshot", E->dir);
	assert_int_equal(system(cmd), 0);
	l = open_log(false, 0);
	const struct producer_entry *e = producer_state_find(partition_log_producers(l), 7);
	assert_non_null(e);
	assert_int_equal(producer_entry_last(e)->last_seq, 1);
	const char *k[1] = { "k" }, *v[1] = { "second" };
	size_t len;
	uint8_t *retry = make_keyed(k, v, 1, 0, CODEC_NONE, log_now_ms(), &len);
	be_store(retry + 43, 7, 8);
	be_store(retry + 51, 0, 2);
	be_store(retry + 53, 1, 4);
	batch_seal(retry, len);
	struct record_batch_header h;
	record_batch_header_read(retry, &h);
	struct producer_check out;
	assert_int_equal(producer_state_check(partition_log_producers(l), &h,
					      (struct producer_where){ "t", 0 },
					      partition_log_end_offset(l), &out),
			 PRODUCER_DUPLICATE);
	assert_int_equal(out.dup.first_offset, 1);
	free(retry);
	partition_log_close(l);
}

/* A stop after the cleaned files were renamed .swap (the .txnindex among
 * them): the swap is completed at open, and the cleaned segment's
 * .txnindex is the one read back. */
static void test_crash_after_swap_rename_keeps_the_txnindex(void **state)
{
	(void)state;
	struct partition_log *l = compacted_log();
	append_one(l, 0, "k", "aborted", 1, 0, true);
	append_marker(l, 1, false);                       /* 1: ABORT */
	append_one(l, 2, "z", "active", NO_PRODUCER, 0, false);
	struct log_cleaner_pass p;
	prepare(l, &p, 1000);
	log_cleaner_pass_run(&p);
	assert_int_equal(p.rc, 0);
	assert_int_equal(count_files(".txnindex.cleaned"), 1);
	const char *exts[] = { ".index", ".timeindex", ".txnindex", ".log" };
	for (uint32_t r = 0; r < p.nruns; r++)
		for (int e = 0; e < 4; e++) {
			char a[160], b[160];
			snprintf(a, sizeof(a), "%s.cleaned", seg_path(p.runs[r].base, exts[e]));
			snprintf(b, sizeof(b), "%s.swap", seg_path(p.runs[r].base, exts[e]));
			assert_true(rename(a, b) == 0 || e != 3);
		}
	log_cleaner_pass_free(&p);
	log_cleaner_map_free(&map);
	partition_log_close(l);
	l = open_log(false, 0);
	assert_int_equal(count_files(".swap"), 0);
	assert_int_equal(count_files(".txnindex"), 1);
	struct aborted_txn t[2];
	assert_int_equal(partition_log_aborted_txns(l, 0, 3, t, 2), 1);
	assert_int_equal(t[0].first_offset, 0);
	assert_int_equal(t[0].last_offset, 1);
	struct seen s;
	read_all(l, &s);
	assert_false(has_record(&s, "k=aborted"));
	assert_int_equal(batch_at(&s, 0)->count, 0); /* producer 1's last: kept empty */
	assert_non_null(batch_at(&s, 1));
	partition_log_close(l);
}

/* ---- the walk itself (log_cleaner_txn.h) ---- */

static struct record_batch_header data_header(int64_t base, int32_t delta, int64_t pid,
					      bool transactional)
{
	return (struct record_batch_header){ .base_offset = base, .last_offset_delta = delta,
					     .producer_id = pid, .producer_epoch = 0,
					     .record_count = delta + 1,
					     .attributes = transactional ? BATCH_ATTR_TRANSACTIONAL : 0 };
}

static bool walk_marker(struct log_cleaner_txns *t, int64_t offset, int64_t pid, bool commit)
{
	uint8_t b[CONTROL_MARKER_BATCH_BYTES];
	struct control_marker m = { .producer_id = pid, .commit = commit };
	control_batch_build(b, &m, 1);
	record_batch_assign_offset(b, offset, 0);
	struct record_batch_header h;
	record_batch_header_read(b, &h);
	bool done;
	assert_int_equal(log_cleaner_txns_on_control(t, b, sizeof(b), &h, &done), 0);
	return done;
}

static bool walk_data(struct log_cleaner_txns *t, int64_t base, int32_t delta, int64_t pid,
		      bool transactional)
{
	struct record_batch_header h = data_header(base, delta, pid, transactional);
	bool aborted;
	assert_int_equal(log_cleaner_txns_on_data(t, &h, &aborted), 0);
	return aborted;
}

static void test_walk_finds_aborted_data_and_done_markers(void **state)
{
	(void)state;
	/* Producer 1: 10..11 aborted at 14; producer 2: 12 committed at 15;
	 * producer 1 again: 16 aborted at 17, whose data an earlier pass
	 * removed; producer 3's aborted transaction is outside the range. */
	const struct aborted_txn all[] = {
		{ .producer_id = 1, .first_offset = 10, .last_offset = 14, .last_stable_offset = 12 },
		{ .producer_id = 1, .first_offset = 16, .last_offset = 17, .last_stable_offset = 18 },
		{ .producer_id = 3, .first_offset = 2, .last_offset = 5, .last_stable_offset = 6 },
	};
	struct log_cleaner_txns t;
	assert_int_equal(log_cleaner_txns_begin(&t, all, 3, 8, 20), 0);
	assert_int_equal(t.npending, 2);
	assert_true(walk_marker(&t, 8, 5, true));      /* a COMMIT whose data is not here */
	assert_false(walk_data(&t, 9, 0, 1, false));   /* before its aborted transaction */
	assert_true(walk_data(&t, 10, 1, 1, true));
	assert_false(walk_data(&t, 12, 0, 2, true));
	assert_false(walk_data(&t, 13, 0, 1, false));  /* not transactional */
	assert_false(walk_marker(&t, 14, 1, false));   /* its data was met: it stays */
	assert_int_equal(t.nkept, 1);
	assert_int_equal(t.kept[0].last_offset, 14);
	assert_false(walk_marker(&t, 15, 2, true));    /* its data was met */
	assert_true(walk_marker(&t, 17, 1, false));    /* nothing of it left */
	assert_int_equal(t.nkept, 1);
	assert_false(walk_data(&t, 18, 0, 1, true));   /* producer 1's next transaction */
	log_cleaner_txns_free(&t);
}

static void test_walk_knows_each_producers_last_batch(void **state)
{
	(void)state;
	struct log_cleaner_producer v[] = {
		{ .producer_id = 9, .last_data_offset = 30, .epoch = 0 },
		{ .producer_id = 4, .last_data_offset = -1, .epoch = 2 }, /* its last is a marker */
	};
	struct log_cleaner_producers ps = { .v = v, .len = 2 };
	log_cleaner_producers_sort(&ps);
	struct record_batch_header h = data_header(28, 2, 9, false);
	assert_true(log_cleaner_producers_last(&ps, &h));
	h = data_header(25, 2, 9, false);
	assert_false(log_cleaner_producers_last(&ps, &h));
	h = data_header(28, 2, 5, false);
	assert_false(log_cleaner_producers_last(&ps, &h));
	h = data_header(40, 0, 4, true);
	assert_false(log_cleaner_producers_last(&ps, &h));
	h.attributes |= BATCH_ATTR_CONTROL;
	h.producer_epoch = 2;
	assert_true(log_cleaner_producers_last(&ps, &h));
	h.producer_epoch = 1;
	assert_false(log_cleaner_producers_last(&ps, &h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_finds_aborted_data_and_done_markers),
		cmocka_unit_test(test_walk_knows_each_producers_last_batch),
		cmocka_unit_test_setup_teardown(test_no_pass_cleans_past_an_open_transaction,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_aborted_data_goes_and_markers_follow, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_done_marker_goes_after_its_horizon, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_batch_of_a_producer_is_kept_empty,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_swap_rename_keeps_the_txnindex,
						fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
