/* The log cleaner for cleanup.policy=compact (and compact,delete): one per
 * io shard, each with a helper thread of its own.
 *
 * Why a helper thread and not io_uring reads in chunks: cleaning is
 * decompression, hashing and recompression as much as I/O, and that CPU work
 * would sit on the shard's loop between completions. The shard's own offload
 * thread (io/offload.h) is not used either, since a long pass would delay the
 * produce validations queued behind it. So the shard hands a pass over
 * (log_cleaner_pass.h: only closed, flushed segment files, read through
 * descriptors of the helper's own); the helper reports back through the
 * offload's eventfd, and the shard alone swaps segments in its struct
 * partition_log (log_cleaner_swap.h).
 *
 * Every log.cleaner.backoff.ms the shard looks at its compacted logs (the
 * owner of the shard's partitions offers them, log_cleaner_offer), and cleans
 * the one with the highest dirty ratio at or above its
 * min.cleanable.dirty.ratio, or one whose dirty part is older than
 * max.compaction.lag.ms, if fewer than log.cleaner.threads shards are
 * cleaning (a broker-wide atomic count). The dirty part ends at the first of:
 * the active segment, the recovery point (only flushed segments), the first
 * unstable offset (an open transaction), the first segment with a record
 * newer than min.compaction.lag.ms. Its start is the cleaner offset, kept in
 * Kafka's cleaner-offset-checkpoint. Transactions and producers are cleaned
 * as Kafka's cleaner does (log_cleaner_txn.h). */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_H
#define SLUICE_CORE_LOG_LOG_CLEANER_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log/partition_log.h"
#include "io/reactor.h"

struct log_cleaner_config {
	bool enable;                      /* log.cleaner.enable */
	uint32_t threads;                 /* log.cleaner.threads: shards cleaning at once */
	uint64_t io_max_bytes_per_second; /* log.cleaner.io.max.bytes.per.second (per pass) */
	uint64_t dedupe_buffer_bytes;     /* log.cleaner.dedupe.buffer.size, shared by the threads */
	uint64_t backoff_ms;              /* log.cleaner.backoff.ms */
	size_t inflated_max;              /* sluice.batch.inflated.max.bytes */
};

/* One log's settings, from its topic. */
struct log_cleaner_policy {
	double min_cleanable_ratio;       /* min.cleanable.dirty.ratio */
	int64_t min_compaction_lag_ms;
	int64_t max_compaction_lag_ms;
	int64_t delete_retention_ms;
};

/* Single-writer counters (the owning shard stores, anyone loads). */
struct log_cleaner_stats {
	uint64_t runs;
	uint64_t failures;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t records_dropped;
	uint64_t duration_ms;
	uint64_t throttled_ms;
};

struct log_cleaner;

/* Called on the owner's thread each round: offer every compacted log of the
 * shard with log_cleaner_offer. */
typedef void (*log_cleaner_each_fn)(struct log_cleaner *c, void *ctx);

/* Creates the shard's cleaner and its helper thread (on `cpus`). `cleaning`
 * is the broker-wide count of shards with a pass in flight. Callable before
 * the owner's thread runs. NULL with the reason in err. */
struct log_cleaner *log_cleaner_create(struct reactor *owner, const struct log_cleaner_config *cfg,
				       _Atomic uint32_t *cleaning, const cpu_set_t *cpus,
				       uint32_t shard, log_cleaner_each_fn each, void *ctx,
				       char *err, size_t errlen);
/* Owner's thread: starts the rounds (nothing when log.cleaner.enable=false). */
void log_cleaner_start(struct log_cleaner *c);
/* Owner's thread, inside `each`: one compacted log and its settings. */
void log_cleaner_offer(struct log_cleaner *c, struct partition_log *l,
		       const struct log_cleaner_policy *pol);
/* Owner's thread: the broker's new settings (enable and inflated_max are
 * not reconfigured): threads at the next slot taken, backoff from now (a
 * wait under way starts anew), the I/O rate from the next pass, the dedupe
 * map's size at the next pass. */
void log_cleaner_reconfigure(struct log_cleaner *c, const struct log_cleaner_config *cfg);
/* Owner's thread: no more rounds; a pass in flight is cancelled. */
void log_cleaner_stop(struct log_cleaner *c);
/* Whether nothing is in flight. */
bool log_cleaner_quiet(const struct log_cleaner *c);
/* Waits for what is in flight and frees. */
void log_cleaner_destroy(struct log_cleaner *c);
const struct log_cleaner_stats *log_cleaner_stats(const struct log_cleaner *c);

/* At open: the log's cleaner offset from cleaner-offset-checkpoint. */
void log_cleaner_set_offset(struct partition_log *l, int64_t offset);
/* Any shard: the cleaner offset and dirty ratio (parts per million) the
 * owner last published; offset 0 before any cleaning. */
void log_cleaner_published(const struct partition_log *l, int64_t *offset, uint32_t *dirty_ppm);

#endif
