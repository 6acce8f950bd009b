/* The flush policy of partition logs and the group commit of flush.messages=1:
 * when to fdatasync, the one fsync in flight per log, the answers it
 * releases, the shard's scheduler for flush.ms and its counters (see
 * log_flush.h; partition_log.c calls the hooks). */
#include "core/log/log_flush.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/log/log_internal.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

static const uint64_t NS_PER_MS = 1000000;
static const uint64_t NS_PER_US = 1000;
static const uint64_t FSYNC_BUCKET_BOUNDS_US[LOG_FSYNC_BUCKETS] = LOG_FSYNC_BUCKET_BOUNDS_US;

/* Single-writer counters (log_flush.h). */
#define FLUSH_STAT_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (uint64_t)(n), \
			 __ATOMIC_RELAXED)

enum log_flush_action log_flush_decide(const struct log_flush_inputs *in)
{
	if (in->in_flight || in->offline)
		return LOG_FLUSH_NOTHING;
	if (in->held > 0)
		return LOG_FLUSH_GROUP_COMMIT;
	if (in->unflushed <= 0)
		return LOG_FLUSH_NOTHING;
	if (in->unflushed >= in->flush_messages)
		return LOG_FLUSH_MESSAGES;
	if (in->tick && in->flush_ms != INT64_MAX && in->since_flush_ms >= in->flush_ms)
		return LOG_FLUSH_TIME;
	return LOG_FLUSH_NOTHING;
}

static struct log_flush_inputs log_flush_inputs_of(const struct partition_log *l, bool tick)
{
	return (struct log_flush_inputs){
		.flush_messages = l->cfg.flush_messages,
		.flush_ms = l->cfg.flush_ms,
		.held = l->sync.held,
		.in_flight = l->sync.in_flight,
		.offline = l->offline,
		.unflushed = l->hw - log_flush_durable(l),
		.since_flush_ms = log_now_ms() - l->sync.last_flush_ms,
		.tick = tick,
	};
}

/* ---- the shard's scheduler ---- */

static void log_flush_on_tick(struct io_timer *t);

static void log_flush_arm(struct log_flush_shard *fs)
{
	if (!io_timer_armed(&fs->timer))
		io_timer_arm(fs->reactor, &fs->timer, fs->interval_ms * NS_PER_MS, log_flush_on_tick);
}

void log_flush_shard_init(struct log_flush_shard *fs, struct reactor *r, uint64_t interval_ms)
{
	memset(fs, 0, sizeof(*fs));
	fs->reactor = r;
	fs->interval_ms = interval_ms;
	io_timer_init(&fs->timer);
}

/* A log with a time policy joins its shard's list when it gets unflushed
 * bytes (on its own shard), and leaves when flushed or closed. Without a
 * finite scheduler interval, as in Kafka, flush.ms is never checked. */
static void log_flush_join(struct partition_log *l)
{
	struct log_flush_shard *fs = l->sync.shard;
	if (l->sync.timed || !fs || fs->stopped || l->cfg.flush_ms == INT64_MAX ||
	    fs->interval_ms >= UINT64_MAX / NS_PER_MS)
		return;
	l->sync.timed = true;
	l->sync.timed_prev = NULL;
	l->sync.timed_next = fs->timed_head;
	if (fs->timed_head)
		fs->timed_head->sync.timed_prev = l;
	fs->timed_head = l;
	log_flush_arm(fs);
}

static void log_flush_unjoin(struct partition_log *l)
{
	struct log_flush_shard *fs = l->sync.shard;
	if (!l->sync.timed)
		return;
	if (l->sync.timed_prev)
		l->sync.timed_prev->sync.timed_next = l->sync.timed_next;
	else
		fs->timed_head = l->sync.timed_next;
	if (l->sync.timed_next)
		l->sync.timed_next->sync.timed_prev = l->sync.timed_prev;
	l->sync.timed = false;
	l->sync.timed_next = l->sync.timed_prev = NULL;
	if (!fs->timed_head && io_timer_armed(&fs->timer))
		io_timer_stop(fs->reactor, &fs->timer);
}

static void log_flush_start(struct partition_log *l);

static void log_flush_on_tick(struct io_timer *t)
{
	struct log_flush_shard *fs = container_of(t, struct log_flush_shard, timer);
	struct partition_log *next;
	for (struct partition_log *l = fs->timed_head; l; l = next) {
		next = l->sync.timed_next;
		struct log_flush_inputs in = log_flush_inputs_of(l, true);
		if (log_flush_decide(&in) != LOG_FLUSH_NOTHING)
			log_flush_start(l);
	}
	if (fs->timed_head)
		log_flush_arm(fs);
}

/* ---- the fsync and the answers it releases ---- */

static void log_flush_count(struct partition_log *l, uint64_t latency_us)
{
	struct log_flush_shard *fs = l->sync.shard;
	if (!fs)
		return;
	struct log_flush_stats *st = &fs->stats;
	uint32_t b = 0;
	while (b < LOG_FSYNC_BUCKETS && latency_us > FSYNC_BUCKET_BOUNDS_US[b])
		b++;
	FLUSH_STAT_ADD(st->fsyncs, 1);
	FLUSH_STAT_ADD(st->appends, l->sync.covered);
	FLUSH_STAT_ADD(st->records, l->sync.covered_records);
	FLUSH_STAT_ADD(st->latency_us_sum, latency_us);
	FLUSH_STAT_ADD(st->latency_buckets[b], 1);
}

/* Answers the first n held appends, in offset order; with `failed`, every
 * answer is KAFKA_STORAGE_ERROR. */
static void log_flush_release(struct partition_log *l, uint32_t n, bool failed)
{
	for (uint32_t k = 0; k < n; k++) {
		struct log_append *a = l->sync.held_head;
		l->sync.held_head = a->next;
		if (!l->sync.held_head)
			l->sync.held_tail = NULL;
		l->sync.held--;
		if (l->sync.shard)
			FLUSH_STAT_ADD(l->sync.shard->stats.held_acks, 1);
		a->done(a, failed ? KERR_KAFKA_STORAGE_ERROR : a->held_error);
	}
}

static void log_flush_on_fsync(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct partition_log *l = container_of(op, struct partition_log, sync.op);
	uint64_t latency_us = (reactor_now_ns() - l->sync.started_ns) / NS_PER_US;
	int64_t readable_before = log_flush_readable_end(l);
	l->sync.in_flight = false;
	if (res < 0) {
		if (l->sync.shard)
			FLUSH_STAT_ADD(l->sync.shard->stats.fsync_failures, 1);
		log_go_offline(l, l->sync.covered_segment, "fdatasync", -res);
	}
	log_flush_count(l, latency_us);
	bool failed = l->offline;
	if (!failed) {
		if (l->sync.covered_end > l->sync.flushed_offset)
			l->sync.flushed_offset = l->sync.covered_end;
		/* The recovery point only moves over whole flushed segments: while
		 * a rolled segment's flush is pending, that flush moves it. */
		if (!l->flush_head && l->sync.covered_end > l->recovery_point) {
			l->recovery_point = l->sync.covered_end;
			log_publish_offsets(l);
		}
		l->sync.last_flush_ms = log_now_ms();
	}
	/* Offline: what waits will never be synced. */
	log_flush_release(l, failed ? l->sync.held : l->sync.covered, failed);
	l->sync.covered = 0;
	if (!failed && l->hw <= log_flush_durable(l))
		log_flush_unjoin(l);
	if (!failed && log_flush_readable_end(l) > readable_before) {
		log_publish_offsets(l);
		if (l->hook)
			l->hook(l->hook_ctx);
	}
	log_flush_after_drain(l);
}

/* One fdatasync covering every completed write of one segment: the held
 * answers from the head that are in that segment (or, with none held, the
 * active segment up to the high watermark). */
static void log_flush_start(struct partition_log *l)
{
	struct log_sync *sy = &l->sync;
	int64_t segment = sy->held ? sy->held_head->segment_base : log_active(l)->base_offset;
	uint32_t i = log_segment_for(l, segment);
	sy->covered = 0;
	sy->covered_records = 0;
	sy->covered_end = i + 1 < l->nsegs ? l->segs[i + 1].base_offset : l->hw;
	int64_t from = log_flush_durable(l);
	/* A duplicate's answer is held behind later appends, so the end is
	 * the largest, not the last. */
	int64_t held_end = -1;
	for (struct log_append *a = sy->held_head; a && a->segment_base == segment; a = a->next) {
		sy->covered++;
		if (a->end_offset > held_end)
			held_end = a->end_offset;
	}
	if (held_end >= 0)
		sy->covered_end = held_end;
	if (sy->covered_end > l->hw)
		sy->covered_end = l->hw;
	sy->covered_records = sy->covered_end > from ? (uint64_t)(sy->covered_end - from) : 0;
	sy->covered_segment = segment;
	sy->in_flight = true;
	sy->started_ns = reactor_now_ns();
	sy->op.done = log_flush_on_fsync;
	io_fsync(l->reactor, l->segs[i].fd, true, &sy->op);
}

/* What the log's state asks for, done now: an offline log answers what it
 * held (it will never sync it); else the policy may start an fsync. */
static void log_flush_kick(struct partition_log *l)
{
	if (l->offline && !l->sync.in_flight && l->sync.held) {
		log_flush_release(l, l->sync.held, true);
		return;
	}
	struct log_flush_inputs in = log_flush_inputs_of(l, false);
	if (log_flush_decide(&in) != LOG_FLUSH_NOTHING)
		log_flush_start(l);
}

/* Without a shard (tests of the log alone) the kick comes at once. */
static void log_flush_due(struct partition_log *l)
{
	struct log_flush_shard *fs = l->sync.shard;
	if (!fs) {
		log_flush_kick(l);
		return;
	}
	if (l->sync.due)
		return;
	l->sync.due = true;
	l->sync.due_next = fs->due_head;
	fs->due_head = l;
}

void log_flush_shard_turn(struct log_flush_shard *fs)
{
	while (fs->due_head) {
		struct partition_log *l = fs->due_head;
		fs->due_head = l->sync.due_next;
		l->sync.due = false;
		l->sync.due_next = NULL;
		log_flush_kick(l);
	}
}

void log_flush_shard_stop(struct log_flush_shard *fs)
{
	fs->stopped = true;
	while (fs->timed_head)
		log_flush_unjoin(fs->timed_head);
}

static void log_flush_undue(struct partition_log *l)
{
	if (!l->sync.due)
		return;
	struct partition_log **pp = &l->sync.shard->due_head;
	while (*pp != l)
		pp = &(*pp)->sync.due_next;
	*pp = l->sync.due_next;
	l->sync.due = false;
	l->sync.due_next = NULL;
}

void log_flush_open(struct partition_log *l, struct log_flush_shard *fs)
{
	memset(&l->sync, 0, sizeof(l->sync));
	if (l->cfg.flush_messages <= 0)
		l->cfg.flush_messages = INT64_MAX;
	if (l->cfg.flush_ms < 0)
		l->cfg.flush_ms = INT64_MAX;
	l->sync.shard = fs;
	l->sync.flushed_offset = l->recovery_point;
	l->sync.readable_floor = l->hw;
	l->sync.last_flush_ms = log_now_ms();
}

void log_flush_hold(struct partition_log *l, struct log_append *a, int16_t error_code)
{
	a->held_error = error_code;
	a->next = NULL;
	if (l->sync.held_tail)
		l->sync.held_tail->next = a;
	else
		l->sync.held_head = a;
	l->sync.held_tail = a;
	l->sync.held++;
}

void log_flush_after_drain(struct partition_log *l)
{
	if (l->hw > log_flush_durable(l))
		log_flush_join(l);
	struct log_flush_inputs in = log_flush_inputs_of(l, false);
	if ((l->offline && !l->sync.in_flight && l->sync.held) ||
	    log_flush_decide(&in) != LOG_FLUSH_NOTHING)
		log_flush_due(l);
}

void log_flush_after_rolled(struct partition_log *l)
{
	if (!l->flush_head && !l->offline && l->sync.flushed_offset > l->recovery_point)
		l->recovery_point = l->sync.flushed_offset;
}

uint32_t log_flush_in_flight(const struct partition_log *l)
{
	return l->sync.held + (l->sync.in_flight ? 1u : 0u);
}

void log_flush_leave(struct partition_log *l)
{
	log_flush_unjoin(l);
	log_flush_undue(l);
}
