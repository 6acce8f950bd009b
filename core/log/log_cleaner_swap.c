/* The owner's swap of cleaned segments and its recovery at open (see
 * log_cleaner_swap.h). */
#include "core/log/log_cleaner_swap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log/log_internal.h"
#include "core/slog.h"

/* The log last: its rename is the one that counts. */
static const char *const SWAP_EXTS[4] = { ".index", ".timeindex", ".txnindex", ".log" };
enum { SWAP_EXT_COUNT = 4 };

static void swap_path(const char *dir, int64_t base, const char *ext, const char *suffix, char *out,
		      size_t cap)
{
	snprintf(out, cap, "%s/%020" PRId64 "%s%s", dir, base, ext, suffix);
}

/* Renames base's files from one suffix to another; a missing index file is
 * skipped (it is rebuilt), a missing log is an error. */
static int swap_rename(const char *dir, int64_t base, const char *from, const char *to)
{
	for (int e = 0; e < SWAP_EXT_COUNT; e++) {
		char a[PATH_MAX + 64], b[PATH_MAX + 64];
		swap_path(dir, base, SWAP_EXTS[e], from, a, sizeof(a));
		swap_path(dir, base, SWAP_EXTS[e], to, b, sizeof(b));
		if (rename(a, b) != 0 && (errno != ENOENT || e == SWAP_EXT_COUNT - 1)) {
			int err = errno;
			slog_error("cleaner", "rename %s -> %s: %s", a, b, strerror(err));
			return -err;
		}
	}
	return 0;
}

/* Whether the run's segments are in the log as the pass saw them, closed;
 * sets *at to the first one's index. */
static bool swap_run_intact(const struct partition_log *l, const struct log_cleaner_pass *p,
			    const struct log_cleaner_run *run, uint32_t *at)
{
	uint32_t i = log_segment_for(l, run->base);
	if (l->segs[i].base_offset != run->base || i + run->count >= l->nsegs)
		return false;
	for (uint32_t k = 0; k < run->count; k++) {
		const struct segment *s = &l->segs[i + k];
		const struct log_cleaner_source *src = &p->segs[run->first + k];
		if (s->base_offset != src->base || s->visible_size != src->size)
			return false;
	}
	*at = i;
	return true;
}

/* The cleaned segment, opened in place of the run's [i, i + count), with
 * the run's aborted transactions as its .txnindex. */
static int swap_in_memory(struct partition_log *l, uint32_t i, struct log_cleaner_run *run)
{
	uint32_t count = run->count;
	for (uint32_t k = 0; k < count; k++)
		segment_free(&l->segs[i + k]);
	memmove(&l->segs[i + 1], &l->segs[i + count], (l->nsegs - i - count) * sizeof(*l->segs));
	l->nsegs -= count - 1;
	int rc = segment_open(l, run->base, false, &l->segs[i]);
	if (rc != 0)
		return rc;
	struct segment *s = &l->segs[i];
	s->aborted = run->aborted;
	s->aborted_len = s->aborted_cap = run->naborted;
	run->aborted = NULL;
	run->naborted = 0;
	if (!segment_load_indexes(l, i)) {
		const char *why;
		segment_rebuild_indexes(l, i, &why);
	}
	return 0;
}

static int swap_run(struct partition_log *l, struct log_cleaner_pass *p,
		    struct log_cleaner_run *run, uint32_t i)
{
	int rc = swap_rename(l->dir, run->base, ".cleaned", ".swap");
	for (uint32_t k = 0; rc == 0 && k < run->count; k++) {
		int64_t old = p->segs[run->first + k].base;
		rc = swap_rename(l->dir, old, "", ".deleted");
		if (rc == 0)
			p->doomed[p->ndoomed++] = old;
	}
	if (rc == 0)
		for (int e = SWAP_EXT_COUNT - 1; e >= 0 && rc == 0; e--) {
			char a[PATH_MAX + 64], b[PATH_MAX + 64];
			swap_path(l->dir, run->base, SWAP_EXTS[e], ".swap", a, sizeof(a));
			swap_path(l->dir, run->base, SWAP_EXTS[e], "", b, sizeof(b));
			if (rename(a, b) != 0 && (errno != ENOENT || e == SWAP_EXT_COUNT - 1))
				rc = -errno;
		}
	if (rc != 0)
		return rc;
	return swap_in_memory(l, i, run);
}

uint32_t log_cleaner_swap(struct partition_log *l, struct log_cleaner_pass *p)
{
	uint32_t swapped = 0;
	p->doomed = calloc(p->nsegs + 1, sizeof(*p->doomed));
	if (!p->doomed) {
		log_cleaner_pass_discard(p);
		return 0;
	}
	for (uint32_t r = 0; r < p->nruns; r++) {
		struct log_cleaner_run *run = &p->runs[r];
		uint32_t at = 0;
		if (l->offline || !swap_run_intact(l, p, run, &at)) {
			for (int e = 0; e < SWAP_EXT_COUNT; e++) {
				char path[PATH_MAX + 64];
				swap_path(l->dir, run->base, SWAP_EXTS[e], ".cleaned", path, sizeof(path));
				unlink(path);
			}
			continue;
		}
		int rc = swap_run(l, p, run, at);
		if (rc != 0) {
			/* The files are in one of the states recovery resolves; the
			 * segments in memory may not match them any more. */
			l->offline = true;
			slog_error("cleaner", "%s: swapping in the cleaned segment %" PRId64 " failed: "
				   "%s; the partition is offline until a restart recovers it", l->dir,
				   run->base, strerror(-rc));
			break;
		}
		swapped++;
	}
	log_publish_offsets(l);
	return swapped;
}

/* ---- recovery at open ---- */

static bool name_ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);
	return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* The base offset of `<20 digits><ext>`; -1 when the name is not one. */
static int64_t name_base(const char *name, const char *ext)
{
	if (strlen(name) != SEGMENT_NAME_DIGITS + strlen(ext) ||
	    strcmp(name + SEGMENT_NAME_DIGITS, ext) != 0)
		return -1;
	int64_t base = 0;
	for (int k = 0; k < SEGMENT_NAME_DIGITS; k++) {
		if (name[k] < '0' || name[k] > '9' || base > (INT64_MAX - 9) / 10)
			return -1;
		base = base * 10 + (name[k] - '0');
	}
	return base;
}

/* The offset after the last batch of a swap file whose headers make sense
 * (its base when none does). */
static int64_t recover_swap_next(const char *path, int64_t base)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return base;
	int64_t next = base;
	uint64_t pos = 0;
	uint8_t hdr[RECORD_BATCH_HEADER_BYTES];
	while (pread(fd, hdr, sizeof(hdr), (off_t)pos) == (ssize_t)sizeof(hdr)) {
		struct record_batch_header h;
		record_batch_header_read(hdr, &h);
		if (h.magic != RECORD_BATCH_MAGIC_V2 || h.base_offset < next || h.last_offset_delta < 0 ||
		    h.batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD)
			break;
		next = h.base_offset + h.last_offset_delta + 1;
		pos += record_batch_total_bytes(&h);
	}
	close(fd);
	return next;
}

/* Completes the swap of the segment at base: the segments it replaces go,
 * and it takes its final names. */
static int recover_swap(const char *dir, int64_t base, const int64_t *logs, size_t nlogs)
{
	char path[PATH_MAX + 64];
	swap_path(dir, base, ".log", ".swap", path, sizeof(path));
	int64_t next = recover_swap_next(path, base);
	for (size_t k = 0; k < nlogs; k++) {
		if (logs[k] < base || (logs[k] >= next && logs[k] != base))
			continue;
		for (int e = 0; e < SWAP_EXT_COUNT; e++) {
			swap_path(dir, logs[k], SWAP_EXTS[e], "", path, sizeof(path));
			if (unlink(path) != 0 && errno != ENOENT)
				return -errno;
		}
		slog_warn("cleaner", "%s: segment %" PRId64 " removed: replaced by the cleaned "
			  "segment %" PRId64 " whose swap a stop interrupted", dir, logs[k], base);
	}
	return swap_rename(dir, base, ".swap", "");
}

struct recover_listing {
	int64_t *swaps, *logs;
	size_t nswaps, nlogs, cap_swaps, cap_logs;
};

static int recover_push(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		int64_t *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* Removes `.cleaned` and `.deleted` files (a segment renamed `.deleted` was
 * already replaced by a swap, or removed by retention or DeleteRecords: a
 * stop came before its files went; Kafka's LogLoader removes them too) and
 * lists the `.log.swap` and `.log` files. */
static int recover_list(const char *dir, struct recover_listing *ls)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		int64_t b;
		char path[PATH_MAX + 300];
		if (name_ends(e->d_name, ".cleaned") || name_ends(e->d_name, ".deleted")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) != 0)
				rc = -errno;
			else
				slog_info("cleaner", "%s: removed, left by a %s that a stop interrupted",
					  path, name_ends(e->d_name, ".cleaned") ? "cleaning" : "deletion");
		} else if ((b = name_base(e->d_name, ".log.swap")) >= 0) {
			rc = recover_push(&ls->swaps, &ls->nswaps, &ls->cap_swaps, b);
		} else if ((b = name_base(e->d_name, ".log")) >= 0) {
			rc = recover_push(&ls->logs, &ls->nlogs, &ls->cap_logs, b);
		}
	}
	closedir(d);
	return rc;
}

/* Index swap files without their log's. */
static void recover_stray_index_swaps(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!name_ends(e->d_name, ".index.swap") && !name_ends(e->d_name, ".timeindex.swap") &&
		    !name_ends(e->d_name, ".txnindex.swap"))
			continue;
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

int log_cleaner_recover(const char *dir)
{
	struct recover_listing ls = { 0 };
	int rc = recover_list(dir, &ls);
	for (size_t k = 0; rc == 0 && k < ls.nswaps; k++) {
		rc = recover_swap(dir, ls.swaps[k], ls.logs, ls.nlogs);
		if (rc == 0)
			slog_warn("cleaner", "%s: completed the swap of cleaned segment %" PRId64
				  " that a stop interrupted", dir, ls.swaps[k]);
	}
	if (rc == 0)
		recover_stray_index_swaps(dir);
	free(ls.swaps);
	free(ls.logs);
	return rc;
}
