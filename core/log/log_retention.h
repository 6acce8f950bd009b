/* Retention and DeleteRecords: which whole segments leave a partition's log,
 * decided as Kafka's UnifiedLog.deleteOldSegments decides it, and their
 * removal off the shard's loop.
 *
 * The decision looks at the segments oldest first and stops at the first one
 * that may not go; every candidate ends at or below the high watermark (so the
 * log start never passes it), and the active segment goes only when it is not
 * empty (the log then rolls first: a log always keeps one segment). Three
 * reasons apply in Kafka's order, each to what the previous left:
 *   - log start: the next segment starts at or below the log start offset
 *     (DeleteRecords moved it), whatever the cleanup policy;
 *   - size (cleanup.policy with delete, retention.bytes >= 0): while the log,
 *     active segment included, is larger than retention.bytes by at least
 *     the segment's size;
 *   - time (cleanup.policy with delete, retention.ms >= 0): the segment's
 *     largest timestamp (its file's mtime when it has none) is more than
 *     retention.ms old.
 * A removed segment leaves the log's segment list at once (no read can plan
 * on it again), its files are renamed with Kafka's `.deleted` suffix, and
 * after file.delete.delay.ms its mapping's page-table entries are dropped
 * (MADV_DONTNEED), its files unlinked and its descriptor closed, all by
 * io_uring ops in the kernel's workers; the shard's loop only renames and
 * unmaps what is by then an empty mapping. A fetch already
 * planned on it holds its own duplicate of the descriptor (the reference
 * that keeps its bytes readable until the response is sent), which the fetch
 * path then closes in the kernel's workers too when the file has no name any
 * more (io_close_file): whichever close is the last frees the blocks outside
 * every loop. */
#ifndef SLUICE_CORE_LOG_LOG_RETENTION_H
#define SLUICE_CORE_LOG_LOG_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log/partition_log.h"

/* What the decision knows of one segment. */
struct retention_segment {
	int64_t base_offset;
	uint64_t size;
	int64_t largest_timestamp_ms;
};

struct retention_input {
	const struct retention_segment *segs; /* oldest first, at least one */
	uint32_t count;
	int64_t end_offset;
	int64_t high_watermark;
	int64_t log_start;
	bool delete_enabled;
	int64_t retention_ms;    /* -1: no limit */
	int64_t retention_bytes; /* -1: no limit */
	int64_t now_ms;
};

/* How many leading segments go, by reason (in the order they apply). */
struct retention_decision {
	uint32_t by_start;
	uint32_t by_size;
	uint32_t by_time;
};

void log_retention_decide(const struct retention_input *in, struct retention_decision *out);

static inline uint32_t retention_total(const struct retention_decision *d)
{
	return d->by_start + d->by_size + d->by_time;
}

#endif
