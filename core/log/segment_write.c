/* The mapped append path of a partition's active segment: small appends are
 * copied into a writable shared mapping of the segment, so that they reach
 * the page cache on the shard's own thread, with neither a system call nor
 * a hand-off to the kernel's workers (ext4 refuses RWF_NOWAIT for buffered
 * writes, so every io_uring write of a batch runs in an io-wq worker).
 *
 * The shard never faults or allocates on this path: the kernel's workers
 * (the pre-fault helper) prepare the range ahead of the write position that
 * the shard hands them, one op at a time: fallocate (blocks reserved, so a
 * full disk cannot fault a mapped write) then MADV_POPULATE_WRITE (pages in
 * the page cache, mapped writable). The shard copies only into ranges whose
 * preparation has completed. An append above sluice.log.append.mapped.max.bytes,
 * or one the prepared range does not hold (or any after a preparation
 * failed, e.g. ENOSPC), goes by io_uring write as before, which reports its
 * own errors.
 *
 * The file: the attached segment is made sparse up to segment.bytes (the
 * mapping must not reach past the end of the file), and cut back to its
 * batches at roll and close (partition_log.c); a crash leaves zeros after
 * them, which recovery cuts off (log_recovery.c). Sizes everywhere else are
 * the segment's own count of bytes, never the file's. fdatasync covers the
 * mapped writes like any dirty page. */
#include "core/log/log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/slog.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

enum { SEGMENT_WRITE_PAGE_BYTES = 4096 };

static uint64_t page_down(uint64_t x)
{
	return x & ~(uint64_t)(SEGMENT_WRITE_PAGE_BYTES - 1);
}

/* A writer detached while its op was in flight: the completion unmaps it,
 * closes its descriptor and, for a segment that stopped growing, cuts off
 * blocks a late fallocate reserved past its end. */
static void segment_writer_finish_retired(struct segment_writer *w)
{
	struct segment_writer_retired *r = &w->retired;
	if (r->truncate && ftruncate(r->fd, (off_t)r->size) != 0)
		slog_warn("log", "%s: cutting a rolled segment back to %" PRIu64 " bytes: %s",
			  w->log->dir, r->size, strerror(errno));
	munmap(r->map, r->map_len);
	close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	w->in_flight = false;
}

static void segment_writer_stop(struct segment_writer *w, const char *what, int err)
{
	w->in_flight = false;
	w->stopped = true;
	w->stops++;
	char path[PATH_MAX + 32];
	segment_path(w->log, w->segment_base, ".log", path, sizeof(path));
	slog_warn("log", "%s: %s bytes %" PRIu64 "-%" PRIu64 " failed: %s; appends to this segment "
		  "go by write", path, what, w->ask_start, w->ask_end, strerror(err));
}

static void segment_writer_on_populated(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct segment_writer *w = container_of(op, struct segment_writer, populate_op);
	if (w->retired.map) {
		segment_writer_finish_retired(w);
		return;
	}
	if (res < 0) {
		segment_writer_stop(w, "pre-faulting", -res);
		return;
	}
	w->in_flight = false;
	w->prepared_bytes += w->ask_end - w->ask_start;
	if (w->ask_start >= w->ready_start && w->ask_start <= w->ready_end) {
		w->ready_end = w->ask_end;
	} else {
		w->ready_start = w->ask_start;
		w->ready_end = w->ask_end;
	}
}

static void segment_writer_on_fallocated(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct segment_writer *w = container_of(op, struct segment_writer, fallocate_op);
	if (w->retired.map) {
		segment_writer_finish_retired(w);
		return;
	}
	if (res < 0) {
		segment_writer_stop(w, "preallocating", -res);
		return;
	}
	w->populate_op.done = segment_writer_on_populated;
	io_madvise(w->log->reactor, w->map + w->ask_start, w->ask_end - w->ask_start,
		   MADV_POPULATE_WRITE, &w->populate_op);
}

/* Hands the helper the next range once the write position `end` comes
 * within half a chunk of the prepared end (or is outside the prepared
 * range): from the prepared end when it continues it, else from the page
 * holding `end`. Never past the mapping. */
static void segment_writer_ask_ahead(struct segment_writer *w, uint64_t end)
{
	uint64_t chunk = w->log->cfg.preallocate_bytes;
	if (w->in_flight || w->stopped || chunk == 0)
		return;
	bool inside = end >= w->ready_start && end <= w->ready_end;
	if (inside && w->ready_end - end >= chunk / 2)
		return;
	uint64_t from = inside ? w->ready_end : page_down(end);
	uint64_t to = from + chunk < w->map_len ? from + chunk : w->map_len;
	if (from >= to)
		return;
	w->ask_start = from;
	w->ask_end = to;
	w->in_flight = true;
	w->fallocate_op.done = segment_writer_on_fallocated;
	io_fallocate(w->log->reactor, w->fd, FALLOC_FL_KEEP_SIZE, from, to - from, &w->fallocate_op);
}

void segment_writer_init(struct partition_log *l)
{
	struct segment_writer *w = &l->writer;
	memset(w, 0, sizeof(*w));
	w->log = l;
	w->fd = -1;
	w->retired.fd = -1;
}

void segment_writer_attach(struct partition_log *l, struct segment *s)
{
	struct segment_writer *w = &l->writer;
	size_t len = (size_t)l->cfg.segment_bytes;
	if (l->cfg.mapped_append_max_bytes == 0 || w->map || s->size >= len)
		return;
	if (ftruncate(s->fd, (off_t)len) != 0) {
		slog_warn("log", "%s: cannot extend segment %" PRId64 " for mapped appends: %s", l->dir,
			  s->base_offset, strerror(errno));
		return;
	}
	s->preallocated = true;
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	int fd = map == MAP_FAILED ? -1 : fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		slog_warn("log", "%s: cannot map segment %" PRId64 " for appends: %s", l->dir,
			  s->base_offset, strerror(errno));
		if (map != MAP_FAILED)
			munmap(map, len);
		return;
	}
	w->map = map;
	w->map_len = len;
	w->fd = fd;
	w->segment_base = s->base_offset;
	w->ready_start = w->ready_end = 0;
	w->stopped = false;
}

int segment_writer_detach(struct partition_log *l, struct segment *s, bool cut)
{
	struct segment_writer *w = &l->writer;
	if (w->map && w->segment_base == s->base_offset) {
		if (w->in_flight) {
			w->retired = (struct segment_writer_retired){ .map = w->map, .map_len = w->map_len,
								      .fd = w->fd, .size = s->size,
								      .truncate = cut };
		} else {
			munmap(w->map, w->map_len);
			close(w->fd);
		}
		w->map = NULL;
		w->fd = -1;
		w->ready_start = w->ready_end = 0;
	}
	if (!cut || !s->preallocated)
		return 0;
	if (ftruncate(s->fd, (off_t)s->size) != 0)
		return -errno;
	s->preallocated = false;
	return 0;
}

void segment_writer_free(struct partition_log *l)
{
	struct segment_writer *w = &l->writer;
	if (w->map) {
		munmap(w->map, w->map_len);
		close(w->fd);
	}
	if (w->retired.map) {
		munmap(w->retired.map, w->retired.map_len);
		close(w->retired.fd);
	}
	segment_writer_init(l);
}

bool segment_writer_append(struct partition_log *l, const struct segment *s, uint64_t pos,
			   const uint8_t *batch, size_t len)
{
	struct segment_writer *w = &l->writer;
	if (!w->map || w->segment_base != s->base_offset || len > l->cfg.mapped_append_max_bytes)
		return false;
	bool ready = pos >= w->ready_start && pos + len <= w->ready_end;
	if (ready) {
		memcpy(w->map + pos, batch, len);
		w->mapped_appends++;
	} else {
		w->unready_appends++;
	}
	segment_writer_ask_ahead(w, pos + len);
	return ready;
}
