/* A partition log's producer state: the check of an idempotent batch
 * before its append, duplicates answered in offset order, the snapshot at
 * roll and close, the load at open (the newest snapshot, then the batches
 * after it read back from the log), and expiry (see partition_log.h). */
#include "core/log/log_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/log/producer_snapshot.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

static const uint64_t NS_PER_MS = 1000000;
enum { LOG_SNAPSHOT_LOAD_TRIES = 8 };

const struct producer_state *partition_log_producers(const struct partition_log *l)
{
	return &l->producers;
}

enum producer_verdict partition_log_producer_check(struct partition_log *l,
						   const struct record_batch_header *h,
						   struct producer_where where, struct producer_check *out,
						   struct log_append *a)
{
	enum producer_verdict v = producer_state_check(&l->producers, h, where, l->end_offset, out);
	if (v != PRODUCER_DUPLICATE)
		return v;
	a->base_offset = out->dup.first_offset;
	a->log_append_time = out->dup.timestamp;
	a->log = l;
	a->next = NULL;
	a->len = 0;
	a->echo = true;
	a->completed = true;
	a->result = 0;
	if (out->dup.last_offset < log_flush_readable_end(l)) {
		/* Written and visible: answered now. */
		a->log = NULL;
		return v;
	}
	a->segment_base = l->segs[log_segment_for(l, out->dup.first_offset)].base_offset;
	a->end_offset = out->dup.last_offset + 1;
	if (out->dup.last_offset < l->hw) {
		/* Written, its answer held for an fsync (flush.messages=1): so is
		 * this one, released by the same fsync or the next. */
		log_flush_hold(l, a, KERR_NONE);
		log_flush_after_drain(l);
		return v;
	}
	/* Its original is still being written: answered right after it (and
	 * failed with it), in offset order. */
	log_pending_push(l, a);
	return v;
}

void log_producers_publish(struct partition_log *l)
{
	atomic_store_explicit(&l->published_producers, l->producers.count, memory_order_relaxed);
}

uint32_t partition_log_producers_published(const struct partition_log *l)
{
	return atomic_load_explicit(&l->published_producers, memory_order_relaxed);
}

void log_producers_expire(struct partition_log *l)
{
	uint64_t now_ns = reactor_now_ns();
	if (now_ns < l->producers_next_expiry_ns)
		return;
	l->producers_next_expiry_ns = now_ns + (uint64_t)l->cfg.producer_id_expiration_check_interval_ms *
						       NS_PER_MS;
	producer_state_expire(&l->producers, log_now_ms(), l->cfg.producer_id_expiration_ms);
	log_producers_publish(l);
}

void log_producers_snapshot(struct partition_log *l, bool durable)
{
	/* A partition no producer ever wrote to needs no file (as Kafka's
	 * would be, empty); one whose producers all expired gets an empty one,
	 * so that an older snapshot does not bring them back. */
	if (l->producers.count == 0 && l->producers_snapshot_offset < 0)
		return;
	if (l->end_offset == l->producers_snapshot_offset)
		return;
	if (producer_snapshot_write(l->dir, l->end_offset, &l->producers, durable) == 0)
		l->producers_snapshot_offset = l->end_offset;
}

/* Reads back the producer fields of the batches of segment i from `from`
 * on: headers only, each checked as recovery does (log_batch_at), stopping
 * at the first that cannot be read. */
static void log_producers_scan_segment(struct partition_log *l, uint32_t i, int64_t from)
{
	uint64_t pos = 0;
	int64_t next = l->segs[i].base_offset;
	for (;;) {
		struct record_batch_header h;
		const char *why = NULL;
		enum log_batch b = log_batch_at(l, i, pos, next, &h, &why);
		if (b == LOG_BATCH_END)
			return;
		if (b != LOG_BATCH_OK) {
			char path[PATH_MAX + 32];
			segment_path(l, l->segs[i].base_offset, ".log", path, sizeof(path));
			slog_warn("producer", "%s: producer state not read past byte %" PRIu64 " (%s)",
				  path, pos, why);
			return;
		}
		int64_t last = h.base_offset + h.last_offset_delta;
		if (last >= from && log_txns_note(l, l->segs[i].map + pos, &h, h.base_offset,
						  h.max_timestamp) != 0) {
			slog_error("producer", "%s: out of memory rebuilding the producer state", l->dir);
			return;
		}
		next = last + 1;
		pos += record_batch_total_bytes(&h);
	}
}

void log_producers_load(struct partition_log *l)
{
	int64_t from = -1;
	/* A snapshot that cannot be loaded is removed: the next older one is
	 * tried (a bounded number of times, should removing fail). */
	for (int tries = 0; tries < LOG_SNAPSHOT_LOAD_TRIES; tries++) {
		from = producer_snapshot_latest(l->dir, l->end_offset);
		if (from < 0 || producer_snapshot_load(l->dir, from, log_now_ms(),
						       l->cfg.producer_id_expiration_ms,
						       &l->producers) == 0)
			break;
		from = -1;
	}
	l->producers_snapshot_offset = from;
	if (from < 0) {
		/* No snapshot: as Kafka does, only the last two segments are read
		 * (a log that had producers has snapshots at its rolls). */
		from = l->segs[l->nsegs >= 2 ? l->nsegs - 2 : 0].base_offset;
	}
	for (uint32_t i = log_segment_for(l, from); i < l->nsegs && from < l->end_offset; i++)
		log_producers_scan_segment(l, i, from);
	producer_state_expire(&l->producers, log_now_ms(), l->cfg.producer_id_expiration_ms);
	log_producers_publish(l);
}
