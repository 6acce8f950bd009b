/* One cleaning of one log, on the cleaner's helper thread: the work that
 * reads and writes whole segments, which the shard's loop must never wait
 * for.
 *
 * The owner hands over a description of the log's closed, flushed segments
 * (their base offsets, sizes and offset limits: those files no longer change)
 * and the dirty range [first_dirty, first_uncleanable). The pass
 *   1. fills the key map from the dirty range, batch by batch, until the
 *      range ends or the map is full (clean_end: the offset the map covers
 *      up to; every record below it whose key appears again later in the
 *      covered range is dropped);
 *   2. groups the segments below clean_end, oldest first, into runs whose
 *      sizes add up to at most segment.bytes (and whose offsets fit int32
 *      from the run's base), as Kafka's groupSegmentsBySize does;
 *   3. writes each run as `<base>.log.cleaned` with its `.index.cleaned`,
 *      `.timeindex.cleaned` and `.txnindex.cleaned`, every batch filtered
 *      (log_cleaner_batch.h) under the transactions' and producers' rules
 *      (log_cleaner_txn.h), and fdatasyncs them.
 * The dirty range ends at the first unstable offset too: no pass cleans
 * past an open transaction (Kafka's firstUncleanableOffset). Data of aborted
 * transactions never enters the key map.
 * It reads the segments through descriptors of its own, checks every batch
 * header it reads like log_batch_at does, and gives up (leaving the log as it
 * is and removing what it wrote) at the first thing it cannot step over, when
 * cancelled, or on an I/O error. Reads and writes together are throttled to
 * log.cleaner.io.max.bytes.per.second. The owner then swaps the runs in
 * (log_cleaner_swap.h). */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_PASS_H
#define SLUICE_CORE_LOG_LOG_CLEANER_PASS_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log/log_cleaner_map.h"
#include "core/log/log_cleaner_txn.h"
#include "core/log/partition_log.h"

/* A closed segment as the owner saw it. */
struct log_cleaner_source {
	int64_t base;
	uint64_t size;
	int64_t limit; /* the next segment's base */
};

/* A run of segments [first, first + count) written as one cleaned segment
 * with the first one's base. */
struct log_cleaner_run {
	int64_t base;
	uint32_t first, count;
	uint64_t bytes;    /* of the cleaned segment */
	/* Its .txnindex (written `.txnindex.cleaned` when not empty): the
	 * aborted transactions whose markers it keeps with their data. */
	struct aborted_txn *aborted;
	uint32_t naborted;
};

struct log_cleaner_pass {
	/* in (the owner's) */
	char dir[PATH_MAX];
	struct log_config cfg;
	struct log_cleaner_source *segs;
	uint32_t nsegs;
	int64_t first_dirty;
	int64_t first_uncleanable;
	int64_t now_ms;
	int64_t delete_retention_ms;
	size_t inflated_max;
	uint64_t io_max_bytes_per_second; /* 0: no throttle */
	struct log_cleaner_map *map;
	atomic_bool *cancel;
	struct aborted_txn *aborted;      /* every segment's .txnindex entries */
	uint32_t naborted;
	struct log_cleaner_producers producers;
	/* out */
	int rc;                 /* 0, -ECANCELED, -errno, -EINVAL (damage), -ENOBUFS (map too
				 * small), -ENODATA (nothing cleanable) */
	char why[PATH_MAX + 128];
	int64_t clean_end;
	struct log_cleaner_run *runs;
	uint32_t nruns;
	uint64_t bytes_read, bytes_written;
	uint64_t records_kept, records_dropped, batches_damaged;
	uint64_t throttled_ns;
	/* The swap's: bases of the replaced segments, renamed `.deleted`, for
	 * the helper to unlink. */
	int64_t *doomed;
	uint32_t ndoomed;
};

/* Owner's thread: the end of l's cleanable part: the active segment's base,
 * the recovery point (only flushed segments), the first unstable offset, or
 * the first closed segment with a record newer than min.compaction.lag.ms. */
int64_t log_cleaner_first_uncleanable(const struct partition_log *l, int64_t min_lag_ms,
				      int64_t now_ms);
/* Owner's thread: fills the pass's description of l (its closed segments up
 * to the cleanable end, the dirty range from the cleaner offset, the
 * directory and config, copies of its aborted transactions and its
 * producers' last batches); the caller sets the rest of the inputs.
 * Returns 0 or -ENOMEM. */
int log_cleaner_pass_prepare(struct log_cleaner_pass *p, struct partition_log *l,
			     int64_t min_lag_ms, int64_t now_ms);
/* Runs the pass (helper thread). On failure nothing it wrote is left. */
void log_cleaner_pass_run(struct log_cleaner_pass *p);
/* Removes the `.cleaned` files of the runs (the owner did not swap them). */
void log_cleaner_pass_discard(const struct log_cleaner_pass *p);
/* Unlinks the doomed segments' `.deleted` files and fsyncs the directory
 * (helper thread, after the swap). */
void log_cleaner_pass_unlink_doomed(const struct log_cleaner_pass *p);
/* Frees what the pass allocated (not the map). */
void log_cleaner_pass_free(struct log_cleaner_pass *p);

#endif
