/* What the parts of a partition log share about its state, below them all:
 * the figures the owner publishes for other shards, the offset readers may
 * see (log_flush.h), going offline after a failed fsync, the queue that
 * answers appends in offset order, and whether a rolled segment's flush is
 * still pending (see log_internal.h). */
#include "core/log/log_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/slog.h"

void log_publish_offsets(struct partition_log *l)
{
	atomic_store_explicit(&l->published_recovery_point, l->recovery_point, memory_order_relaxed);
	atomic_store_explicit(&l->published_start_offset, l->log_start, memory_order_relaxed);
	atomic_store_explicit(&l->published_hw, log_flush_readable_end(l), memory_order_relaxed);
	atomic_store_explicit(&l->published_bytes, l->closed_bytes + log_active(l)->visible_size,
			      memory_order_relaxed);
	atomic_store_explicit(&l->published_segments, l->nsegs, memory_order_relaxed);
	atomic_store_explicit(&l->published_deleted_segments, l->deleted_segments,
			      memory_order_relaxed);
	atomic_store_explicit(&l->published_deleted_bytes, l->deleted_bytes, memory_order_relaxed);
}

void log_go_offline(struct partition_log *l, int64_t segment_base, const char *what, int err)
{
	if (l->offline)
		return;
	l->offline = true;
	char path[PATH_MAX + 32];
	segment_path(l, segment_base, ".log", path, sizeof(path));
	slog_error("log", "%s: %s failed: %s; data may be lost, so the partition is offline "
		   "until a restart", path, what, strerror(err));
}

void log_pending_push(struct partition_log *l, struct log_append *a)
{
	if (l->pending_tail)
		l->pending_tail->next = a;
	else
		l->pending_head = a;
	l->pending_tail = a;
	l->pending++;
}

bool log_flush_pending(const struct partition_log *l, int64_t base)
{
	for (const struct log_flush *f = l->flush_head; f; f = f->next)
		if (f->segment_base == base)
			return true;
	return false;
}

int64_t log_flush_durable(const struct partition_log *l)
{
	return l->sync.flushed_offset > l->recovery_point ? l->sync.flushed_offset
							  : l->recovery_point;
}

bool log_flush_holds_answers(const struct partition_log *l)
{
	return l->cfg.flush_messages == 1;
}

int64_t log_flush_readable_end(const struct partition_log *l)
{
	if (!log_flush_holds_answers(l))
		return l->hw;
	int64_t durable = log_flush_durable(l);
	if (durable < l->sync.readable_floor)
		durable = l->sync.readable_floor;
	return durable < l->hw ? durable : l->hw;
}
