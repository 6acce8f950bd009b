/* Opening a partition log: listing its segments, loading or rebuilding their
 * indexes, and recovering what a stop may have left unfinished.
 *
 * Segments below the recovery point were flushed (fdatasync'd when they
 * rolled) and are trusted: their indexes are loaded (rebuilt from batch
 * headers when missing or inconsistent), and damage found in them is never
 * cut off: reads answer CORRUPT_MESSAGE where a batch cannot be read, and the
 * data after it stays. From the segment holding the recovery point on, every
 * batch is read back and CRC-checked, as Kafka's LogLoader does, with one
 * difference: since the recovery point moves at every roll, only the active
 * segment (and the previous one while its flush was under way) can hold
 * writes that never landed, so
 *   - the last segment is cut at its first invalid batch (the torn tail);
 *   - an earlier one is cut only where a write visibly never landed (zeros,
 *     or the file ends inside a batch and no valid batch follows): then the
 *     segments after it, holding writes made past a hole and so never
 *     acknowledged, are removed, and the log stays contiguous. Any other
 *     damage in it is kept, logged and answered with CORRUPT_MESSAGE by reads.
 * In a compacted log a segment that reads back whole may end before the next
 * one's base: the cleaner removed its last batches, not a crash.
 * After a clean stop only the tail of the last segment is checked, from the
 * last offset-index entry whose batch is intact. Before any of this, a
 * cleaning that a stop interrupted is finished or undone (log_cleaner_swap.h). */
#include "core/log/log_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log/log_cleaner_swap.h"
#include "core/slog.h"
#include "proto/crc32c.h"

/* What a CRC-checked scan of a segment found. */
struct recovery_scan {
	uint64_t valid_end;   /* position after the last batch that passed */
	int64_t next_offset;  /* offset after it; the scan's start offset when none */
	int64_t chain_next;   /* offset after the last batch with a sane header */
	uint64_t stop;        /* where the scan stopped */
	const char *why;      /* why, NULL when it read to the file's end */
	uint64_t first_bad;   /* first batch failing its CRC that it stepped over */
	uint64_t bad_batches; /* how many it stepped over */
	bool interior_bad;    /* one of them lies before valid_end */
};

static bool recovery_crc_ok(struct segment *s, uint8_t *buf, uint64_t pos, uint64_t total)
{
	uint8_t *big = total <= RECOVERY_BUF_BYTES ? buf : malloc(total);
	struct record_batch_header h;
	bool ok = big && pread(s->fd, big, total, (off_t)pos) == (ssize_t)total &&
		  record_batch_scan(big, total, true, &h) == RECORD_SCAN_OK;
	if (big != buf)
		free(big);
	return ok;
}

/* Scans segment i from pos (its first batch's offset at least min_offset),
 * noting every batch with a sane header in the indexes. step_over_bad: a
 * batch failing only its CRC is counted and stepped over; else it stops
 * the scan. */
static void recovery_scan(struct partition_log *l, uint32_t i, uint64_t pos, int64_t min_offset,
			  bool step_over_bad, struct recovery_scan *r)
{
	struct segment *s = &l->segs[i];
	memset(r, 0, sizeof(*r));
	r->valid_end = pos;
	r->next_offset = r->chain_next = min_offset;
	uint8_t *buf = malloc(RECOVERY_BUF_BYTES);
	if (!buf) {
		r->why = "out of memory";
		r->stop = pos;
		return;
	}
	int64_t next = min_offset;
	for (;;) {
		struct record_batch_header h;
		const char *why = NULL;
		enum log_batch b = log_batch_at(l, i, pos, next, &h, &why);
		if (b != LOG_BATCH_OK) {
			r->why = b == LOG_BATCH_END ? NULL : why;
			break;
		}
		uint64_t total = record_batch_total_bytes(&h);
		bool ok = recovery_crc_ok(s, buf, pos, total);
		if (!ok && !step_over_bad) {
			r->why = "CRC mismatch";
			break;
		}
		segment_note_batch(l, s, pos, &h);
		next = h.base_offset + h.last_offset_delta + 1;
		pos += total;
		r->chain_next = next;
		if (ok) {
			r->interior_bad = r->bad_batches > 0;
			r->valid_end = pos;
			r->next_offset = next;
		} else if (r->bad_batches++ == 0) {
			r->first_bad = pos - total;
		}
	}
	free(buf);
	r->stop = pos;
}

/* Whether a valid batch at or above min_offset starts somewhere after pos:
 * then the damage at pos is not a tail. Needs the mapping. */
static bool recovery_valid_batch_after(struct partition_log *l, uint32_t i, uint64_t pos,
				       int64_t min_offset)
{
	struct segment *s = &l->segs[i];
	if (!s->map)
		return false;
	uint8_t *buf = malloc(RECOVERY_BUF_BYTES);
	bool found = false;
	for (uint64_t p = pos + 1; buf && !found && p + RECORD_BATCH_HEADER_BYTES <= s->size; p++) {
		struct record_batch_header h;
		const char *why;
		if (s->map[p + 16] != RECORD_BATCH_MAGIC_V2)
			continue;
		found = log_batch_at(l, i, p, min_offset, &h, &why) == LOG_BATCH_OK &&
			recovery_crc_ok(s, buf, p, record_batch_total_bytes(&h));
	}
	free(buf);
	return found;
}

/* Whether the bytes at pos are a write that never landed: the file ends
 * inside a batch header, or the header is zeros (a hole left when a later
 * write landed first), or the file ends inside the batch and nothing valid
 * follows. */
static bool recovery_is_torn(struct partition_log *l, uint32_t i, uint64_t pos, int64_t min_offset)
{
	struct segment *s = &l->segs[i];
	if (s->size - pos < RECORD_BATCH_HEADER_BYTES)
		return true;
	uint8_t hdr[RECORD_BATCH_HEADER_BYTES];
	if (pread(s->fd, hdr, sizeof(hdr), (off_t)pos) != (ssize_t)sizeof(hdr))
		return false;
	bool zeros = true;
	for (size_t k = 0; k < sizeof(hdr) && zeros; k++)
		zeros = hdr[k] == 0;
	if (zeros)
		return true;
	struct record_batch_header h;
	record_batch_header_read(hdr, &h);
	bool runs_past_end = h.magic == RECORD_BATCH_MAGIC_V2 &&
			     record_batch_total_bytes(&h) > s->size - pos;
	return runs_past_end && !recovery_valid_batch_after(l, i, pos, min_offset);
}

/* Whether every byte of the file from `from` to `end` is zero: holes are
 * stepped over (SEEK_DATA), data read back. */
static bool recovery_zeros_from(int fd, uint64_t from, uint64_t end)
{
	uint8_t *buf = malloc(RECOVERY_BUF_BYTES);
	bool zeros = buf != NULL;
	uint64_t pos = from;
	while (zeros && pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data < 0) {
			zeros = errno == ENXIO;
			break;
		}
		off_t hole = lseek(fd, data, SEEK_HOLE);
		uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
		for (pos = (uint64_t)data; zeros && pos < stop;) {
			size_t n = stop - pos < RECOVERY_BUF_BYTES ? (size_t)(stop - pos) : RECOVERY_BUF_BYTES;
			zeros = pread(fd, buf, n, (off_t)pos) == (ssize_t)n && buf[0] == 0 &&
				memcmp(buf, buf + 1, n - 1) == 0;
			pos += n;
		}
	}
	free(buf);
	return zeros;
}

/* Cuts s at `at`. Zeros to the end are what a preallocated segment
 * (segment_write.c) leaves after a crash, not damage: logged as such. */
static void recovery_truncate(struct partition_log *l, struct segment *s, uint64_t at,
			      const char *why, const char *context)
{
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".log", path, sizeof(path));
	if (recovery_zeros_from(s->fd, at, s->size))
		slog_info("log", "%s: cutting the %" PRIu64 " zero byte(s) after the last batch, which "
			  "ends at byte %" PRIu64 " (preallocated or never written)", path, s->size - at,
			  at);
	else
		slog_warn("log", "%s: %s at byte %" PRIu64 "%s; truncating %" PRIu64 " byte(s)", path,
			  why, at, context, s->size - at);
	if (ftruncate(s->fd, (off_t)at) != 0)
		slog_error("log", "%s: truncate: %s", path, strerror(errno));
	s->size = s->visible_size = at;
}

/* Removes the segments after i: they hold writes made past a hole. */
static void recovery_drop_after(struct partition_log *l, uint32_t i, int64_t end)
{
	for (uint32_t k = i + 1; k < l->nsegs; k++) {
		struct segment *later = &l->segs[k];
		slog_warn("log", "%s: removed segment %" PRId64 " (%" PRIu64 " byte(s)): it starts "
			  "past the log's recovered end %" PRId64 ", so nothing in it was acknowledged",
			  l->dir, later->base_offset, later->size, end);
		segment_remove(l, later);
	}
	l->nsegs = i + 1;
}

static void recovery_keep_damage(struct partition_log *l, struct segment *s,
				 const struct recovery_scan *r)
{
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".log", path, sizeof(path));
	if (r->bad_batches) {
		s->verify_reads = true;
		slog_error("log", "%s: %" PRIu64 " batch(es) failing their CRC from byte %" PRIu64
			   "; kept, reads of them answer CORRUPT_MESSAGE", path, r->bad_batches,
			   r->first_bad);
	}
	if (r->why)
		slog_error("log", "%s: %s at byte %" PRIu64 " (not a torn write); kept with the "
			   "segments after it, reads there answer CORRUPT_MESSAGE", path, r->why,
			   r->stop);
}

/* Recovers segment i, not the last one. Returns its end offset as found
 * (after removing the later segments when they start past it). */
static int64_t recovery_middle_segment(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	int64_t next_base = l->segs[i + 1].base_offset;
	struct recovery_scan r;
	segment_reset_indexes(s);
	recovery_scan(l, i, 0, s->base_offset, true, &r);
	segment_seal_time_index(s);
	int64_t end = next_base;
	if (!r.why) {
		/* A compacted segment may end in a gap the cleaner left: its
		 * batches all read back, so the next segment follows it. */
		end = l->cfg.compact && r.chain_next < next_base ? next_base : r.chain_next;
		if (r.bad_batches)
			recovery_keep_damage(l, s, &r);
	} else if (recovery_is_torn(l, i, r.stop, r.chain_next)) {
		recovery_truncate(l, s, r.valid_end, r.why, ", a write that never landed");
		end = r.next_offset;
		segment_rebuild_indexes(l, i, &r.why);
		if (r.interior_bad)
			recovery_keep_damage(l, s, &r);
	} else {
		recovery_keep_damage(l, s, &r);
	}
	if (end < next_base)
		recovery_drop_after(l, i, end);
	else if (end > next_base)
		slog_error("log", "%s: segment %" PRId64 " holds offsets up to %" PRId64 ", past the "
			   "next segment's base %" PRId64 "; reads of them answer CORRUPT_MESSAGE",
			   l->dir, s->base_offset, end - 1, next_base);
	return end;
}

/* The last segment, after an unclean stop: cut at its first invalid batch. */
static int64_t recovery_last_segment(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	struct recovery_scan r;
	segment_reset_indexes(s);
	recovery_scan(l, i, 0, s->base_offset, false, &r);
	if (r.why)
		recovery_truncate(l, s, r.stop, r.why, "");
	return r.next_offset;
}

/* Keeps the index entries before entry k (and the time entries before
 * offset `below`) so that a scan from entry k's batch re-notes the rest. */
static void recovery_keep_entries(struct partition_log *l, struct segment *s, uint32_t k,
				  int64_t below)
{
	s->idx_len = k;
	while (s->tidx_len > 0 && s->base_offset + s->tidx[s->tidx_len - 1].rel_offset >= below)
		s->tidx_len--;
	s->max_ts = s->tidx_len ? s->tidx[s->tidx_len - 1].timestamp : -1;
	s->max_ts_offset = s->tidx_len ? s->base_offset + s->tidx[s->tidx_len - 1].rel_offset : -1;
	s->bytes_since_index = (uint64_t)l->cfg.index_interval_bytes + 1;
}

/* The last segment after a clean stop: its closed indexes are trusted up to
 * the last entry whose batch is intact and is the one the entry names; from
 * there the batches are CRC-checked and the segment cut at the first invalid
 * one. So the end offset is always that of the last valid batch. */
static int64_t recovery_clean_tail(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	struct recovery_scan r;
	uint32_t k = segment_load_indexes(l, i) ? s->idx_len : 0;
	while (k-- > 0) {
		struct record_batch_header h;
		const char *why;
		uint64_t from = s->idx[k].pos;
		if (log_batch_at(l, i, from, s->base_offset, &h, &why) != LOG_BATCH_OK ||
		    h.base_offset + h.last_offset_delta != s->base_offset + s->idx[k].rel_offset)
			continue;
		recovery_keep_entries(l, s, k, h.base_offset);
		recovery_scan(l, i, from, h.base_offset, false, &r);
		if (r.valid_end > from) {
			if (r.why)
				recovery_truncate(l, s, r.stop, r.why, " after a clean shutdown");
			return r.next_offset;
		}
	}
	segment_reset_indexes(s);
	recovery_scan(l, i, 0, s->base_offset, false, &r);
	if (r.why)
		recovery_truncate(l, s, r.stop, r.why, " after a clean shutdown");
	return r.next_offset;
}

/* A flushed segment: its indexes, or rebuilt ones. */
static void recovery_trusted_segment(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	if (s->size == 0 || segment_load_indexes(l, i))
		return;
	const char *why;
	uint64_t end = segment_rebuild_indexes(l, i, &why);
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".log", path, sizeof(path));
	slog_info("log", "%s: indexes missing or inconsistent; rebuilt from the batch headers", path);
	if (why)
		slog_error("log", "%s: %s at byte %" PRIu64 "; the segment was flushed, so it is "
			   "kept as it is and reads there answer CORRUPT_MESSAGE", path, why, end);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Base offsets of the .log files in the directory, sorted. */
static int log_list_segments(struct partition_log *l, int64_t **bases, uint32_t *n)
{
	DIR *d = opendir(l->dir);
	if (!d)
		return -errno;
	uint32_t cap = 0;
	*bases = NULL;
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len != SEGMENT_NAME_DIGITS + 4 || strcmp(e->d_name + SEGMENT_NAME_DIGITS, ".log") != 0)
			continue;
		char *end;
		long long base = strtoll(e->d_name, &end, 10);
		if (end != e->d_name + SEGMENT_NAME_DIGITS || base < 0 || base == LLONG_MAX) {
			slog_warn("log", "%s/%s: not a segment name; ignored", l->dir, e->d_name);
			continue;
		}
		if (log_grow((void **)bases, &cap, *n + 1, sizeof(**bases)) != 0) {
			closedir(d);
			return -ENOMEM;
		}
		(*bases)[(*n)++] = base;
	}
	closedir(d);
	if (*n > 1)
		qsort(*bases, *n, sizeof(**bases), cmp_i64);
	return 0;
}

/* The log start offset at open: the checkpointed one (DeleteRecords may have
 * put it inside a segment), never below the first segment nor above the end. */
static void recovery_set_start(struct partition_log *l, int64_t checkpointed)
{
	int64_t start = checkpointed > l->segs[0].base_offset ? checkpointed : l->segs[0].base_offset;
	l->log_start = start < l->hw ? start : l->hw > l->segs[0].base_offset ? l->hw
										: l->segs[0].base_offset;
	l->closed_bytes = 0;
	for (uint32_t i = 0; i + 1 < l->nsegs; i++)
		l->closed_bytes += l->segs[i].size;
}

/* What recovery read back after a crash may still be only in the page cache:
 * the segments before the active one are flushed (at start, before any loop
 * runs) so that the recovery point may pass them; the active one is left to
 * its roll, as it would have been. */
static int recovery_flush(struct partition_log *l, uint32_t from)
{
	for (uint32_t i = from; i + 1 < l->nsegs; i++)
		if (fdatasync(l->segs[i].fd) != 0)
			return -errno;
	return 0;
}

static void log_write_partition_metadata(struct partition_log *l, struct kuuid id)
{
	char text[KUUID_TEXT_BYTES];
	kuuid_format(id, text);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/partition.metadata", l->dir);
	if (access(path, F_OK) == 0)
		return;
	FILE *f = fopen(path, "w");
	if (!f) {
		slog_warn("log", "cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "version: 0\ntopic_id: %s", text);
	fclose(f);
}

static int log_load(struct partition_log *l, const struct log_open_params *p)
{
	int64_t *bases = NULL;
	uint32_t n = 0;
	/* A cleaning that a stop interrupted is finished or undone first. */
	int rc = log_cleaner_recover(l->dir);
	if (rc == 0)
		rc = log_list_segments(l, &bases, &n);
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		struct segment s;
		rc = segment_open(l, bases[i], false, &s);
		if (rc == 0 && (rc = log_add_segment(l, &s)) != 0)
			segment_free(&s);
	}
	free(bases);
	if (rc != 0)
		return rc;
	if (l->nsegs == 0) {
		struct segment s;
		rc = segment_open(l, 0, true, &s);
		if (rc == 0 && (rc = log_add_segment(l, &s)) != 0)
			segment_remove(l, &s);
		return rc;
	}
	/* No batch limit from the log end while it is being found. */
	l->end_offset = INT64_MAX;
	uint32_t first = p->clean_shutdown ? l->nsegs - 1 : log_segment_for(l, p->recovery_point);
	for (uint32_t i = 0; i < first; i++)
		recovery_trusted_segment(l, i);
	int64_t end = 0;
	if (p->clean_shutdown) {
		end = recovery_clean_tail(l, first);
	} else {
		/* A middle segment may find the later ones past a hole and remove
		 * them: it is then the last, already recovered. */
		for (uint32_t i = first; i < l->nsegs; i++)
			end = i + 1 < l->nsegs ? recovery_middle_segment(l, i)
					       : recovery_last_segment(l, i);
		rc = recovery_flush(l, first);
		if (rc != 0)
			return rc;
	}
	l->end_offset = end;
	l->hw = end;
	l->recovery_point = p->clean_shutdown ? end : log_active(l)->base_offset;
	log_active(l)->dirty = !p->clean_shutdown;
	l->epoch_written = end > l->segs[0].base_offset;
	recovery_set_start(l, p->log_start_offset);
	return 0;
}

int partition_log_open(const struct log_open_params *p, struct partition_log **out, char *err,
		       size_t errlen)
{
	struct partition_log *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(l->dir, sizeof(l->dir), "%s", p->dir);
	segment_writer_init(l);
	l->cfg = *p->cfg;
	l->reactor = p->reactor;
	if (mkdir(l->dir, 0755) != 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "mkdir %s: %s", l->dir, strerror(e));
		free(l);
		return -e;
	}
	int rc = log_load(l, p);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", l->dir, strerror(-rc));
		log_free(l);
		return rc;
	}
	log_flush_open(l, p->flush_shard);
	segment_writer_attach(l, log_active(l));
	log_txn_index_load(l);
	log_producers_load(l);
	log_publish_offsets(l);
	log_write_partition_metadata(l, p->topic_id);
	*out = l;
	return 0;
}
