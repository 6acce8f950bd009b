/* Read planning and time lookups over a partition's segments (see
 * partition_log.h): offset-index seeks, batch-header walks that trust nothing
 * read back from disk, corrupt batches answered and logged once, and the
 * search for a timestamp inside the one batch the time index leads to. A
 * fetch's plan goes through a residency gate (residency.h): no header or
 * batch it reads is touched before its pages are known to be in memory. */
#include "core/log/log_internal.h"
#include "core/log/residency.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/kafka_errors.h"

void log_report_corrupt(struct partition_log *l, const struct segment *s, uint64_t pos,
			const char *why)
{
	for (uint32_t k = 0; k < LOG_CORRUPT_REPORTS_MAX; k++)
		if (l->reports[k].segment_base == s->base_offset && l->reports[k].pos == pos)
			return;
	l->reports[l->reports_next] = (struct corrupt_report){ s->base_offset, pos };
	l->reports_next = (l->reports_next + 1) % LOG_CORRUPT_REPORTS_MAX;
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".log", path, sizeof(path));
	slog_error("log", "%s: cannot read the batch at byte %" PRIu64 ": %s; answering "
		   "CORRUPT_MESSAGE there", path, pos, why);
}

/* After an index entry led to a batch that is not the one it names: whether
 * the index is at fault (a chain of batch headers from the segment's start
 * runs past the entry's position) rather than the data. The index is then
 * replaced by the one the headers give; else it is kept as it was. */
static bool log_index_was_wrong(struct partition_log *l, uint32_t i, uint64_t entry_pos)
{
	struct segment *s = &l->segs[i];
	struct segment old = *s;
	s->idx = NULL;
	s->tidx = NULL;
	s->idx_cap = s->tidx_cap = 0;
	const char *why;
	bool wrong = segment_rebuild_indexes(l, i, &why) > entry_pos;
	struct segment *drop = wrong ? &old : s;
	free(drop->idx);
	free(drop->tidx);
	if (!wrong) {
		s->idx = old.idx;
		s->tidx = old.tidx;
		s->idx_len = old.idx_len;
		s->idx_cap = old.idx_cap;
		s->tidx_len = old.tidx_len;
		s->tidx_cap = old.tidx_cap;
		s->bytes_since_index = old.bytes_since_index;
		s->max_ts = old.max_ts;
		s->max_ts_offset = old.max_ts_offset;
	}
	return wrong;
}

/* log_batch_at behind the gate g (none when NULL): a header whose page is
 * not resident reads as END, and g->cold_len tells the caller why. */
static enum log_batch log_header_at(const struct partition_log *l, uint32_t i, uint64_t pos,
				    int64_t min_offset, struct record_batch_header *h,
				    const char **why, struct residency_gate *g)
{
	const struct segment *s = &l->segs[i];
	bool touches = pos < s->visible_size && s->visible_size - pos >= RECORD_BATCH_HEADER_BYTES;
	if (g && touches && !residency_gate_pass(g, pos, RECORD_BATCH_HEADER_BYTES))
		return LOG_BATCH_END;
	return log_batch_at(l, i, pos, min_offset, h, why);
}

/* A walk met a batch it cannot step over before reaching offset: the next
 * index entry may still name the batch holding it. */
static bool log_seek_past_damage(const struct partition_log *l, uint32_t i,
				 const struct offset_entry *e, int64_t offset, uint64_t damage,
				 uint64_t *pos, struct record_batch_header *h,
				 struct residency_gate *g)
{
	const struct segment *s = &l->segs[i];
	uint32_t k = e ? (uint32_t)(e - s->idx) + 1 : 0;
	const char *why;
	if (k >= s->idx_len || s->idx[k].pos <= damage)
		return false;
	const struct offset_entry *next = &s->idx[k];
	if (log_header_at(l, i, next->pos, s->base_offset, h, &why, g) != LOG_BATCH_OK ||
	    h->base_offset > offset || h->base_offset + h->last_offset_delta < offset)
		return false;
	*pos = next->pos;
	return true;
}

/* Positions *pos on the first batch of segment i whose last offset is >=
 * offset, starting from the offset index and walking headers. An index entry
 * that does not lead to the batch it names is checked once against the
 * headers (log_index_was_wrong) and the seek retried with the rebuilt index.
 * Returns OK (batch in *h), END (the segment's batches all end below offset)
 * or CORRUPT (at *pos, reason in *why); behind a gate g, END also when a
 * header is cold (g->cold_len set). */
static enum log_batch log_seek(struct partition_log *l, uint32_t i, int64_t offset, uint64_t *pos,
			       struct record_batch_header *h, const char **why,
			       struct residency_gate *g)
{
	struct segment *s = &l->segs[i];
	for (;;) {
		const struct offset_entry *e = offset_index_find(s->idx, s->idx_len,
								 offset - s->base_offset);
		uint64_t p = e ? e->pos : 0;
		int64_t min = s->base_offset;
		enum log_batch r;
		bool mismatch = false;
		while ((r = log_header_at(l, i, p, min, h, why, g)) == LOG_BATCH_OK) {
			int64_t last = h->base_offset + h->last_offset_delta;
			if (e && p == e->pos && last != s->base_offset + e->rel_offset) {
				mismatch = true;
				*why = "the batch is not the one its index entry names";
				r = LOG_BATCH_CORRUPT;
				break;
			}
			if (last >= offset)
				break;
			min = last + 1;
			p += record_batch_total_bytes(h);
		}
		*pos = p;
		if (r == LOG_BATCH_CORRUPT && !mismatch &&
		    log_seek_past_damage(l, i, e, offset, p, pos, h, g))
			return LOG_BATCH_OK;
		bool suspect = mismatch || (e && p == e->pos && r == LOG_BATCH_CORRUPT);
		/* The active segment's index also covers writes in flight, which a
		 * rebuild from the visible headers would lose. */
		bool checkable = i + 1 < l->nsegs || l->pending == 0;
		if (!suspect || s->index_checked || !checkable || (g && g->cold_len))
			return r;
		s->index_checked = true;
		if (!log_index_was_wrong(l, i, p))
			return r;
		char path[PATH_MAX + 32];
		segment_path(l, s->base_offset, ".index", path, sizeof(path));
		slog_warn("log", "%s: the entry for byte %" PRIu64 " does not match its segment; "
			  "indexes rebuilt from the batch headers", path, p);
	}
}

/* The range from the batch at start (header h) on, within max_bytes, of
 * batches starting below `below` (behind a gate g: and resident). */
static void log_plan_range(struct partition_log *l, uint32_t i, uint64_t start,
			   struct record_batch_header h, uint32_t max_bytes, bool first_whole,
			   int64_t below, struct log_read *out, struct residency_gate *g)
{
	const struct segment *s = &l->segs[i];
	uint64_t end = start;
	const char *why;
	int64_t next = h.base_offset;
	do {
		uint64_t total = record_batch_total_bytes(&h);
		if (end - start + total > max_bytes) {
			if (end == start && first_whole) {
				end += total;
				next = h.base_offset + h.last_offset_delta + 1;
			}
			break;
		}
		end += total;
		next = h.base_offset + h.last_offset_delta + 1;
	} while (log_header_at(l, i, end, next, &h, &why, g) == LOG_BATCH_OK &&
		 h.base_offset < below &&
		 (!g || residency_gate_pass(g, end, record_batch_total_bytes(&h))) &&
		 log_batch_readable(l, i, end, &h));
	out->fd = s->fd;
	out->file_off = start;
	out->len = (uint32_t)(end - start);
	out->next_offset = next;
}

int16_t partition_log_read(struct partition_log *l, int64_t offset, uint32_t max_bytes,
			   bool first_whole, struct log_read *out)
{
	return partition_log_read_below(l, offset, max_bytes, first_whole, INT64_MAX, out);
}

/* Enough for a seek from the index entry to the batch holding the offset
 * (entries are index.interval.bytes apart) and the plan after it: what a
 * gate's first check covers. */
static uint64_t log_read_span(const struct partition_log *l, uint32_t max_bytes)
{
	return (uint64_t)max_bytes + l->cfg.index_interval_bytes + 2 * RECORD_BATCH_HEADER_BYTES;
}

/* partition_log_read_below, behind a residency gate when cold is not NULL
 * (see partition_log_read_resident). */
static int16_t log_read_plan(struct partition_log *l, int64_t offset, uint32_t max_bytes,
			     bool first_whole, int64_t below, struct log_read *out,
			     struct log_cold_range *cold)
{
	if (cold)
		*cold = (struct log_cold_range){ .fd = -1 };
	out->fd = -1;
	out->file_off = 0;
	out->len = 0;
	out->next_offset = offset;
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	int64_t readable = log_flush_readable_end(l);
	if (offset < partition_log_start_offset(l) || offset > readable)
		return KERR_OFFSET_OUT_OF_RANGE;
	if (below > readable)
		below = readable;
	if (offset >= below)
		return KERR_NONE;
	for (uint32_t i = log_segment_for(l, offset); i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		uint64_t pos = 0;
		struct record_batch_header h;
		const char *why = NULL;
		struct residency_gate gate, *g = cold ? &gate : NULL;
		if (g)
			residency_gate_init(g, s->fd, s->map, s->map_len, s->visible_size,
					    log_read_span(l, max_bytes));
		enum log_batch r = i == log_segment_for(l, offset)
					   ? log_seek(l, i, offset, &pos, &h, &why, g)
					   : log_header_at(l, i, 0, s->base_offset, &h, &why, g);
		if (r == LOG_BATCH_OK && g && h.base_offset < below)
			(void)residency_gate_pass(g, pos, record_batch_total_bytes(&h));
		if (g && g->cold_len) {
			*cold = (struct log_cold_range){ .fd = s->fd, .off = g->cold_off,
							 .len = g->cold_len };
			return KERR_NONE;
		}
		if (r == LOG_BATCH_END)
			continue;
		if (r == LOG_BATCH_OK && !log_batch_readable(l, i, pos, &h)) {
			r = LOG_BATCH_CORRUPT;
			why = "CRC mismatch";
		}
		if (r == LOG_BATCH_CORRUPT) {
			log_report_corrupt(l, &l->segs[i], pos, why);
			return KERR_CORRUPT_MESSAGE;
		}
		/* A batch past the bound at the offset itself (a compacted gap
		 * up to it): nothing to read yet. */
		if (h.base_offset >= below)
			return KERR_NONE;
		log_plan_range(l, i, pos, h, max_bytes, first_whole, below, out, g);
		return KERR_NONE;
	}
	/* Below the high watermark every offset is in some batch or in a gap
	 * before one; none is left: the log lost data behind our back, unless
	 * the cleaner removed the last batches before an empty active segment. */
	if (l->cfg.compact && log_active(l)->visible_size == 0)
		return KERR_NONE;
	log_report_corrupt(l, log_active(l), log_active(l)->visible_size,
			   "no batch holds an offset below the high watermark");
	return KERR_CORRUPT_MESSAGE;
}

int16_t partition_log_read_below(struct partition_log *l, int64_t offset, uint32_t max_bytes,
				 bool first_whole, int64_t below, struct log_read *out)
{
	return log_read_plan(l, offset, max_bytes, first_whole, below, out, NULL);
}

int16_t partition_log_read_resident(struct partition_log *l, int64_t offset, uint32_t max_bytes,
				    bool first_whole, int64_t below, struct log_read *out,
				    struct log_cold_range *cold)
{
	return log_read_plan(l, offset, max_bytes, first_whole, below, out, cold);
}

/* ---- time lookups ---- */

/* Where the walk for ts starts in segment s: after the last time entry whose
 * timestamp is below ts (every offset up to it has smaller timestamps). */
static int64_t log_time_start(const struct segment *s, int64_t ts)
{
	int64_t from = s->base_offset;
	for (uint32_t k = 0; k < s->tidx_len && s->tidx[k].timestamp < ts; k++)
		from = s->base_offset + s->tidx[k].rel_offset;
	return from;
}

/* partition_log_time_locate, also naming the segment. */
static int16_t log_time_locate(struct partition_log *l, int64_t ts, uint32_t *seg,
			       struct log_time_batch *out)
{
	for (uint32_t i = 0; i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		if (s->max_ts < ts)
			continue;
		uint64_t pos = 0;
		struct record_batch_header h;
		const char *why = NULL;
		enum log_batch r = log_seek(l, i, log_time_start(s, ts), &pos, &h, &why, NULL);
		while (r == LOG_BATCH_OK && h.max_timestamp < ts) {
			pos += record_batch_total_bytes(&h);
			r = log_batch_at(l, i, pos, h.base_offset + h.last_offset_delta + 1, &h, &why);
		}
		if (r == LOG_BATCH_OK && !log_batch_readable(l, i, pos, &h)) {
			r = LOG_BATCH_CORRUPT;
			why = "CRC mismatch";
		}
		if (r == LOG_BATCH_CORRUPT) {
			log_report_corrupt(l, s, pos, why);
			return KERR_CORRUPT_MESSAGE;
		}
		if (r == LOG_BATCH_OK && h.base_offset >= log_flush_readable_end(l))
			break;
		if (r == LOG_BATCH_OK) {
			*seg = i;
			out->fd = s->fd;
			out->file_off = pos;
			out->len = (uint32_t)record_batch_total_bytes(&h);
			out->header = h;
			out->search_records = !(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
			return KERR_NONE;
		}
	}
	*seg = UINT32_MAX;
	return KERR_NONE;
}

int16_t partition_log_time_locate(struct partition_log *l, int64_t ts, bool *found,
				  struct log_time_batch *out)
{
	uint32_t seg;
	*found = false;
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	int16_t err = log_time_locate(l, ts, &seg, out);
	*found = err == KERR_NONE && seg != UINT32_MAX;
	return err;
}

int16_t partition_log_offset_for_time(struct partition_log *l, int64_t ts, int64_t *offset,
				      int64_t *timestamp)
{
	*offset = -1;
	*timestamp = -1;
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	uint32_t seg;
	struct log_time_batch b;
	int16_t err = log_time_locate(l, ts, &seg, &b);
	if (err != KERR_NONE || seg == UINT32_MAX)
		return err;
	/* LogAppendTime batches, and batches whose records do not bear out
	 * their header's max timestamp: the batch's own answer. */
	int64_t batch_offset = b.header.base_offset, batch_ts = b.header.max_timestamp;
	if (!b.search_records) {
		*offset = batch_offset;
		*timestamp = batch_ts;
		return KERR_NONE;
	}
	uint8_t *buf = malloc(b.len);
	if (!buf || pread(b.fd, buf, b.len, (off_t)b.file_off) != (ssize_t)b.len) {
		int e = buf ? errno : ENOMEM;
		free(buf);
		slog_error("log", "%s: reading the batch at byte %" PRIu64 " of segment %" PRId64
			   " for a time lookup: %s", l->dir, b.file_off, l->segs[seg].base_offset,
			   strerror(e));
		return KERR_KAFKA_STORAGE_ERROR;
	}
	int rc = record_batch_find_time(buf, b.len, ts, LOG_DECOMPRESS_MAX_BYTES, offset, timestamp);
	free(buf);
	if (rc < 0) {
		*offset = *timestamp = -1;
		log_report_corrupt(l, &l->segs[seg], b.file_off, strerror(-rc));
		return KERR_CORRUPT_MESSAGE;
	}
	if (rc == 0) {
		*offset = batch_offset;
		*timestamp = batch_ts;
	}
	return KERR_NONE;
}

void partition_log_max_timestamp(struct partition_log *l, int64_t *offset, int64_t *timestamp)
{
	*offset = -1;
	*timestamp = -1;
	for (uint32_t i = 0; i < l->nsegs; i++) {
		if (l->segs[i].max_ts > *timestamp) {
			*timestamp = l->segs[i].max_ts;
			*offset = l->segs[i].max_ts_offset;
		}
	}
}
