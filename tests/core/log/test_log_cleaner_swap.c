/* A whole cleaning of a real log: the pass over its closed segments, the
 * swap, and every state a crash can leave the files in (.cleaned, .swap,
 * the replaced segments renamed .deleted), recovered at the next open, with
 * the latest value of every key read back at its own offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/log/log_cleaner_batch.h"
#include "core/log/log_cleaner_pass.h"
#include "core/log/log_cleaner_swap.h"
#include "core/log/log_internal.h"
#include "tests/core/log/cleaner_fixture.h"
#include "tests/core/log/log_fixture.h"

enum { RECORDS = 60, KEYS = 4 };

static uint8_t *keyed[BATCHES_MAX];

/* Record i: key k<i % KEYS>, value v<i> (a tombstone from `tombstones` on),
 * one record per batch, at offset i. */
static void append_keyed_until(struct partition_log *l, int from, int to, int tombstones)
{
	E->done = 0;
	for (int i = from; i < to; i++) {
		char key[16], value[16];
		snprintf(key, sizeof(key), "k%d", i % KEYS);
		snprintf(value, sizeof(value), "v%d", i);
		const char *k[1] = { key }, *v[1] = { i >= tombstones ? NULL : value };
		size_t len;
		keyed[i] = make_keyed(k, v, 1, 0, i % 2 ? CODEC_LZ4 : CODEC_NONE, 1000 + i, &len);
		struct record_batch_header h;
		record_batch_header_read(keyed[i], &h);
		E->appends[i].done = on_append;
		E->appends[i].log_append_time = -1;
		assert_int_equal(partition_log_append(l, keyed[i], len, &h, &E->appends[i]), 0);
	}
	settle(l, to - from);
	for (int i = from; i < to; i++) {
		assert_int_equal(E->results[i], KERR_NONE);
		free(keyed[i]);
	}
}

static void append_keyed(struct partition_log *l, int from, int to)
{
	append_keyed_until(l, from, to, to);
}

struct seen {
	int64_t offset[RECORDS];
	char value[RECORDS][8];
	int n;
};

/* Every record the log serves from offset 0, with its offset; each value
 * must sit at the offset it was written at. */
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
		size_t pos = 0;
		while (pos < rd.len) {
			struct record_batch_header h;
			assert_int_equal(record_batch_scan(buf + pos, rd.len - pos, true, &h), RECORD_SCAN_OK);
			size_t total = record_batch_total_bytes(&h);
			struct cleaner_batch b;
			assert_int_equal(log_cleaner_batch_open(buf + pos, total, 1 << 20, &scratch, &b), 0);
			struct cleaner_record r;
			while (log_cleaner_batch_next(&b, &r) == 1) {
				assert_true(s->n < RECORDS);
				assert_true(s->n == 0 || r.offset > s->offset[s->n - 1]);
				s->offset[s->n] = r.offset;
				snprintf(s->value[s->n], 8, "%.*s", r.value.len, (const char *)r.value.ptr);
				char want[16];
				snprintf(want, sizeof(want), "v%lld", (long long)r.offset);
				assert_string_equal(s->value[s->n], want);
				s->n++;
			}
			offset = h.base_offset + h.last_offset_delta + 1;
			pos += total;
		}
		free(buf);
	}
	cleaner_buf_free(&scratch);
}

/* The latest record of every key is there (the last KEYS offsets). */
static void assert_latest_present(const struct seen *s)
{
	for (int64_t o = RECORDS - KEYS; o < RECORDS; o++) {
		bool found = false;
		for (int i = 0; i < s->n; i++)
			found |= s->offset[i] == o;
		assert_true(found);
	}
}

static struct log_cleaner_map map;
static atomic_bool cancel;

static void pass_over_retaining(struct partition_log *l, struct log_cleaner_pass *p,
				int64_t delete_retention_ms)
{
	assert_int_equal(log_cleaner_pass_prepare(p, l, 0, log_now_ms()), 0);
	assert_int_equal(log_cleaner_map_init(&map, 1 << 16), 0);
	atomic_init(&cancel, false);
	p->map = &map;
	p->cancel = &cancel;
	p->inflated_max = 1 << 20;
	p->delete_retention_ms = delete_retention_ms;
	log_cleaner_pass_run(p);
	if (p->rc != 0)
		fail_msg("pass: %s", p->why);
	assert_true(p->nruns >= 1);
	assert_true(p->records_dropped > 0);
	log_cleaner_map_free(&map);
}

static void pass_over(struct partition_log *l, struct log_cleaner_pass *p)
{
	pass_over_retaining(l, p, 1000);
}

static struct partition_log *cleaned_log(struct log_cleaner_pass *p)
{
	E->cfg.segment_bytes = 600;
	E->cfg.index_interval_bytes = 100;
	E->cfg.compact = true;
	struct partition_log *l = open_log(true, 0);
	append_keyed(l, 0, RECORDS);
	pass_over(l, p);
	assert_int_equal(count_files(".log.cleaned"), (int)p->nruns);
	return l;
}

static void test_swap_keeps_the_latest_per_key_at_its_offset(void **state)
{
	(void)state;
	struct log_cleaner_pass p;
	struct partition_log *l = cleaned_log(&p);
	struct seen before;
	read_all(l, &before);
	assert_int_equal(before.n, RECORDS);
	uint32_t nsegs_before = p.nsegs;
	assert_int_equal(log_cleaner_swap(l, &p), p.nruns);
	assert_int_equal(count_files(".cleaned"), 0);
	assert_int_equal(count_files(".swap"), 0);
	assert_int_equal(count_files(".log.deleted"), (int)nsegs_before);
	log_cleaner_pass_unlink_doomed(&p);
	assert_int_equal(count_files(".deleted"), 0);
	struct seen after;
	read_all(l, &after);
	assert_true(after.n < RECORDS);
	assert_latest_present(&after);
	/* Reopened after a crash with a stale recovery point: every segment is
	 * scanned again, and the gaps the cleaner left are not holes. */
	partition_log_close(l);
	l = open_log(false, 0);
	struct seen reopened;
	read_all(l, &reopened);
	assert_int_equal(reopened.n, after.n);
	assert_memory_equal(reopened.offset, after.offset, sizeof(int64_t) * (size_t)after.n);
	assert_int_equal(partition_log_end_offset(l), RECORDS);
	log_cleaner_pass_free(&p);
	partition_log_close(l);
}

/* A stop before the swap: the .cleaned files go, the log is as it was. */
static void test_crash_before_swap_keeps_the_old_segments(void **state)
{
	(void)state;
	struct log_cleaner_pass p;
	struct partition_log *l = cleaned_log(&p);
	partition_log_close(l);
	l = open_log(false, 0);
	assert_int_equal(count_files(".cleaned"), 0);
	struct seen s;
	read_all(l, &s);
	assert_int_equal(s.n, RECORDS);
	log_cleaner_pass_free(&p);
	partition_log_close(l);
}

static void rename_run(int64_t base, const char *from, const char *to)
{
	const char *exts[] = { ".index", ".timeindex", ".log" };
	for (int e = 0; e < 3; e++) {
		char a[160], b[160];
		snprintf(a, sizeof(a), "%s%s", seg_path(base, exts[e]), from);
		snprintf(b, sizeof(b), "%s%s", seg_path(base, exts[e]), to);
		assert_int_equal(rename(a, b), 0);
	}
}

/* A stop after .cleaned -> .swap, with (or without) the replaced segments
 * renamed .deleted: the swap is completed at open. */
static void check_crash_after_swap_rename(bool old_renamed)
{
	struct log_cleaner_pass p;
	struct partition_log *l = cleaned_log(&p);
	for (uint32_t r = 0; r < p.nruns; r++) {
		rename_run(p.runs[r].base, ".cleaned", ".swap");
		for (uint32_t k = 0; old_renamed && k < p.runs[r].count; k++)
			rename_run(p.segs[p.runs[r].first + k].base, "", ".deleted");
	}
	partition_log_close(l);
	l = open_log(false, 0);
	assert_int_equal(count_files(".swap"), 0);
	assert_int_equal(count_files(".deleted"), 0);
	struct seen s;
	read_all(l, &s);
	assert_true(s.n < RECORDS);
	assert_latest_present(&s);
	assert_int_equal(partition_log_end_offset(l), RECORDS);
	log_cleaner_pass_free(&p);
	partition_log_close(l);
}

static void test_crash_after_swap_rename(void **state)
{
	(void)state;
	check_crash_after_swap_rename(false);
}

static void test_crash_after_old_segments_renamed(void **state)
{
	(void)state;
	check_crash_after_swap_rename(true);
}

/* The cleaner removed every batch before the active segment, and a crash
 * tore the active segment's only batch: a read in the gap is empty, as
 * Kafka's, not CORRUPT_MESSAGE. */
static void test_read_in_a_trailing_gap_is_empty(void **state)
{
	(void)state;
	E->cfg.compact = true;
	E->cfg.segment_bytes = 100; /* every batch its own segment */
	struct partition_log *l = open_log(true, 0);
	append_keyed_until(l, 0, 2 * KEYS, KEYS); /* values, then a tombstone per key */
	append_keyed(l, 2 * KEYS, 2 * KEYS + 1);
	for (int round = 0; round < 2; round++) {
		struct log_cleaner_pass p;
		pass_over_retaining(l, &p, 0); /* sets the horizons, then passes them */
		assert_int_equal(log_cleaner_swap(l, &p), p.nruns);
		log_cleaner_pass_unlink_doomed(&p);
		log_cleaner_pass_free(&p);
	}
	partition_log_close(l);
	assert_int_equal(truncate(seg_path(2 * KEYS, ".log"), 0), 0);
	l = open_log(false, 0);
	assert_int_equal(partition_log_high_watermark(l), 2 * KEYS);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 1, 1 << 20, true, &rd), KERR_NONE);
	assert_int_equal(rd.len, 0);
	partition_log_close(l);
}

/* An index .swap left without its log's (the log was renamed first). */
static void test_stray_index_swap_is_removed(void **state)
{
	(void)state;
	E->cfg.compact = true;
	struct partition_log *l = open_log(true, 0);
	append_keyed(l, 0, 4);
	partition_log_close(l);
	FILE *f = fopen(seg_path(0, ".index.swap"), "w");
	fclose(f);
	l = open_log(true, 0);
	assert_int_equal(count_files(".swap"), 0);
	struct seen s;
	read_all(l, &s);
	assert_int_equal(s.n, 4);
	partition_log_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_swap_keeps_the_latest_per_key_at_its_offset,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_swap_keeps_the_old_segments,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_swap_rename, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_old_segments_renamed, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_stray_index_swap_is_removed, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_read_in_a_trailing_gap_is_empty, fixture_setup,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
