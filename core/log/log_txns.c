/* A partition log's transactions: transactional batches and markers kept
 * in the producer state as they are appended or read back, the markers the
 * coordinator writes, the last stable offset, and the segments' .txnindex
 * files (txn_index.h): an entry appended with each ABORT marker, cut back
 * with the log, loaded and checked at open (see partition_log.h). */
#include "core/log/log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/kafka_errors.h"

/* A .txnindex larger than this is not read (it would list one aborted
 * transaction per 34 bytes: far more than any segment holds markers for). */
static const off_t TXN_INDEX_FILE_MAX_BYTES = 64 << 20;

/* ---- the .txnindex files ---- */

/* Writes entries [from, len) of segment s's list at their place in its
 * file. Returns 0 or -errno. */
static int log_txn_index_write(struct partition_log *l, const struct segment *s, uint32_t from)
{
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".txnindex", path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	for (uint32_t k = from; k < s->aborted_len && rc == 0; k++) {
		uint8_t e[TXN_INDEX_ENTRY_BYTES];
		txn_index_encode(e, &s->aborted[k]);
		off_t pos = (off_t)k * TXN_INDEX_ENTRY_BYTES;
		if (pwrite(fd, e, sizeof(e), pos) != (ssize_t)sizeof(e))
			rc = errno ? -errno : -EIO;
	}
	if (rc == 0 && ftruncate(fd, (off_t)s->aborted_len * TXN_INDEX_ENTRY_BYTES) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int log_txn_index_open_for_flush(struct partition_log *l, const struct segment *s)
{
	if (s->aborted_len == 0)
		return -1;
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".txnindex", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		slog_warn("log", "%s: cannot open it to flush it with its segment: %s", path,
			  strerror(errno));
	return fd;
}

/* Lists an aborted transaction in segment i's index, unless an entry for
 * a marker at or past it is there (the scan at open meets markers the
 * index already has). Returns 0, -ENOMEM, or -EIO after taking the log
 * offline (the file could not be written: reads would miss the abort). */
static int log_txn_index_add(struct partition_log *l, uint32_t i, const struct aborted_txn *t)
{
	struct segment *s = &l->segs[i];
	if (s->aborted_len && s->aborted[s->aborted_len - 1].last_offset >= t->last_offset)
		return 0;
	if (log_grow((void **)&s->aborted, &s->aborted_cap, s->aborted_len + 1, sizeof(*t)) != 0)
		return -ENOMEM;
	s->aborted[s->aborted_len++] = *t;
	int rc = log_txn_index_write(l, s, s->aborted_len - 1);
	if (rc != 0) {
		log_go_offline(l, s->base_offset, "writing the transaction index", -rc);
		return -EIO;
	}
	return 0;
}

void log_txn_index_truncate(struct partition_log *l, int64_t end_offset)
{
	for (uint32_t i = 0; i < l->nsegs; i++) {
		struct segment *s = &l->segs[i];
		uint32_t keep = s->aborted_len;
		while (keep && s->aborted[keep - 1].last_offset >= end_offset)
			keep--;
		if (keep == s->aborted_len)
			continue;
		s->aborted_len = keep;
		int rc = log_txn_index_write(l, s, keep);
		if (rc != 0)
			log_go_offline(l, s->base_offset, "cutting the transaction index back", -rc);
	}
}

/* Reads segment i's index file; NULL and *why NULL when there is none. */
static uint8_t *log_txn_index_read(struct partition_log *l, uint32_t i, size_t *len,
				   const char **why)
{
	char path[PATH_MAX + 32];
	segment_path(l, l->segs[i].base_offset, ".txnindex", path, sizeof(path));
	*why = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			*why = strerror(errno);
		return NULL;
	}
	struct stat st;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) != 0)
		*why = strerror(errno);
	else if (st.st_size > TXN_INDEX_FILE_MAX_BYTES)
		*why = "it is larger than any index can be";
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		*why = "out of memory";
	else if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		*why = "it cannot be read whole";
	close(fd);
	if (*why) {
		free(buf);
		return NULL;
	}
	*len = (size_t)st.st_size;
	return buf;
}

/* A corrupt index is rebuilt from its segment's batches alone. A
 * transaction whose first batch is in an earlier segment is listed from
 * this segment's base (its batches here are all the segment can hold); the
 * last stable offset, which transactions open in earlier segments would
 * have held lower, is the log start, so that no reader stops looking for
 * aborts early on a rebuilt entry. */
static void log_txn_index_rebuild(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	struct producer_state seen = { 0 };
	uint64_t pos = 0;
	int64_t next = s->base_offset;
	s->aborted_len = 0;
	for (;;) {
		struct record_batch_header h;
		const char *why = NULL;
		if (log_batch_at(l, i, pos, next, &h, &why) != LOG_BATCH_OK)
			break;
		struct control_marker m;
		int rc = 0;
		if (!(h.attributes & BATCH_ATTR_CONTROL)) {
			if (producer_batch_idempotent(&h))
				rc = producer_state_record(&seen, &h, h.base_offset, h.max_timestamp);
		} else if (control_batch_read(s->map + pos, record_batch_total_bytes(&h), &m)) {
			bool known = producer_state_find(&seen, m.producer_id) != NULL;
			struct producer_txn_end end;
			rc = producer_state_end_txn(&seen, m.producer_id, m.producer_epoch,
						    m.coordinator_epoch, h.base_offset, h.max_timestamp, &end);
			struct aborted_txn t = {
				.producer_id = m.producer_id,
				.first_offset = known ? end.first_offset : s->base_offset,
				.last_offset = h.base_offset,
				.last_stable_offset = l->log_start,
			};
			if (rc == 0 && !m.commit &&
			    log_grow((void **)&s->aborted, &s->aborted_cap, s->aborted_len + 1,
				     sizeof(t)) == 0)
				s->aborted[s->aborted_len++] = t;
		}
		if (rc != 0)
			break;
		next = h.base_offset + h.last_offset_delta + 1;
		pos += record_batch_total_bytes(&h);
	}
	producer_state_clear(&seen);
	int rc = log_txn_index_write(l, s, 0);
	if (rc != 0)
		slog_warn("log", "%s: cannot rewrite the transaction index of segment %" PRId64 ": %s",
			  l->dir, s->base_offset, strerror(-rc));
}

/* Loads and checks segment i's index; keeps only entries whose markers
 * the recovered segment still holds. */
static void log_txn_index_load_segment(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	size_t len;
	const char *why;
	uint8_t *buf = log_txn_index_read(l, i, &len, &why);
	if (!why && buf) {
		why = txn_index_parse(buf, len, s->base_offset, &s->aborted, &s->aborted_len);
		s->aborted_cap = s->aborted_len;
	}
	free(buf);
	if (why) {
		char path[PATH_MAX + 32];
		segment_path(l, s->base_offset, ".txnindex", path, sizeof(path));
		slog_warn("log", "%s: %s; not trusted, rebuilt from the segment's batches", path, why);
		log_txn_index_rebuild(l, i);
		return;
	}
	int64_t limit = log_segment_limit(l, i);
	uint32_t keep = s->aborted_len;
	while (keep && s->aborted[keep - 1].last_offset >= limit)
		keep--;
	if (keep < s->aborted_len) {
		s->aborted_len = keep;
		int rc = log_txn_index_write(l, s, keep);
		if (rc != 0)
			slog_warn("log", "%s: cannot cut the transaction index of segment %" PRId64
				  " back to the recovered log: %s", l->dir, s->base_offset, strerror(-rc));
	}
}

void log_txn_index_load(struct partition_log *l)
{
	for (uint32_t i = 0; i < l->nsegs; i++)
		log_txn_index_load_segment(l, i);
}

uint32_t partition_log_aborted_txns(const struct partition_log *l, int64_t start, int64_t upper,
				    struct aborted_txn *out, uint32_t max)
{
	uint32_t n = 0;
	for (uint32_t i = log_segment_for(l, start); i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		for (uint32_t k = 0; k < s->aborted_len; k++) {
			const struct aborted_txn *t = &s->aborted[k];
			if (t->last_offset >= start && t->first_offset < upper) {
				if (n < max)
					out[n] = *t;
				n++;
			}
			if (t->last_stable_offset >= upper)
				return n;
		}
	}
	return n;
}

/* ---- the producer state ---- */

int log_txns_note(struct partition_log *l, const uint8_t *batch, const struct record_batch_header *h,
		  int64_t base, int64_t ts)
{
	if (!producer_batch_idempotent(h))
		return 0;
	if (!(h->attributes & BATCH_ATTR_CONTROL))
		return producer_state_record(&l->producers, h, base, ts);
	struct control_marker m;
	/* Other control records (Kafka's KRaft ones) end no transaction. */
	if (!control_batch_read(batch, record_batch_total_bytes(h), &m))
		return 0;
	struct producer_txn_end end;
	int rc = producer_state_end_txn(&l->producers, m.producer_id, m.producer_epoch,
					m.coordinator_epoch, base, ts, &end);
	if (rc != 0 || m.commit)
		return rc;
	struct aborted_txn t = { .producer_id = m.producer_id, .first_offset = end.first_offset,
				 .last_offset = base, .last_stable_offset = end.last_stable_offset };
	return log_txn_index_add(l, log_segment_for(l, base), &t);
}

int16_t partition_log_append_marker(struct partition_log *l, const struct control_marker *m,
				    struct log_marker_append *out)
{
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	int16_t err = producer_state_check_marker(&l->producers, m->producer_id, m->producer_epoch,
						  m->coordinator_epoch);
	if (err != KERR_NONE)
		return err;
	control_batch_build(out->batch, m, log_now_ms());
	struct record_batch_header h;
	record_batch_header_read(out->batch, &h);
	out->append.log_append_time = -1;
	return partition_log_append(l, out->batch, sizeof(out->batch), &h, &out->append);
}

int64_t partition_log_last_stable_offset(const struct partition_log *l)
{
	int64_t readable = log_flush_readable_end(l);
	int64_t first = producer_state_first_unstable(&l->producers, l->hw);
	if (first < 0 || first >= readable)
		return readable;
	/* As Kafka's: a transaction DeleteRecords cut into is unstable from
	 * the log start on. */
	return first > l->log_start ? first : l->log_start;
}
