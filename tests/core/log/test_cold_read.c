/* Cold reads: a fetch's plan touches only resident pages (a segment dropped
 * from the page cache plans nothing and names the cold bytes; a partly
 * dropped one plans the resident batches before the first cold one; a hot one
 * plans exactly as an ungated read), and the shard's cold reads bring the
 * bytes in off the loop, at most `limit` at once, one per partition, waking
 * the partition's waiters when done. Needs a filesystem whose page cache
 * posix_fadvise(DONTNEED) empties (not tmpfs): skips otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "core/log/cold_read.h"
#include "core/log/log_internal.h"
#include "core/log/residency.h"
#include "tests/core/log/log_fixture.h"

/* Three closed segments of 10 batches: 0, 20, 40; batch k holds 2k, 2k+1. */
static struct partition_log *log_of_three_segments(void)
{
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2);
	partition_log_close(l);
	return open_log(true, 50);
}

/* Drops [off, off + len) of a segment file from the page cache (pages the
 * open log l mapped while it opened are unmapped first: the kernel keeps
 * mapped pages); skips the test where the filesystem keeps them. */
static void drop_cached(struct partition_log *l, int64_t base, off_t off, off_t len)
{
	for (uint32_t i = 0; l && i < l->nsegs; i++)
		if (l->segs[i].base_offset == base && l->segs[i].map)
			assert_int_equal(madvise((void *)l->segs[i].map, l->segs[i].map_len,
						 MADV_DONTNEED), 0);
	int fd = open(seg_path(base, ".log"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED), 0);
	bool still = residency_resident(fd, NULL, 0, (uint64_t)off, (uint64_t)(len ? len : 1));
	close(fd);
	if (still) {
		fprintf(stderr, "the page cache keeps %s here (tmpfs?): skipped\n", seg_path(base, ".log"));
		exit(77);
	}
}

static void expect_same_plan(struct partition_log *l, int64_t offset, uint32_t max_bytes)
{
	struct log_read plain, gated;
	struct log_cold_range cold;
	assert_int_equal(partition_log_read(l, offset, max_bytes, true, &plain), KERR_NONE);
	assert_int_equal(partition_log_read_resident(l, offset, max_bytes, true, INT64_MAX, &gated,
						     &cold), KERR_NONE);
	assert_int_equal(cold.len, 0);
	assert_int_equal(gated.fd, plain.fd);
	assert_int_equal(gated.file_off, plain.file_off);
	assert_int_equal(gated.len, plain.len);
	assert_int_equal(gated.next_offset, plain.next_offset);
}

static void test_hot_plan_is_the_plain_plan(void **state)
{
	(void)state;
	struct partition_log *l = log_of_three_segments();
	int64_t offsets[] = { 0, 7, 19, 20, 33, 49 };
	uint32_t sizes[] = { 1, BATCH_BYTES, 3 * BATCH_BYTES + 10, 1 << 20 };
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			expect_same_plan(l, offsets[i], sizes[k]);
	partition_log_close(l);
}

static void test_cold_segment_plans_nothing(void **state)
{
	(void)state;
	struct partition_log *l = log_of_three_segments();
	drop_cached(l, 0, 0, 0);
	struct log_read rd;
	struct log_cold_range cold;
	assert_int_equal(partition_log_read_resident(l, 4, 1 << 20, true, INT64_MAX, &rd, &cold),
			 KERR_NONE);
	assert_int_equal(rd.len, 0);
	assert_int_equal(rd.next_offset, 4);
	assert_true(cold.fd >= 0);
	assert_int_equal(cold.off, 0); /* the index entry before offset 4 is at byte 0 */
	assert_int_equal(cold.len, 10 * BATCH_BYTES); /* to the segment's end */
	/* Another segment is not touched by it. */
	expect_same_plan(l, 25, 1 << 20);
	/* Read in, the plan is the plain one. */
	uint8_t buf[10 * BATCH_BYTES];
	assert_int_equal(pread(cold.fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	expect_same_plan(l, 4, 1 << 20);
	partition_log_close(l);
}

static void test_partly_cold_plans_the_hot_batches(void **state)
{
	(void)state;
	struct partition_log *l = log_of_three_segments();
	drop_cached(l, 0, 4096, 4096); /* batch 4 (bytes 4000..4999) is cut by it */
	struct log_read rd;
	struct log_cold_range cold;
	assert_int_equal(partition_log_read_resident(l, 0, 1 << 20, true, INT64_MAX, &rd, &cold),
			 KERR_NONE);
	assert_int_equal(cold.len, 0);
	assert_int_equal(rd.file_off, 0);
	assert_int_equal(rd.len, 4 * BATCH_BYTES);
	assert_int_equal(rd.next_offset, 8);
	assert_int_equal(partition_log_read_resident(l, 8, 1 << 20, true, INT64_MAX, &rd, &cold),
			 KERR_NONE);
	assert_int_equal(rd.len, 0);
	assert_int_equal(cold.off, 4096);
	partition_log_close(l);
}

/* A range that runs past the data's end (a batch header claiming more bytes
 * than the segment holds, or a check's reach) is judged by the bytes that
 * exist: pages past the end are in no cache and do not make a hot segment
 * cold, by mincore on the mapping or by cachestat on the descriptor. */
static void test_gate_past_the_data_end_is_hot(void **state)
{
	(void)state;
	struct partition_log *l = log_of_three_segments();
	const struct segment *s = &l->segs[0];
	uint8_t buf[10 * BATCH_BYTES];
	assert_int_equal(pread(s->fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(s->visible_size, 10 * BATCH_BYTES);
	assert_non_null(s->map);
	const uint8_t *maps[] = { s->map, NULL };
	for (size_t k = 0; k < 2; k++) {
		struct residency_gate g;
		residency_gate_init(&g, s->fd, maps[k], maps[k] ? s->map_len : 0, s->visible_size,
				    RECORD_BATCH_HEADER_BYTES);
		assert_true(residency_gate_pass(&g, 9 * BATCH_BYTES, 4 * RESIDENCY_PAGE_BYTES));
		assert_int_equal(g.cold_len, 0);
		residency_gate_init(&g, s->fd, maps[k], maps[k] ? s->map_len : 0, s->visible_size,
				    1 << 20);
		assert_true(residency_gate_pass(&g, 0, RECORD_BATCH_HEADER_BYTES));
		assert_true(residency_gate_pass(&g, 9 * BATCH_BYTES, 3 * BATCH_BYTES));
	}
	partition_log_close(l);
}

struct observer {
	struct fetch_waiter w;
	int wakes;
};

static void observer_on_wake(struct fetch_waiter *w, bool final)
{
	struct observer *o = container_of(w, struct observer, w);
	o->wakes++;
	if (final)
		fetch_waiter_detach(w);
}

static void test_reads_are_bounded_and_wake(void **state)
{
	(void)state;
	struct partition_log *l = log_of_three_segments();
	partition_log_close(l);
	drop_cached(NULL, 0, 0, 0);
	drop_cached(NULL, 20, 0, 0);
	drop_cached(NULL, 40, 0, 0);
	int fds[3];
	struct fetch_waiter *lists[3] = { NULL, NULL, NULL };
	struct observer obs[3];
	memset(obs, 0, sizeof(obs));
	for (int i = 0; i < 3; i++) {
		fds[i] = open(seg_path(i * 20, ".log"), O_RDONLY);
		assert_true(fds[i] >= 0);
		fetch_waiter_attach(&obs[i].w, &lists[i], observer_on_wake);
	}
	struct cold_reads cr;
	cold_reads_init(&cr, E->reactor, 1);
	for (int i = 0; i < 3; i++)
		cold_reads_request(&cr, fds[i], 0, 10 * BATCH_BYTES, &lists[i]);
	cold_reads_request(&cr, fds[0], 0, 10 * BATCH_BYTES, &lists[0]); /* one per partition */
	assert_int_equal(cr.running, 1);
	assert_int_equal(cr.queued, 2);
	assert_int_equal(cr.stats.queued, 2);
	assert_int_equal(cr.stats.requested, 4);
	for (int i = 0; i < 3; i++) {
		close(fds[i]); /* the reads hold their own descriptors */
		assert_true(cold_reads_pending(&cr, &lists[i]));
	}
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while ((cr.running || cr.queued) && reactor_now_ns() < deadline) {
		reactor_run_once(E->reactor, 10 * MS);
		assert_true(cr.running <= 1);
	}
	while (reactor_inflight(E->reactor) > 0 && reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(cr.stats.reads, 3);
	assert_int_equal(cr.stats.bytes, 25 * BATCH_BYTES); /* the last segment holds 5 */
	assert_int_equal(cr.stats.failures, 0);
	assert_int_equal(cr.stats.running, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(obs[i].wakes, 1);
		assert_false(cold_reads_pending(&cr, &lists[i]));
		int fd = open(seg_path(i * 20, ".log"), O_RDONLY);
		uint64_t size = (uint64_t)file_size(seg_path(i * 20, ".log"));
		assert_true(residency_resident(fd, NULL, 0, 0, size));
		close(fd);
		fetch_waiter_detach(&obs[i].w);
	}
	cold_reads_stop(&cr);
}

/* A partition that goes away while its read waits: the read is dropped at
 * the stop, and nothing wakes the list that is gone. */
static void test_partition_gone_and_stop(void **state)
{
	(void)state;
	struct partition_log *l = log_of_three_segments();
	partition_log_close(l);
	drop_cached(NULL, 0, 0, 0);
	int fd = open(seg_path(0, ".log"), O_RDONLY);
	struct fetch_waiter *first = NULL, *second = NULL;
	struct cold_reads cr;
	cold_reads_init(&cr, E->reactor, 1);
	cold_reads_request(&cr, fd, 0, 10 * BATCH_BYTES, &first);
	cold_reads_request(&cr, fd, 0, 10 * BATCH_BYTES, &second);
	close(fd);
	fetch_waiters_finish(&first);
	fetch_waiters_finish(&second);
	cold_reads_stop(&cr);
	assert_int_equal(cr.queued, 0);
	cold_reads_request(&cr, 0, 0, 1, &second); /* stopped: not taken */
	assert_false(cold_reads_pending(&cr, &second));
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (reactor_inflight(E->reactor) > 0 && reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(cr.running, 0);
	assert_null(first);
	assert_null(second);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_hot_plan_is_the_plain_plan),
		T(test_cold_segment_plans_nothing),
		T(test_partly_cold_plans_the_hot_batches),
		T(test_gate_past_the_data_end_is_hot),
		T(test_reads_are_bounded_and_wake),
		T(test_partition_gone_and_stop),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
