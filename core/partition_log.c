/* A partition's segments, their Kafka-format indexes, recovery, appends through
 * the reactor, and read planning (see partition_log.h).
 *
 * Index entries live in memory and are written to the .index/.timeindex files
 * when a segment is rolled or the log is closed or synced: an index is only a
 * hint (a read scans batch headers from the entry it finds), so after an
 * unclean stop the indexes of the recovered segments are rebuilt by the scan
 * that checks every batch's CRC, as Kafka does. */
#include "core/partition_log.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/offset_index.h"
#include "proto/compression.h"
#include "proto/kafka_errors.h"

enum {
	OFFSET_ENTRY_BYTES = 8,
	TIME_ENTRY_BYTES = 12,
	SCAN_HEADER_BYTES = RECORD_BATCH_HEADER_BYTES,
	RECOVERY_BUF_BYTES = 1 << 20,
	SEGMENT_NAME_DIGITS = 20,
	/* Bound on a batch's records when decompressed for a time lookup. */
	LOG_DECOMPRESS_MAX_BYTES = 64 << 20,
};

struct time_entry {
	int64_t timestamp;
	int32_t rel_offset;
};

struct segment {
	int64_t base_offset;
	int fd;
	/* A read-only mapping for planning reads: batch headers are memory loads,
	 * not syscalls. It spans the file or segment_bytes, whichever is larger;
	 * only bytes below visible_size are ever touched. */
	const uint8_t *map;
	size_t map_len;
	uint64_t size;         /* bytes submitted */
	uint64_t visible_size; /* bytes written and readable */
	int64_t created_ms;
	uint64_t bytes_since_index;
	struct offset_entry *idx;
	uint32_t idx_len, idx_cap;
	struct time_entry *tidx;
	uint32_t tidx_len, tidx_cap;
	int64_t max_ts;        /* largest batch max timestamp, -1 if none */
	int64_t max_ts_offset; /* last offset of that batch */
	bool dirty;            /* appended to since the last fdatasync */
};

struct partition_log {
	char dir[PATH_MAX];
	struct log_config cfg;
	struct reactor *reactor;
	struct segment *segs;
	uint32_t nsegs, segs_cap;
	int64_t end_offset;
	int64_t hw;
	int64_t recovery_point;
	bool offline;
	bool epoch_written;
	struct log_append *pending_head, *pending_tail;
	uint32_t pending;
	void (*hook)(void *);
	void *hook_ctx;
};

static int64_t log_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void segment_path(const struct partition_log *l, int64_t base, const char *ext, char *out,
			 size_t cap)
{
	snprintf(out, cap, "%s/%020" PRId64 "%s", l->dir, base, ext);
}

static struct segment *log_active(struct partition_log *l)
{
	assert(l->nsegs > 0);
	return &l->segs[l->nsegs - 1];
}

/* The last segment whose base offset is <= offset (or the first). */
static uint32_t log_segment_for(const struct partition_log *l, int64_t offset)
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

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
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

/* Index bookkeeping for a batch at pos, as Kafka does it: an offset entry
 * (batch last offset -> batch position) every index_interval_bytes, and a
 * time entry there too when the largest timestamp so far grew. */
static void segment_note_batch(struct partition_log *l, struct segment *s, uint64_t pos,
			       const struct record_batch_header *h)
{
	int64_t last = h->base_offset + h->last_offset_delta;
	uint64_t total = record_batch_total_bytes(h);
	if (h->max_timestamp > s->max_ts) {
		s->max_ts = h->max_timestamp;
		s->max_ts_offset = last;
	}
	if (s->bytes_since_index > l->cfg.index_interval_bytes || s->idx_len == 0) {
		if (grow((void **)&s->idx, &s->idx_cap, s->idx_len + 1, sizeof(*s->idx)) == 0) {
			s->idx[s->idx_len].rel_offset = (int32_t)(last - s->base_offset);
			s->idx[s->idx_len].pos = (uint32_t)pos;
			s->idx_len++;
		}
		bool grew = s->tidx_len == 0 || s->max_ts > s->tidx[s->tidx_len - 1].timestamp;
		if (grew && s->max_ts >= 0 &&
		    grow((void **)&s->tidx, &s->tidx_cap, s->tidx_len + 1, sizeof(*s->tidx)) == 0) {
			s->tidx[s->tidx_len].timestamp = s->max_ts;
			s->tidx[s->tidx_len].rel_offset = (int32_t)(s->max_ts_offset - s->base_offset);
			s->tidx_len++;
		}
		s->bytes_since_index = 0;
	}
	s->bytes_since_index += total;
}

/* Writes both index files of s in Kafka's byte layout. */
static int segment_write_indexes(struct partition_log *l, struct segment *s)
{
	char path[PATH_MAX + 32];
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
	const char *exts[2] = { ".index", ".timeindex" };
	const uint8_t *src[2] = { buf, buf + n };
	size_t len[2] = { n, m };
	for (int k = 0; k < 2 && rc == 0; k++) {
		segment_path(l, s->base_offset, exts[k], path, sizeof(path));
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || (len[k] && pwrite(fd, src[k], len[k], 0) != (ssize_t)len[k]) ||
		    fdatasync(fd) != 0)
			rc = -errno;
		if (fd >= 0)
			close(fd);
	}
	free(buf);
	return rc;
}

static void segment_free(struct segment *s)
{
	if (s->map)
		munmap((void *)s->map, s->map_len);
	if (s->fd >= 0)
		close(s->fd);
	free(s->idx);
	free(s->tidx);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Scans batches of s from pos to its file end (or a torn/corrupt batch),
 * noting each in the indexes. Returns the position where valid data ends. */
static uint64_t segment_scan(struct partition_log *l, struct segment *s, uint64_t pos,
			     uint64_t file_size, bool check_crc, int64_t *next_offset,
			     const char **why)
{
	uint8_t *buf = malloc(RECOVERY_BUF_BYTES);
	*why = NULL;
	if (!buf) {
		*why = "out of memory";
		return pos;
	}
	while (pos < file_size) {
		uint8_t hdr[SCAN_HEADER_BYTES];
		size_t want = file_size - pos < SCAN_HEADER_BYTES ? file_size - pos : SCAN_HEADER_BYTES;
		if (pread(s->fd, hdr, want, (off_t)pos) != (ssize_t)want) {
			*why = "read error";
			break;
		}
		struct record_batch_header h;
		enum record_scan r = record_batch_scan(hdr, want, false, &h);
		if (r == RECORD_SCAN_TORN && want == SCAN_HEADER_BYTES)
			r = RECORD_SCAN_OK; /* the header is whole; the body is checked below */
		if (r != RECORD_SCAN_OK) {
			*why = r == RECORD_SCAN_TORN ? "torn batch header" : "corrupt batch header";
			break;
		}
		uint64_t total = record_batch_total_bytes(&h);
		if (pos + total > file_size) {
			*why = "torn batch";
			break;
		}
		if (check_crc) {
			uint8_t *big = total <= RECOVERY_BUF_BYTES ? buf : malloc(total);
			bool ok = big && pread(s->fd, big, total, (off_t)pos) == (ssize_t)total &&
				  record_batch_scan(big, total, true, &h) == RECORD_SCAN_OK;
			if (big != buf)
				free(big);
			if (!ok) {
				*why = "CRC mismatch";
				break;
			}
		}
		segment_note_batch(l, s, pos, &h);
		*next_offset = h.base_offset + h.last_offset_delta + 1;
		pos += total;
	}
	free(buf);
	return pos;
}

/* Loads an index file if it is sane for the segment; else leaves it empty. */
static void segment_load_indexes(struct partition_log *l, struct segment *s)
{
	char path[PATH_MAX + 32];
	struct stat st;
	segment_path(l, s->base_offset, ".index", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size % OFFSET_ENTRY_BYTES == 0 &&
	    st.st_size > 0) {
		uint32_t n = (uint32_t)(st.st_size / OFFSET_ENTRY_BYTES);
		uint8_t *buf = malloc((size_t)st.st_size);
		if (buf && pread(fd, buf, (size_t)st.st_size, 0) == st.st_size &&
		    grow((void **)&s->idx, &s->idx_cap, n, sizeof(*s->idx)) == 0) {
			bool sane = true;
			for (uint32_t i = 0; i < n && sane; i++) {
				s->idx[i].rel_offset = (int32_t)be_load(buf + i * 8, 4);
				s->idx[i].pos = (uint32_t)be_load(buf + i * 8 + 4, 4);
				sane = s->idx[i].pos < s->size &&
				       (i == 0 || (s->idx[i].pos > s->idx[i - 1].pos &&
						   s->idx[i].rel_offset > s->idx[i - 1].rel_offset));
			}
			s->idx_len = sane ? n : 0;
		}
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	segment_path(l, s->base_offset, ".timeindex", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size % TIME_ENTRY_BYTES == 0 && st.st_size > 0) {
		uint32_t n = (uint32_t)(st.st_size / TIME_ENTRY_BYTES);
		uint8_t *buf = malloc((size_t)st.st_size);
		if (buf && pread(fd, buf, (size_t)st.st_size, 0) == st.st_size &&
		    grow((void **)&s->tidx, &s->tidx_cap, n, sizeof(*s->tidx)) == 0) {
			for (uint32_t i = 0; i < n; i++) {
				s->tidx[i].timestamp = (int64_t)be_load(buf + i * 12, 8);
				s->tidx[i].rel_offset = (int32_t)be_load(buf + i * 12 + 8, 4);
			}
			s->tidx_len = n;
			s->max_ts = s->tidx[n - 1].timestamp;
			s->max_ts_offset = s->base_offset + s->tidx[n - 1].rel_offset;
		}
		free(buf);
	}
	if (fd >= 0)
		close(fd);
}

static int segment_open(struct partition_log *l, int64_t base, bool create, struct segment *s)
{
	char path[PATH_MAX + 32];
	memset(s, 0, sizeof(*s));
	s->base_offset = base;
	s->max_ts = -1;
	s->max_ts_offset = -1;
	s->created_ms = log_now_ms();
	segment_path(l, base, ".log", path, sizeof(path));
	s->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
	if (s->fd < 0)
		return -errno;
	struct stat st;
	if (fstat(s->fd, &st) != 0)
		return -errno;
	s->size = s->visible_size = (uint64_t)st.st_size;
	s->map_len = (size_t)st.st_size > l->cfg.segment_bytes ? (size_t)st.st_size : l->cfg.segment_bytes;
	void *map = mmap(NULL, s->map_len, PROT_READ, MAP_SHARED, s->fd, 0);
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
				segment_free(s);
				return -e;
			}
			close(fd);
		}
	}
	return 0;
}

static int log_add_segment(struct partition_log *l, struct segment *s)
{
	if (grow((void **)&l->segs, &l->segs_cap, l->nsegs + 1, sizeof(*l->segs)) != 0)
		return -ENOMEM;
	l->segs[l->nsegs++] = *s;
	return 0;
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
		if (grow((void **)bases, &cap, *n + 1, sizeof(**bases)) != 0) {
			closedir(d);
			return -ENOMEM;
		}
		(*bases)[(*n)++] = strtoll(e->d_name, NULL, 10);
	}
	closedir(d);
	if (*n > 1)
		qsort(*bases, *n, sizeof(**bases), cmp_i64);
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
	fprintf(f, "version: 0\ntopic_id: %s\n", text);
	fclose(f);
}

/* Recovers segment i: a CRC-checked scan; truncates at the first bad batch and
 * drops the segments after it. */
static void log_recover_segment(struct partition_log *l, uint32_t i, int64_t *next_offset)
{
	struct segment *s = &l->segs[i];
	s->idx_len = s->tidx_len = 0;
	s->bytes_since_index = 0;
	s->max_ts = s->max_ts_offset = -1;
	const char *why = NULL;
	uint64_t end = segment_scan(l, s, 0, s->size, true, next_offset, &why);
	if (!why)
		return;
	char path[PATH_MAX + 32];
	segment_path(l, s->base_offset, ".log", path, sizeof(path));
	slog_warn("log", "%s: %s at byte %" PRIu64 "; truncating %" PRIu64 " byte(s)", path, why, end,
		  s->size - end);
	if (ftruncate(s->fd, (off_t)end) != 0)
		slog_error("log", "%s: truncate: %s", path, strerror(errno));
	s->size = s->visible_size = end;
	for (uint32_t k = i + 1; k < l->nsegs; k++) {
		struct segment *later = &l->segs[k];
		const char *exts[3] = { ".log", ".index", ".timeindex" };
		for (int e = 0; e < 3; e++) {
			segment_path(l, later->base_offset, exts[e], path, sizeof(path));
			unlink(path);
		}
		slog_warn("log", "%s: removed segment %" PRId64 " after the truncation point", l->dir,
			  later->base_offset);
		segment_free(later);
	}
	l->nsegs = i + 1;
}

static int log_load(struct partition_log *l, const struct log_open_params *p)
{
	int64_t *bases = NULL;
	uint32_t n = 0;
	int rc = log_list_segments(l, &bases, &n);
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		struct segment s;
		rc = segment_open(l, bases[i], false, &s);
		if (rc == 0)
			rc = log_add_segment(l, &s);
	}
	free(bases);
	if (rc != 0)
		return rc;
	if (l->nsegs == 0) {
		struct segment s;
		rc = segment_open(l, 0, true, &s);
		return rc ? rc : log_add_segment(l, &s);
	}
	uint32_t first_recover = p->clean_shutdown ? l->nsegs - 1 : log_segment_for(l, p->recovery_point);
	int64_t next = l->segs[0].base_offset;
	for (uint32_t i = 0; i < l->nsegs; i++) {
		struct segment *s = &l->segs[i];
		if (i < first_recover) {
			segment_load_indexes(l, s);
			if (s->idx_len == 0 && s->size > 0) {
				const char *why;
				segment_scan(l, s, 0, s->size, false, &next, &why);
			}
			next = i + 1 < l->nsegs ? l->segs[i + 1].base_offset : next;
			continue;
		}
		if (p->clean_shutdown) {
			/* Trust the closed indexes, but read the tail after the last
			 * entry with CRC checks: it yields the end offset. */
			segment_load_indexes(l, s);
			uint64_t from = s->idx_len ? s->idx[s->idx_len - 1].pos : 0;
			const char *why = NULL;
			if (from == 0) {
				s->idx_len = s->tidx_len = 0;
				s->max_ts = s->max_ts_offset = -1;
			} else {
				s->idx_len--; /* re-noted by the scan */
			}
			uint64_t end = segment_scan(l, s, from, s->size, true, &next, &why);
			if (why) {
				slog_warn("log", "%s: %s at byte %" PRIu64 " after a clean shutdown; "
					  "truncating", l->dir, why, end);
				if (ftruncate(s->fd, (off_t)end) != 0)
					return -errno;
				s->size = s->visible_size = end;
			}
		} else {
			log_recover_segment(l, i, &next);
			s = &l->segs[i];
		}
		if (s->size == 0)
			next = s->base_offset;
	}
	l->end_offset = next;
	l->hw = next;
	l->recovery_point = next;
	l->epoch_written = next > l->segs[0].base_offset;
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
		partition_log_close(l);
		return rc;
	}
	log_write_partition_metadata(l, p->topic_id);
	*out = l;
	return 0;
}

void partition_log_close(struct partition_log *l)
{
	assert(l->pending == 0);
	if (l->nsegs && !l->offline) {
		int rc = segment_write_indexes(l, log_active(l));
		if (rc != 0)
			slog_error("log", "%s: cannot write indexes: %s", l->dir, strerror(-rc));
	}
	for (uint32_t i = 0; i < l->nsegs; i++)
		segment_free(&l->segs[i]);
	free(l->segs);
	free(l);
}

int partition_log_delete(struct partition_log *l)
{
	assert(l->pending == 0);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", l->dir);
	for (uint32_t i = 0; i < l->nsegs; i++)
		segment_free(&l->segs[i]);
	l->nsegs = 0;
	free(l->segs);
	free(l);
	DIR *d = opendir(dir);
	int rc = 0;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char path[PATH_MAX + 256];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) != 0)
				rc = -errno;
		}
		closedir(d);
	}
	if (rmdir(dir) != 0)
		rc = -errno;
	return rc;
}

int64_t partition_log_start_offset(const struct partition_log *l)
{
	return l->segs[0].base_offset;
}

int64_t partition_log_end_offset(const struct partition_log *l)
{
	return l->end_offset;
}

int64_t partition_log_high_watermark(const struct partition_log *l)
{
	return l->hw;
}

bool partition_log_offline(const struct partition_log *l)
{
	return l->offline;
}

uint32_t partition_log_pending_appends(const struct partition_log *l)
{
	return l->pending;
}

void partition_log_set_advance_hook(struct partition_log *l, void (*hook)(void *ctx), void *ctx)
{
	l->hook = hook;
	l->hook_ctx = ctx;
}

int64_t partition_log_recovery_point(const struct partition_log *l)
{
	return l->recovery_point;
}

/* ---- appends ---- */

static void log_go_offline(struct partition_log *l, const char *what, int err)
{
	if (l->offline)
		return;
	l->offline = true;
	slog_error("log", "%s: %s failed: %s; partition offline, acknowledging nothing more",
		   l->dir, what, strerror(err));
}

/* Kafka's epoch file holds "epoch startOffset" lines under the checkpoint
 * header; a single node has one epoch (0) from the log start. */
static void log_write_epoch_checkpoint(struct partition_log *l)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", l->dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		slog_warn("log", "cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "0\n1\n%d %" PRId64 "\n", 0, partition_log_start_offset(l));
	fclose(f);
	l->epoch_written = true;
}

static int log_roll(struct partition_log *l)
{
	struct segment *old = log_active(l);
	if (old->max_ts >= 0 && (old->tidx_len == 0 || old->tidx[old->tidx_len - 1].timestamp < old->max_ts) &&
	    grow((void **)&old->tidx, &old->tidx_cap, old->tidx_len + 1, sizeof(*old->tidx)) == 0) {
		old->tidx[old->tidx_len].timestamp = old->max_ts;
		old->tidx[old->tidx_len].rel_offset = (int32_t)(old->max_ts_offset - old->base_offset);
		old->tidx_len++;
	}
	int rc = segment_write_indexes(l, old);
	if (rc != 0) {
		log_go_offline(l, "writing segment indexes", -rc);
		return rc;
	}
	struct segment s;
	rc = segment_open(l, l->end_offset, true, &s);
	if (rc == 0)
		rc = log_add_segment(l, &s);
	if (rc != 0)
		log_go_offline(l, "creating a segment", -rc);
	return rc;
}

static bool log_should_roll(struct partition_log *l, size_t len)
{
	struct segment *s = log_active(l);
	if (s->size == 0)
		return false;
	if (s->size + len > l->cfg.segment_bytes || s->size + len > UINT32_MAX)
		return true;
	if ((uint64_t)(s->idx_len + 1) * OFFSET_ENTRY_BYTES > l->cfg.segment_index_bytes)
		return true;
	return (uint64_t)(log_now_ms() - s->created_ms) > l->cfg.segment_ms;
}

static void log_drain(struct partition_log *l)
{
	bool advanced = false;
	while (l->pending_head && l->pending_head->completed) {
		struct log_append *a = l->pending_head;
		l->pending_head = a->next;
		if (!l->pending_head)
			l->pending_tail = NULL;
		l->pending--;
		if (a->result != (int32_t)a->len && !l->offline)
			log_go_offline(l, "segment write", a->result < 0 ? -a->result : EIO);
		int16_t err = KERR_NONE;
		if (l->offline) {
			err = KERR_KAFKA_STORAGE_ERROR;
		} else {
			struct segment *s = &l->segs[log_segment_for(l, a->segment_base)];
			s->visible_size = a->end_pos;
			l->hw = a->end_offset;
			advanced = true;
		}
		a->done(a, err);
	}
	if (advanced && l->hook)
		l->hook(l->hook_ctx);
}

static void log_on_write(struct io_op *op, int32_t res, uint32_t flags)
{
	struct log_append *a = container_of(op, struct log_append, write_op);
	(void)flags;
	a->result = res;
	a->completed = true;
	log_drain(a->log);
}

int16_t partition_log_append(struct partition_log *l, uint8_t *batch, size_t len,
			     const struct record_batch_header *h, struct log_append *a)
{
	assert(len == record_batch_total_bytes(h));
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	if (log_should_roll(l, len) && log_roll(l) != 0)
		return KERR_KAFKA_STORAGE_ERROR;
	if (!l->epoch_written)
		log_write_epoch_checkpoint(l);
	struct segment *s = log_active(l);
	int64_t base = l->end_offset;
	record_batch_assign_offset(batch, base, 0);
	struct record_batch_header placed = *h;
	placed.base_offset = base;
	if (a->log_append_time >= 0)
		placed.max_timestamp = a->log_append_time;
	uint64_t pos = s->size;
	s->dirty = true;
	segment_note_batch(l, s, pos, &placed);
	s->size += len;
	l->end_offset = base + h->last_offset_delta + 1;
	a->base_offset = base;
	a->end_offset = l->end_offset;
	a->segment_base = s->base_offset;
	a->end_pos = s->size;
	a->len = (uint32_t)len;
	a->log = l;
	a->next = NULL;
	a->completed = false;
	a->result = 0;
	a->write_op.done = log_on_write;
	if (l->pending_tail)
		l->pending_tail->next = a;
	else
		l->pending_head = a;
	l->pending_tail = a;
	l->pending++;
	io_write(l->reactor, s->fd, batch, len, pos, &a->write_op);
	return KERR_NONE;
}

/* ---- reads ---- */

/* Reads the header of the batch at pos; false past the visible end. */
static bool log_batch_at(const struct segment *s, uint64_t pos, struct record_batch_header *h)
{
	uint8_t hdr[SCAN_HEADER_BYTES];
	if (pos + SCAN_HEADER_BYTES > s->visible_size)
		return false;
	if (s->map && pos + SCAN_HEADER_BYTES <= s->map_len)
		memcpy(hdr, s->map + pos, sizeof(hdr));
	else if (pread(s->fd, hdr, sizeof(hdr), (off_t)pos) != (ssize_t)sizeof(hdr))
		return false;
	record_batch_header_read(hdr, h);
	return pos + record_batch_total_bytes(h) <= s->visible_size;
}

static uint64_t segment_index_lookup(const struct segment *s, int64_t offset)
{
	return offset_index_lookup(s->idx, s->idx_len, offset - s->base_offset);
}

int16_t partition_log_read(struct partition_log *l, int64_t offset, uint32_t max_bytes,
			   bool first_whole, struct log_read *out)
{
	out->fd = -1;
	out->file_off = 0;
	out->len = 0;
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	if (offset < partition_log_start_offset(l) || offset > l->hw)
		return KERR_OFFSET_OUT_OF_RANGE;
	if (offset == l->hw)
		return KERR_NONE;
	for (uint32_t i = log_segment_for(l, offset); i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		uint64_t pos = i == log_segment_for(l, offset) ? segment_index_lookup(s, offset) : 0;
		struct record_batch_header h;
		while (log_batch_at(s, pos, &h) && h.base_offset + h.last_offset_delta < offset)
			pos += record_batch_total_bytes(&h);
		if (!log_batch_at(s, pos, &h))
			continue;
		uint64_t start = pos, end = pos;
		while (log_batch_at(s, end, &h)) {
			uint64_t total = record_batch_total_bytes(&h);
			if (end - start + total > max_bytes) {
				if (end == start && first_whole)
					end += total;
				break;
			}
			end += total;
		}
		out->fd = s->fd;
		out->file_off = start;
		out->len = (uint32_t)(end - start);
		return KERR_NONE;
	}
	return KERR_NONE;
}

/* ---- time lookups ---- */

/* Walks records (already uncompressed) for the first with timestamp >= ts. */
static bool log_walk_for_time(uint8_t *recs, size_t len, const struct record_batch_header *h,
			      int64_t ts, int64_t *offset, int64_t *timestamp)
{
	struct rcursor c;
	rc_init(&c, recs, len);
	for (int32_t i = 0; i < h->record_count && c.err == RC_OK; i++) {
		int32_t rec_len = rc_varint(&c);
		uint8_t *rec = rc_take(&c, rec_len > 0 ? (size_t)rec_len : 0, "record");
		if (!rec)
			return false;
		struct rcursor r;
		rc_init(&r, rec, (size_t)rec_len);
		(void)rc_int8(&r);
		int64_t t = h->base_timestamp + rc_varlong(&r);
		int32_t delta = rc_varint(&r);
		if (r.err == RC_OK && t >= ts) {
			*offset = h->base_offset + delta;
			*timestamp = t;
			return true;
		}
	}
	return false;
}

/* Within a batch whose max timestamp is >= ts: the offset and timestamp of
 * the first record at or after ts, decompressing the records when needed, as
 * Kafka does. Under LogAppendTime every record has the batch's timestamp. */
static void log_record_for_time(const struct partition_log *l, const struct segment *s, uint64_t pos,
				const struct record_batch_header *h, int64_t ts, int64_t *offset,
				int64_t *timestamp)
{
	*offset = h->base_offset;
	*timestamp = h->max_timestamp;
	if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME)
		return;
	uint64_t total = record_batch_total_bytes(h);
	uint8_t *buf = malloc(total);
	if (!buf || pread(s->fd, buf, total, (off_t)pos) != (ssize_t)total) {
		free(buf);
		return;
	}
	uint8_t *recs = buf + RECORD_BATCH_HEADER_BYTES;
	size_t len = total - RECORD_BATCH_HEADER_BYTES;
	int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
	uint8_t *plain = NULL;
	if (codec != CODEC_NONE) {
		plain = malloc(LOG_DECOMPRESS_MAX_BYTES);
		if (!plain || compression_decompress((enum compression_codec)codec, recs, len, plain,
						     LOG_DECOMPRESS_MAX_BYTES, &len) != 0) {
			slog_warn("log", "%s: batch at offset %" PRId64 " does not decompress; "
				  "answering with its first offset", l->dir, h->base_offset);
			free(plain);
			free(buf);
			return;
		}
		recs = plain;
	}
	log_walk_for_time(recs, len, h, ts, offset, timestamp);
	free(plain);
	free(buf);
}

void partition_log_offset_for_time(struct partition_log *l, int64_t ts, int64_t *offset,
				   int64_t *timestamp)
{
	*offset = -1;
	*timestamp = -1;
	for (uint32_t i = 0; i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		if (s->max_ts < ts)
			continue;
		int64_t from = s->base_offset;
		for (uint32_t k = 0; k < s->tidx_len && s->tidx[k].timestamp < ts; k++)
			from = s->base_offset + s->tidx[k].rel_offset;
		uint64_t pos = segment_index_lookup(s, from);
		struct record_batch_header h;
		while (log_batch_at(s, pos, &h)) {
			if (h.max_timestamp >= ts) {
				log_record_for_time(l, s, pos, &h, ts, offset, timestamp);
				return;
			}
			pos += record_batch_total_bytes(&h);
		}
	}
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

int partition_log_sync(struct partition_log *l)
{
	if (l->offline || l->nsegs == 0)
		return l->offline ? -EIO : 0;
	int64_t point = l->hw;
	for (uint32_t i = 0; i < l->nsegs; i++) {
		struct segment *seg = &l->segs[i];
		if (!seg->dirty)
			continue;
		if (fdatasync(seg->fd) != 0) {
			log_go_offline(l, "fdatasync", errno);
			return -EIO;
		}
		seg->dirty = false;
	}
	int rc = segment_write_indexes(l, log_active(l));
	if (rc != 0)
		return rc;
	l->recovery_point = point;
	return 0;
}
