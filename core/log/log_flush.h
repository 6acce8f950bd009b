/* The flush policy of a partition log and its group commit (log_flush.c).
 *
 * Kafka's keys: after flush.messages offsets (log.flush.interval.messages) or
 * flush.ms (log.flush.interval.ms) since the last flush, checked every
 * log.flush.scheduler.interval.ms, the log is fdatasync'd and the recovery
 * point moves with it. Acknowledgements are not held for that, as in Kafka.
 *
 * flush.messages=1 is the durable acknowledgement: no append is answered
 * before its bytes are on stable storage. It is done as group commit: once
 * an append's write has completed its answer is held; one fdatasync in the
 * kernel's workers (submitted only after the writes it covers completed)
 * covers every held answer of that segment, and its completion releases them
 * all, in offset order. At most one fsync is in flight per log; answers held
 * meanwhile wait for the next, which covers all of them.
 *
 * A failed fsync is not retried as if it had succeeded (the kernel may have
 * dropped the dirty pages): the partition goes offline with a log line
 * naming the file and errno, and every held answer is KAFKA_STORAGE_ERROR. */
#ifndef SLUICE_CORE_LOG_LOG_FLUSH_H
#define SLUICE_CORE_LOG_LOG_FLUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "io/reactor.h"

struct partition_log;
struct log_append;

/* Upper bounds of the fsync latency histogram's buckets, in microseconds
 * (the last bucket, +Inf, is implied). */
#define LOG_FSYNC_BUCKET_BOUNDS_US \
	{ 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000 }
enum { LOG_FSYNC_BUCKETS = 12 };

/* One shard's flush counters: written by the owning shard only, with relaxed
 * atomic stores; read from any shard with relaxed loads (the metrics page). */
struct log_flush_stats {
	uint64_t fsyncs;          /* fdatasyncs of the flush policy completed */
	uint64_t fsync_failures;
	uint64_t appends;         /* appends those fsyncs covered */
	uint64_t records;         /* offsets those fsyncs covered */
	uint64_t held_acks;       /* answers held for a group commit and released */
	uint64_t latency_us_sum;
	uint64_t latency_buckets[LOG_FSYNC_BUCKETS + 1]; /* not cumulative; [last] = +Inf */
};

/* One io shard's flush scheduler: a timer every log.flush.scheduler.interval.ms
 * while some log of the shard with a finite flush.ms has unflushed bytes,
 * and the shard's counters. Owned and used only by that shard's thread; a
 * log joins the list on its own shard, at the append that dirties it. */
struct log_flush_shard {
	struct reactor *reactor;
	uint64_t interval_ms;      /* log.flush.scheduler.interval.ms */
	struct io_timer timer;
	struct partition_log *timed_head;
	/* Logs whose fsync is due: started at the shard's next loop turn, so
	 * that one covers every write completed in the same batch of
	 * completions (Redis's beforeSleep), not only the first. */
	struct partition_log *due_head;
	bool stopped;              /* the broker stops: no more time-based flushes */
	struct log_flush_stats stats;
};

void log_flush_shard_init(struct log_flush_shard *fs, struct reactor *r, uint64_t interval_ms);
/* At the start of each loop turn of the owning shard: starts the due fsyncs
 * (or, for a log gone offline, answers what it held). */
void log_flush_shard_turn(struct log_flush_shard *fs);
/* When the broker stops: the time-based flushes end (the logs are synced at
 * shutdown) and no log stays on the list, which dies with the shard. */
void log_flush_shard_stop(struct log_flush_shard *fs);

/* A log's flush state (embedded in struct partition_log). */
struct log_sync {
	struct log_flush_shard *shard;  /* may be NULL: no time-based flush, no counters */
	struct partition_log *timed_next, *timed_prev;
	bool timed;                     /* on shard->timed_head's list */
	struct partition_log *due_next;
	bool due;                       /* on shard->due_head's list */
	struct log_append *held_head, *held_tail; /* answers waiting for an fsync */
	uint32_t held;
	struct io_op op;
	bool in_flight;
	uint32_t covered;               /* held answers the fsync in flight releases */
	int64_t covered_end;            /* offset below which it makes the log durable */
	int64_t covered_segment;        /* base of the segment it syncs */
	uint64_t covered_records;
	uint64_t started_ns;
	int64_t flushed_offset;         /* durable below here by the policy's flushes */
	int64_t readable_floor;         /* the log end at open: readable whatever is held */
	int64_t last_flush_ms;
};

/* What a log's state asks the policy to do now. */
enum log_flush_action {
	LOG_FLUSH_NOTHING,
	LOG_FLUSH_GROUP_COMMIT,  /* flush.messages=1: answers are held */
	LOG_FLUSH_MESSAGES,      /* flush.messages reached */
	LOG_FLUSH_TIME,          /* flush.ms passed (on a scheduler tick) */
};

struct log_flush_inputs {
	int64_t flush_messages;  /* INT64_MAX: never */
	int64_t flush_ms;        /* INT64_MAX: never */
	uint32_t held;           /* answers held */
	bool in_flight;          /* an fsync is in flight */
	bool offline;
	int64_t unflushed;       /* offsets written since the last flush */
	int64_t since_flush_ms;  /* since the last flush completed */
	bool tick;               /* a scheduler tick, not a completed write */
};

/* The policy's decision, a pure function (unit-tested). */
enum log_flush_action log_flush_decide(const struct log_flush_inputs *in);

/* ---- hooks for partition_log.c ---- */

void log_flush_open(struct partition_log *l, struct log_flush_shard *fs);
/* Whether answers are held until an fsync (flush.messages=1). */
bool log_flush_holds_answers(const struct partition_log *l);
/* A completed append's answer, held for the next fsync. */
void log_flush_hold(struct partition_log *l, struct log_append *a, int16_t error_code);
/* The offset below which readers may see the log: the high watermark, but
 * where answers are held (flush.messages=1), only what is durable, as Kafka
 * moves its high watermark after the flush: no consumer reads a record that
 * a power loss could take back after its producer was refused. */
int64_t log_flush_readable_end(const struct partition_log *l);
/* The offset below which the log is on stable storage: the policy's fsyncs
 * or the rolled segments' flushes, whichever went further. */
int64_t log_flush_durable(const struct partition_log *l);
/* After completed appends were drained: starts an fsync if the policy asks. */
void log_flush_after_drain(struct partition_log *l);
/* After flushes of rolled segments completed: the recovery point may move
 * on to what the policy's fsyncs made durable in the segments after them. */
void log_flush_after_rolled(struct partition_log *l);
/* The fsync in flight and the answers held (for ops_in_flight). */
uint32_t log_flush_in_flight(const struct partition_log *l);
/* Leaves the shard's scheduler; nothing may be in flight. */
void log_flush_leave(struct partition_log *l);

#endif
