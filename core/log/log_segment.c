/* Segment files and their Kafka-format indexes: opening, index bookkeeping,
 * writing and loading the .index/.timeindex files, rebuilding them from batch
 * headers, and the sanity check every batch header read back from disk goes
 * through (see log_internal.h).
 *
 * Index entries live in memory and are written to the files when a segment is
 * rolled or the log is closed or synced: an index is only a hint (a read
 * scans batch headers from the entry it finds), so one that is missing or
 * does not agree with its segment is rebuilt from the headers. */
#include "core/log/log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/crc32c.h"
#include "proto/cursor.h"

int64_t log_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int log_grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint32_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

void segment_path(const struct partition_log *l, int64_t base, const char *ext, char *out,
		  size_t cap)
{
	snprintf(out, cap, "%s/%020" PRId64 "%s", l->dir, base, ext);
}

uint32_t log_segment_for(const struct partition_log *l, int64_t offset)
{
	uint32_t lo = 0, hi = l->nsegs;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (l->segs[mid].base_offset <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int64_t log_segment_limit(const struct partition_log *l, uint32_t i)
{
	return i + 1 < l->nsegs ? l->segs[i + 1].base_offset : l->end_offset;
}

int log_add_segment(struct partition_log *l, const struct segment *s)
{
	if (log_grow((void **)&l->segs, &l->segs_cap, l->nsegs + 1, sizeof(*l->segs)) != 0)
		return -ENOMEM;
	l->segs[l->nsegs++] = *s;
	return 0;
}

void segment_reset_indexes(struct segment *s)
{
	s->idx_len = s->tidx_len = 0;
	s->bytes_since_index = 0;
	s->max_ts = s->max_ts_offset = -1;
}

/* Index bookkeeping for a batch at pos, as Kafka does it: an offset entry
 * (batch last offset -> batch position) every index_interval_bytes, and a
 * time entry there too when the largest timestamp so far grew. Relative
 * offsets fit an int32: the log rolls before they could not. */
void segment_note_batch(struct partition_log *l, struct segment *s, uint64_t pos,
			const struct record_batch_header *h)
{
	int64_t last = h->base_offset + h->last_offset_delta;
	uint64_t total = record_batch_total_bytes(h);
	if (h->max_timestamp > s->max_ts) {
		s->max_ts = h->max_timestamp;
		s->max_ts_offset = last;
	}
	if (s->bytes_since_index > l->cfg.index_interval_bytes || s->idx_len == 0) {
		if (log_grow((void **)&s->idx, &s->idx_cap, s->idx_len + 1, sizeof(*s->idx)) == 0) {
			s->idx[s->idx_len].rel_offset = (int32_t)(last - s->base_offset);
			s->idx[s->idx_len].pos = (uint32_t)pos;
			s->idx_len++;
		}
		bool grew = s->tidx_len == 0 || s->max_ts > s->tidx[s->tidx_len - 1].timestamp;
		if (grew && s->max_ts >= 0 &&
		    log_grow((void **)&s->tidx, &s->tidx_cap, s->tidx_len + 1, sizeof(*s->tidx)) == 0) {
			s->tidx[s->tidx_len].timestamp = s->max_ts;
			s->tidx[s->tidx_len].rel_offset = (int32_t)(s->max_ts_offset - s->base_offset);
			s->tidx_len++;
		}
		s->bytes_since_index = 0;
	}
	s->bytes_since_index += total;
}

void segment_seal_time_index(struct segment *s)
{
	if (s->max_ts >= 0 && (s->tidx_len == 0 || s->tidx[s->tidx_len - 1].timestamp < s->max_ts) &&
	    log_grow((void **)&s->tidx, &s->tidx_cap, s->tidx_len + 1, sizeof(*s->tidx)) == 0) {
		s->tidx[s->tidx_len].timestamp = s->max_ts;
		s->tidx[s->tidx_len].rel_offset = (int32_t)(s->max_ts_offset - s->base_offset);
		s->tidx_len++;
	}
}

/* Writes len bytes at offset 0, retrying short writes (the retry reports
 * the errno a short write stands for, e.g. ENOSPC). */
static int segment_write_all(int fd, const uint8_t *p, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int segment_write_indexes(struct partition_log *l, struct segment *s, int fds[2])
{
	return segment_write_indexes_named(l, s, "", fds);
}

int segment_write_indexes_named(struct partition_log *l, struct segment *s, const char *suffix,
				int fds[2])
{
	char path[PATH_MAX + 96]; /* the directory, a base, an extension with a suffix */
	size_t n = (size_t)s->idx_len * OFFSET_ENTRY_BYTES;
	size_t m = (size_t)s->tidx_len * TIME_ENTRY_BYTES;
	uint8_t *buf = malloc(n + m + 1);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->idx_len; i++) {
		be_store(buf + i * OFFSET_ENTRY_BYTES, (uint32_t)s->idx[i].rel_offset, 4);
		be_store(buf + i * OFFSET_ENTRY_BYTES + 4, s->idx[i].pos, 4);
	}
	for (uint32_t i = 0; i < s->tidx_len; i++) {
		be_store(buf + n + i * TIME_ENTRY_BYTES, (uint64_t)s->tidx[i].timestamp, 8);
		be_store(buf + n + i * TIME_ENTRY_BYTES + 8, (uint32_t)s->tidx[i].rel_offset, 4);
	}
	int rc = 0;
	char exts[2][32];
	snprintf(exts[0], sizeof(exts[0]), ".index%s", suffix);
	snprintf(exts[1], sizeof(exts[1]), ".timeindex%s", suffix);
	const uint8_t *src[2] = { buf, buf + n };
	size_t len[2] = { n, m };
	int opened[2] = { -1, -1 };
	for (int k = 0; k < 2 && rc == 0; k++) {
		segment_path(l, s->base_offset, exts[k], path, sizeof(path));
		opened[k] = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
		if (opened[k] < 0)
			rc = -errno;
		else
			rc = segment_write_all(opened[k], src[k], len[k]);
		if (rc == 0 && !fds && fdatasync(opened[k]) != 0)
			rc = -errno;
	}
	free(buf);
	for (int k = 0; k < 2; k++) {
		if (rc == 0 && fds)
			fds[k] = opened[k];
		else if (opened[k] >= 0)
			close(opened[k]);
	}
	return rc;
}

void segment_free(struct segment *s)
{
	if (s->map)
		munmap((void *)s->map, s->map_len);
	if (s->fd >= 0)
		close(s->fd);
	free(s->idx);
	free(s->tidx);
	free(s->aborted);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

void segment_remove(struct partition_log *l, struct segment *s)
{
	char path[PATH_MAX + 32];
	const char *exts[4] = { ".log", ".index", ".timeindex", ".txnindex" };
	for (int e = 0; e < 4; e++) {
		segment_path(l, s->base_offset, exts[e], path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			slog_warn("log", "cannot remove %s: %s", path, strerror(errno));
	}
	segment_free(s);
}

/* Kafka's roll jitter: uniform in [0, min(segment.jitter.ms, segment.ms)). */
static int64_t segment_roll_jitter_ms(const struct log_config *cfg)
{
	uint64_t bound = cfg->segment_jitter_ms < cfg->segment_ms ? cfg->segment_jitter_ms
								  : cfg->segment_ms;
	uint64_t r = 0;
	if (bound == 0)
		return 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)log_now_ms() * 0x9E3779B97F4A7C15ull;
	return (int64_t)(r % bound);
}

int segment_open(struct partition_log *l, int64_t base, bool create, struct segment *s)
{
	char path[PATH_MAX + 32];
	memset(s, 0, sizeof(*s));
	s->base_offset = base;
	s->max_ts = -1;
	s->max_ts_offset = -1;
	s->created_ms = log_now_ms();
	s->roll_jitter_ms = segment_roll_jitter_ms(&l->cfg);
	s->rolling_ts = -1;
	segment_path(l, base, ".log", path, sizeof(path));
	s->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
	if (s->fd < 0)
		return -errno;
	struct stat st;
	if (fstat(s->fd, &st) != 0) {
		int e = errno;
		segment_free(s);
		return -e;
	}
	s->size = s->visible_size = (uint64_t)st.st_size;
	s->map_len = (size_t)st.st_size > l->cfg.segment_bytes ? (size_t)st.st_size : l->cfg.segment_bytes;
	void *map = s->map_len ? mmap(NULL, s->map_len, PROT_READ, MAP_SHARED, s->fd, 0) : MAP_FAILED;
	s->map = map == MAP_FAILED ? NULL : map;
	if (create) {
		/* Like Kafka, a segment has its index files from the start; their
		 * entries are written at roll, sync and close. */
		const char *exts[2] = { ".index", ".timeindex" };
		for (int k = 0; k < 2; k++) {
			segment_path(l, base, exts[k], path, sizeof(path));
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0) {
				int e = errno;
				segment_remove(l, s);
				return -e;
			}
			close(fd);
		}
	}
	return 0;
}

/* The whole of an index file when its size is a multiple of `entry` and
 * at most max_entries entries; NULL otherwise (also when missing). */
static uint8_t *segment_read_index_file(const char *path, size_t entry, uint64_t max_entries,
					uint32_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) == 0 && st.st_size % (off_t)entry == 0 &&
	    (uint64_t)st.st_size / entry <= max_entries) {
		*n = (uint32_t)((uint64_t)st.st_size / entry);
		buf = malloc((size_t)st.st_size + 1);
		if (buf && pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

/* Offset entries strictly increasing, inside the segment's bytes and offsets,
 * and the last one naming the batch that is really there. */
static bool segment_parse_offset_index(struct partition_log *l, uint32_t i, const uint8_t *buf,
				       uint32_t n)
{
	struct segment *s = &l->segs[i];
	int64_t limit = log_segment_limit(l, i);
	if (n == 0 || log_grow((void **)&s->idx, &s->idx_cap, n, sizeof(*s->idx)) != 0)
		return false;
	for (uint32_t k = 0; k < n; k++) {
		struct offset_entry e = { .rel_offset = (int32_t)be_load(buf + k * 8, 4),
					  .pos = (uint32_t)be_load(buf + k * 8 + 4, 4) };
		if (e.rel_offset < 0 || e.pos >= s->size || s->base_offset + e.rel_offset >= limit)
			return false;
		if (k > 0 && (e.pos <= s->idx[k - 1].pos || e.rel_offset <= s->idx[k - 1].rel_offset))
			return false;
		s->idx[k] = e;
	}
	struct record_batch_header h;
	const char *why;
	if (log_batch_at(l, i, s->idx[n - 1].pos, s->base_offset, &h, &why) != LOG_BATCH_OK ||
	    h.base_offset + h.last_offset_delta != s->base_offset + s->idx[n - 1].rel_offset)
		return false;
	s->idx_len = n;
	return true;
}

/* Time entries non-decreasing in both fields and inside the segment. */
static bool segment_parse_time_index(struct partition_log *l, uint32_t i, const uint8_t *buf,
				     uint32_t n)
{
	struct segment *s = &l->segs[i];
	int64_t limit = log_segment_limit(l, i);
	if (n == 0 || log_grow((void **)&s->tidx, &s->tidx_cap, n, sizeof(*s->tidx)) != 0)
		return false;
	for (uint32_t k = 0; k < n; k++) {
		struct time_entry e = { .timestamp = (int64_t)be_load(buf + k * 12, 8),
					.rel_offset = (int32_t)be_load(buf + k * 12 + 8, 4) };
		if (e.timestamp < 0 || e.rel_offset < 0 || s->base_offset + e.rel_offset >= limit)
			return false;
		if (k > 0 && (e.timestamp < s->tidx[k - 1].timestamp ||
			      e.rel_offset < s->tidx[k - 1].rel_offset))
			return false;
		s->tidx[k] = e;
	}
	s->tidx_len = n;
	s->max_ts = s->tidx[n - 1].timestamp;
	s->max_ts_offset = s->base_offset + s->tidx[n - 1].rel_offset;
	return true;
}

bool segment_load_indexes(struct partition_log *l, uint32_t i)
{
	struct segment *s = &l->segs[i];
	char path[PATH_MAX + 32];
	segment_reset_indexes(s);
	/* Every entry names a distinct batch. */
	uint64_t max_entries = s->size / RECORD_BATCH_HEADER_BYTES + 1;
	uint32_t n = 0, m = 0;
	segment_path(l, s->base_offset, ".index", path, sizeof(path));
	uint8_t *ib = segment_read_index_file(path, OFFSET_ENTRY_BYTES, max_entries, &n);
	segment_path(l, s->base_offset, ".timeindex", path, sizeof(path));
	uint8_t *tb = segment_read_index_file(path, TIME_ENTRY_BYTES, max_entries, &m);
	bool ok = ib && tb && segment_parse_offset_index(l, i, ib, n) &&
		  segment_parse_time_index(l, i, tb, m);
	free(ib);
	free(tb);
	if (!ok)
		segment_reset_indexes(s);
	return ok;
}

bool log_batch_readable(const struct partition_log *l, uint32_t i, uint64_t pos,
			const struct record_batch_header *h)
{
	const struct segment *s = &l->segs[i];
	if (!s->verify_reads)
		return true;
	uint64_t total = record_batch_total_bytes(h);
	const uint8_t *p = s->map && pos + total <= s->map_len ? s->map + pos : NULL;
	uint8_t *copy = NULL;
	if (!p) {
		copy = malloc(total);
		if (!copy || pread(s->fd, copy, total, (off_t)pos) != (ssize_t)total) {
			free(copy);
			return false;
		}
		p = copy;
	}
	bool ok = crc32c(0, p + RECORD_BATCH_CRC_START, (size_t)total - RECORD_BATCH_CRC_START) ==
		  h->crc;
	free(copy);
	return ok;
}

enum log_batch log_batch_at(const struct partition_log *l, uint32_t i, uint64_t pos,
			    int64_t min_offset, struct record_batch_header *h, const char **why)
{
	const struct segment *s = &l->segs[i];
	uint8_t hdr[RECORD_BATCH_HEADER_BYTES];
	if (pos == s->visible_size)
		return LOG_BATCH_END;
	*why = "batch header cut short";
	if (pos > s->visible_size || s->visible_size - pos < RECORD_BATCH_HEADER_BYTES)
		return LOG_BATCH_CORRUPT;
	if (s->map && pos + sizeof(hdr) <= s->map_len) {
		memcpy(hdr, s->map + pos, sizeof(hdr));
	} else if (pread(s->fd, hdr, sizeof(hdr), (off_t)pos) != (ssize_t)sizeof(hdr)) {
		*why = "batch header unreadable";
		return LOG_BATCH_CORRUPT;
	}
	record_batch_header_read(hdr, h);
	int64_t limit = log_segment_limit(l, i);
	uint64_t total = record_batch_total_bytes(h);
	if (h->magic != RECORD_BATCH_MAGIC_V2)
		*why = "bad magic";
	else if (h->batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD)
		*why = "batch length below the header's";
	else if (total > s->visible_size - pos)
		*why = "batch runs past the segment's end";
	else if (h->last_offset_delta < 0 || h->record_count < 0)
		*why = "negative offset delta or record count";
	else if (h->base_offset < min_offset || h->base_offset < s->base_offset)
		*why = "offsets go backwards";
	else if (h->base_offset >= limit || limit - h->base_offset <= h->last_offset_delta)
		*why = "offsets beyond the segment's";
	else if (h->base_offset + h->last_offset_delta - s->base_offset > INT32_MAX)
		*why = "offsets beyond int32 of the segment's base";
	else
		return LOG_BATCH_OK;
	return LOG_BATCH_CORRUPT;
}

uint64_t segment_rebuild_indexes(struct partition_log *l, uint32_t i, const char **why)
{
	struct segment *s = &l->segs[i];
	segment_reset_indexes(s);
	uint64_t pos = 0;
	int64_t next = s->base_offset;
	struct record_batch_header h;
	enum log_batch r;
	*why = NULL;
	while ((r = log_batch_at(l, i, pos, next, &h, why)) == LOG_BATCH_OK) {
		segment_note_batch(l, s, pos, &h);
		next = h.base_offset + h.last_offset_delta + 1;
		pos += record_batch_total_bytes(&h);
	}
	if (r == LOG_BATCH_END)
		*why = NULL;
	segment_seal_time_index(s);
	return pos;
}
