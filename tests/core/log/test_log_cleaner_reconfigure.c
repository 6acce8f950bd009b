/* A shard's cleaner given new settings while it runs
 * (log_cleaner_reconfigure): a backoff lowered ends the wait under way, a
 * thread count raised lets a pass take a slot at once, a smaller dedupe
 * buffer is the key map of the next pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/log/log_cleaner.h"
#include "core/log/log_internal.h"
#include "tests/core/log/cleaner_fixture.h"
#include "tests/core/log/log_fixture.h"

enum { RECORDS = 120, WAIT_MS = 5000, QUIET_MS = 300 };
static const uint64_t LONG_MAX_MS = INT64_MAX;

static struct partition_log *the_log;
static _Atomic uint32_t cleaning;

static const struct log_cleaner_policy POLICY = {
	.min_cleanable_ratio = 0.01, .min_compaction_lag_ms = 0, .max_compaction_lag_ms = 0,
	.delete_retention_ms = 1000,
};

static void offer_the_log(struct log_cleaner *c, void *ctx)
{
	(void)ctx;
	log_cleaner_offer(c, the_log, &POLICY);
}

/* Records [from, to): key k<i % keys>, value v<i>, one per batch. */
static void append_keyed(struct partition_log *l, int from, int to, int keys)
{
	static uint8_t *batch[RECORDS];
	E->done = 0;
	for (int i = from; i < to; i++) {
		char key[16], value[16];
		snprintf(key, sizeof(key), "k%d", i % keys);
		snprintf(value, sizeof(value), "v%d", i);
		const char *k[1] = { key }, *v[1] = { value };
		size_t len;
		batch[i] = make_keyed(k, v, 1, 0, CODEC_NONE, 1000 + i, &len);
		struct record_batch_header h;
		record_batch_header_read(batch[i], &h);
		E->appends[i - from].done = on_append;
		E->appends[i - from].log_append_time = -1;
		assert_int_equal(partition_log_append(l, batch[i], len, &h, &E->appends[i - from]), 0);
	}
	settle(l, to - from);
	for (int i = from; i < to; i++)
		free(batch[i]);
}

static struct log_cleaner_config config(uint64_t backoff_ms)
{
	return (struct log_cleaner_config){ .enable = true, .threads = 1,
					    .dedupe_buffer_bytes = 1 << 16,
					    .backoff_ms = backoff_ms, .inflated_max = 1 << 20 };
}

static struct log_cleaner *start_cleaner(const struct log_cleaner_config *cfg)
{
	E->cfg.segment_bytes = 600;
	E->cfg.index_interval_bytes = 100;
	E->cfg.compact = true;
	the_log = open_log(true, 0);
	cpu_set_t cpus;
	assert_int_equal(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	char err[256];
	struct log_cleaner *c = log_cleaner_create(E->reactor, cfg, &cleaning, &cpus, 0,
						   offer_the_log, NULL, err, sizeof(err));
	if (!c)
		fail_msg("log_cleaner_create: %s", err);
	log_cleaner_start(c);
	return c;
}

/* Runs the loop until the cleaner has made `runs` passes, or for ms. */
static void run_until(struct log_cleaner *c, uint64_t runs, uint64_t ms)
{
	uint64_t deadline = reactor_now_ns() + ms * MS;
	while (log_cleaner_stats(c)->runs < runs && reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
}

static void finish(struct log_cleaner *c)
{
	log_cleaner_stop(c);
	uint64_t deadline = reactor_now_ns() + WAIT_MS * MS;
	while (!log_cleaner_quiet(c) && reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_true(log_cleaner_quiet(c));
	log_cleaner_destroy(c);
	partition_log_close(the_log);
}

/* A cleaner over RECORDS records of 4 keys that has not cleaned them in
 * QUIET_MS. */
static struct log_cleaner *idle_cleaner(const struct log_cleaner_config *cfg)
{
	struct log_cleaner *c = start_cleaner(cfg);
	append_keyed(the_log, 0, RECORDS, 4);
	run_until(c, 1, QUIET_MS);
	assert_int_equal(log_cleaner_stats(c)->runs, 0);
	return c;
}

/* Long.MAX_VALUE ms waits (it once wrapped the deadline and fired at once);
 * 10 ms, set meanwhile, cleans. */
static void test_backoff_lowered_ends_the_wait(void **state)
{
	(void)state;
	struct log_cleaner_config cfg = config(LONG_MAX_MS);
	struct log_cleaner *c = idle_cleaner(&cfg);
	cfg.backoff_ms = 10;
	log_cleaner_reconfigure(c, &cfg);
	run_until(c, 1, WAIT_MS);
	assert_int_equal(log_cleaner_stats(c)->runs, 1);
	assert_true(log_cleaner_stats(c)->records_dropped > 0);
	finish(c);
}

/* Another shard holds the only slot; a second slot is taken at once. */
static void test_threads_raised_take_a_slot(void **state)
{
	(void)state;
	atomic_store(&cleaning, 1);
	struct log_cleaner_config cfg = config(10);
	struct log_cleaner *c = idle_cleaner(&cfg);
	cfg.threads = 2;
	log_cleaner_reconfigure(c, &cfg);
	run_until(c, 1, WAIT_MS);
	assert_int_equal(log_cleaner_stats(c)->runs, 1);
	finish(c);
	assert_int_equal(atomic_load(&cleaning), 1);
	atomic_store(&cleaning, 0);
}

/* After a first pass with room for every key, a buffer of the smallest map
 * (fewer slots than the keys written since) stops the next pass short of
 * the active segment: the map was made anew for it. (No round runs while
 * the records go in.) */
static void test_dedupe_buffer_shrunk_at_the_next_pass(void **state)
{
	(void)state;
	struct log_cleaner_config cfg = config(LONG_MAX_MS);
	struct log_cleaner *c = start_cleaner(&cfg);
	append_keyed(the_log, 0, RECORDS / 2, 4);
	cfg.backoff_ms = 10;
	log_cleaner_reconfigure(c, &cfg);
	run_until(c, 1, WAIT_MS);
	assert_int_equal(log_cleaner_stats(c)->runs, 1);
	int64_t first, after;
	uint32_t ppm;
	log_cleaner_published(the_log, &first, &ppm);
	assert_int_equal(first, the_log->segs[the_log->nsegs - 1].base_offset);
	cfg.backoff_ms = LONG_MAX_MS;
	log_cleaner_reconfigure(c, &cfg);
	append_keyed(the_log, RECORDS / 2, RECORDS, RECORDS);
	cfg.backoff_ms = 10;
	cfg.dedupe_buffer_bytes = 0;
	log_cleaner_reconfigure(c, &cfg);
	run_until(c, 2, WAIT_MS);
	assert_int_equal(log_cleaner_stats(c)->runs, 2);
	log_cleaner_published(the_log, &after, &ppm);
	assert_true(after > first);
	assert_true(after < the_log->segs[the_log->nsegs - 1].base_offset);
	finish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backoff_lowered_ends_the_wait, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_threads_raised_take_a_slot, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dedupe_buffer_shrunk_at_the_next_pass,
						fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
