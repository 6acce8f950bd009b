/* The shard's cleaner: rounds on a timer, the choice of the dirtiest log,
 * the hand-over of a pass to the helper thread and the swap when it comes
 * back (see log_cleaner.h). */
#include "core/log/log_cleaner.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/log/log_cleaner_pass.h"
#include "core/log/log_cleaner_swap.h"
#include "core/log/log_internal.h"
#include "core/shard/runtime.h"
#include "core/slog.h"
#include "io/offload.h"

enum {
	PPM = 1000000,
	/* The nice value of the cleaner's thread: on a machine whose cores the
	 * shards' loops fill, cleaning takes what they leave. */
	LOG_CLEANER_NICE = 10,
};
static const uint64_t NS_PER_MS = 1000000;
/* log.cleaner.backoff.ms goes up to Long.MAX_VALUE; in nanoseconds beyond
 * this (about 146 years) it would wrap the clock's deadline: a longer wait
 * is this one. */
static const uint64_t CLEANER_BACKOFF_NS_MAX = UINT64_MAX / 4;

/* A pass and, after its swap, the unlinking of what it replaced. */
struct cleaner_job {
	struct offload_job job;
	struct log_cleaner *c;
	struct partition_log *log;
	struct log_cleaner_pass pass;
	uint64_t started_ns;
};

struct log_cleaner {
	struct reactor *reactor;
	struct log_cleaner_config cfg;
	_Atomic uint32_t *cleaning;
	struct offload *helper;
	struct io_timer timer;
	log_cleaner_each_fn each;
	void *each_ctx;
	struct log_cleaner_map map;
	bool map_ready;
	uint64_t map_bytes;         /* what map was made for */
	uint64_t map_refused_bytes; /* a resize that failed, logged once */
	atomic_bool cancel;
	bool stopped;
	uint32_t in_flight;         /* jobs handed to the helper */
	/* The round's choice. */
	struct partition_log *best;
	struct log_cleaner_policy best_policy;
	double best_ratio;
	struct log_cleaner_stats stats;
};

void log_cleaner_set_offset(struct partition_log *l, int64_t offset)
{
	l->cleaner_offset = offset;
	atomic_store_explicit(&l->published_cleaner_offset, offset, memory_order_relaxed);
}

void log_cleaner_published(const struct partition_log *l, int64_t *offset, uint32_t *dirty_ppm)
{
	*offset = atomic_load_explicit(&l->published_cleaner_offset, memory_order_relaxed);
	*dirty_ppm = atomic_load_explicit(&l->published_dirty_ppm, memory_order_relaxed);
}

const struct log_cleaner_stats *log_cleaner_stats(const struct log_cleaner *c)
{
	return &c->stats;
}

/* The timestamp max.compaction.lag.ms counts from for segment i: its first
 * batch's max timestamp, as Kafka's getFirstBatchTimestamp (-1: none). */
static int64_t cleaner_first_batch_ts(const struct partition_log *l, uint32_t i)
{
	struct record_batch_header h;
	const char *why;
	if (log_batch_at(l, i, 0, l->segs[i].base_offset, &h, &why) != LOG_BATCH_OK)
		return -1;
	return h.max_timestamp;
}

/* Bytes of whole segments clean (below first_dirty) and dirty (from the
 * segment holding first_dirty to first_uncleanable); *first_dirty_ts: when
 * the first dirty segment's first batch was written. */
static void cleaner_measure(const struct partition_log *l, int64_t first_dirty, int64_t end,
			    uint64_t *clean, uint64_t *dirty, int64_t *first_dirty_ts)
{
	*clean = *dirty = 0;
	*first_dirty_ts = -1;
	for (uint32_t i = 0; i + 1 < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		int64_t limit = l->segs[i + 1].base_offset;
		if (limit <= first_dirty) {
			*clean += s->visible_size;
		} else if (limit <= end) {
			if (*dirty == 0)
				*first_dirty_ts = cleaner_first_batch_ts(l, i);
			*dirty += s->visible_size;
		}
	}
}

void log_cleaner_offer(struct log_cleaner *c, struct partition_log *l,
		       const struct log_cleaner_policy *pol)
{
	if (l->offline || l->cleaning || l->uncleanable)
		return;
	/* A checkpoint past the log's end (the log was truncated or made
	 * anew): cleaned from the start again, as Kafka resets it. */
	if (l->cleaner_offset > partition_log_end_offset(l))
		log_cleaner_set_offset(l, 0);
	int64_t now = log_now_ms();
	int64_t start = partition_log_start_offset(l);
	int64_t first_dirty = l->cleaner_offset > start ? l->cleaner_offset : start;
	int64_t end = log_cleaner_first_uncleanable(l, pol->min_compaction_lag_ms, now);
	uint64_t clean, dirty;
	int64_t first_ts;
	cleaner_measure(l, first_dirty, end, &clean, &dirty, &first_ts);
	double ratio = clean + dirty ? (double)dirty / (double)(clean + dirty) : 0;
	atomic_store_explicit(&l->published_dirty_ppm, (uint32_t)(ratio * PPM), memory_order_relaxed);
	bool overdue = pol->max_compaction_lag_ms > 0 && first_ts >= 0 &&
		       now - first_ts > pol->max_compaction_lag_ms;
	if (dirty == 0 || (ratio < pol->min_cleanable_ratio && !overdue))
		return;
	double score = overdue ? 2.0 : ratio;
	if (!c->best || score > c->best_ratio) {
		c->best = l;
		c->best_policy = *pol;
		c->best_ratio = score;
	}
}

static void cleaner_arm(struct log_cleaner *c);

static void cleaner_job_free(struct cleaner_job *j)
{
	log_cleaner_pass_free(&j->pass);
	free(j);
}

static void cleaner_unlink_run(struct offload_job *job)
{
	log_cleaner_pass_unlink_doomed(&container_of(job, struct cleaner_job, job)->pass);
}

static void cleaner_unlink_done(struct offload_job *job)
{
	struct cleaner_job *j = container_of(job, struct cleaner_job, job);
	j->c->in_flight--;
	cleaner_job_free(j);
}

/* Linux's nice is per thread: the helper lowers its own once. */
static void cleaner_thread_yields(void)
{
	static __thread bool niced;
	if (niced)
		return;
	niced = true;
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), LOG_CLEANER_NICE) != 0)
		slog_warn("cleaner", "cannot lower the cleaner thread's priority: %s", strerror(errno));
}

static void cleaner_pass_run(struct offload_job *job)
{
	cleaner_thread_yields();
	log_cleaner_pass_run(&container_of(job, struct cleaner_job, job)->pass);
}

static void cleaner_finish(struct log_cleaner *c, struct cleaner_job *j)
{
	struct log_cleaner_pass *p = &j->pass;
	struct partition_log *l = j->log;
	uint32_t swapped = log_cleaner_swap(l, p);
	log_cleaner_set_offset(l, p->clean_end);
	uint64_t ms = (reactor_now_ns() - j->started_ns) / NS_PER_MS;
	SHARD_COUNTER_ADD(c->stats.runs, 1);
	SHARD_COUNTER_ADD(c->stats.records_dropped, p->records_dropped);
	SHARD_COUNTER_ADD(c->stats.duration_ms, ms);
	slog_info("cleaner", "%s: cleaned up to offset %" PRId64 " in %" PRIu64 " ms: %u run(s) "
		  "of %u segment(s), %" PRIu64 " -> %" PRIu64 " bytes, %" PRIu64 " record(s) "
		  "dropped, %" PRIu64 " kept%s", l->dir, p->clean_end, ms, swapped, p->nsegs,
		  p->bytes_read, p->bytes_written, p->records_dropped, p->records_kept,
		  p->batches_damaged ? "; damaged batches were copied unchanged" : "");
}

static void cleaner_pass_done(struct offload_job *job)
{
	struct cleaner_job *j = container_of(job, struct cleaner_job, job);
	struct log_cleaner *c = j->c;
	struct log_cleaner_pass *p = &j->pass;
	atomic_fetch_sub(c->cleaning, 1);
	j->log->cleaning = false;
	SHARD_COUNTER_ADD(c->stats.bytes_read, p->bytes_read);
	SHARD_COUNTER_ADD(c->stats.bytes_written, p->bytes_written);
	SHARD_COUNTER_ADD(c->stats.throttled_ms, p->throttled_ns / NS_PER_MS);
	if (p->rc == 0 && !c->stopped) {
		cleaner_finish(c, j);
	} else if (p->rc == 0) {
		log_cleaner_pass_discard(p);
	} else if (p->rc != -ECANCELED) {
		/* As Kafka marks a partition uncleanable: one line, no retry
		 * every backoff, until a restart. */
		j->log->uncleanable = true;
		SHARD_COUNTER_ADD(c->stats.failures, 1);
		slog_error("cleaner", "cleaning %s failed: %s; the log is left as it was and not "
			   "cleaned again until a restart", j->log->dir, p->why);
	}
	if (p->ndoomed > 0) {
		j->job.run = cleaner_unlink_run;
		j->job.done = cleaner_unlink_done;
		offload_submit(c->helper, &j->job);
	} else {
		c->in_flight--;
		cleaner_job_free(j);
	}
	if (!c->stopped)
		cleaner_arm(c);
}

/* Takes one of log.cleaner.threads. */
static bool cleaner_take_slot(struct log_cleaner *c)
{
	uint32_t n = atomic_load(c->cleaning);
	while (n < c->cfg.threads)
		if (atomic_compare_exchange_weak(c->cleaning, &n, n + 1))
			return true;
	return false;
}

/* The pass over l's closed, flushed segments. */
static struct cleaner_job *cleaner_job_new(struct log_cleaner *c, struct partition_log *l,
					   const struct log_cleaner_policy *pol)
{
	struct cleaner_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	struct log_cleaner_pass *p = &j->pass;
	if (log_cleaner_pass_prepare(p, l, pol->min_compaction_lag_ms, log_now_ms()) != 0) {
		free(j);
		return NULL;
	}
	p->delete_retention_ms = pol->delete_retention_ms;
	p->inflated_max = c->cfg.inflated_max;
	p->io_max_bytes_per_second = c->cfg.io_max_bytes_per_second;
	p->map = &c->map;
	p->cancel = &c->cancel;
	j->c = c;
	j->log = l;
	j->job.run = cleaner_pass_run;
	j->job.done = cleaner_pass_done;
	j->started_ns = reactor_now_ns();
	return j;
}

/* The key map, allocated at the first pass (a broker without compacted
 * topics never pays for it) and made anew at a pass after the size changed
 * (nothing is in flight then). Kafka divides the dedupe buffer among its
 * cleaner threads. A resize that cannot be allocated keeps the old map. */
static bool cleaner_map_ready(struct log_cleaner *c)
{
	assert(c->in_flight == 0 && c->cfg.threads > 0);
	uint64_t map_bytes = c->cfg.dedupe_buffer_bytes / c->cfg.threads;
	if (c->map_ready && c->map_bytes == map_bytes)
		return true;
	struct log_cleaner_map fresh;
	if (log_cleaner_map_init(&fresh, (size_t)map_bytes) != 0) {
		if (!c->map_ready) {
			slog_error("cleaner", "cannot allocate log.cleaner.dedupe.buffer.size / "
				   "log.cleaner.threads = %" PRIu64 " bytes; retrying in "
				   "log.cleaner.backoff.ms", map_bytes);
			return false;
		}
		if (c->map_refused_bytes != map_bytes)
			slog_error("cleaner", "cannot allocate log.cleaner.dedupe.buffer.size / "
				   "log.cleaner.threads = %" PRIu64 " bytes; cleaning goes on with "
				   "the %" PRIu64 " bytes it had", map_bytes, c->map_bytes);
		c->map_refused_bytes = map_bytes;
		return true;
	}
	if (c->map_ready)
		log_cleaner_map_free(&c->map);
	c->map = fresh;
	c->map_bytes = map_bytes;
	c->map_refused_bytes = 0;
	c->map_ready = true;
	return true;
}

static void cleaner_on_timer(struct io_timer *t)
{
	struct log_cleaner *c = container_of(t, struct log_cleaner, timer);
	if (c->stopped)
		return;
	c->best = NULL;
	c->each(c, c->each_ctx);
	if (!c->best || c->in_flight > 0 || !cleaner_map_ready(c) || !cleaner_take_slot(c)) {
		cleaner_arm(c);
		return;
	}
	struct cleaner_job *j = cleaner_job_new(c, c->best, &c->best_policy);
	if (!j || j->pass.nsegs == 0) {
		atomic_fetch_sub(c->cleaning, 1);
		if (j)
			cleaner_job_free(j);
		cleaner_arm(c);
		return;
	}
	c->best->cleaning = true;
	c->in_flight++;
	offload_submit(c->helper, &j->job);
}

static void cleaner_arm(struct log_cleaner *c)
{
	uint64_t backoff_ns = c->cfg.backoff_ms < CLEANER_BACKOFF_NS_MAX / NS_PER_MS
				      ? c->cfg.backoff_ms * NS_PER_MS
				      : CLEANER_BACKOFF_NS_MAX;
	if (!io_timer_armed(&c->timer))
		io_timer_arm(c->reactor, &c->timer, backoff_ns, cleaner_on_timer);
}

struct log_cleaner *log_cleaner_create(struct reactor *owner, const struct log_cleaner_config *cfg,
				       _Atomic uint32_t *cleaning, const cpu_set_t *cpus,
				       uint32_t shard, log_cleaner_each_fn each, void *ctx,
				       char *err, size_t errlen)
{
	struct log_cleaner *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->reactor = owner;
	c->cfg = *cfg;
	c->cleaning = cleaning;
	c->each = each;
	c->each_ctx = ctx;
	io_timer_init(&c->timer);
	atomic_init(&c->cancel, false);
	/* log.cleaner.threads=0: no shard ever cleans, as no Kafka cleaner
	 * thread would. */
	if (!cfg->enable || cfg->threads == 0) {
		c->cfg.enable = false;
		return c;
	}
	char name[16];
	snprintf(name, sizeof(name), "sluice-cln%u", shard);
	c->helper = offload_create(owner, cpus, name, err, errlen);
	if (!c->helper) {
		free(c);
		return NULL;
	}
	return c;
}

void log_cleaner_start(struct log_cleaner *c)
{
	if (c->cfg.enable && !c->stopped)
		cleaner_arm(c);
}

void log_cleaner_reconfigure(struct log_cleaner *c, const struct log_cleaner_config *cfg)
{
	bool backoff_changed = cfg->backoff_ms != c->cfg.backoff_ms;
	c->cfg.threads = cfg->threads;
	/* A pass in flight keeps the rate it was handed (cleaner_job_new). */
	c->cfg.io_max_bytes_per_second = cfg->io_max_bytes_per_second;
	c->cfg.dedupe_buffer_bytes = cfg->dedupe_buffer_bytes;
	c->cfg.backoff_ms = cfg->backoff_ms;
	/* The wait under way was the old backoff's: the new one starts now. */
	if (backoff_changed && io_timer_armed(&c->timer)) {
		io_timer_stop(c->reactor, &c->timer);
		cleaner_arm(c);
	}
}

void log_cleaner_stop(struct log_cleaner *c)
{
	c->stopped = true;
	atomic_store(&c->cancel, true);
	if (io_timer_armed(&c->timer))
		io_timer_stop(c->reactor, &c->timer);
}

bool log_cleaner_quiet(const struct log_cleaner *c)
{
	return c->in_flight == 0;
}

void log_cleaner_destroy(struct log_cleaner *c)
{
	if (!c)
		return;
	if (c->helper)
		offload_destroy(c->helper);
	if (c->map_ready)
		log_cleaner_map_free(&c->map);
	free(c);
}
