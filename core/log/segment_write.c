/* The mapped append path of a partition's active segment: small appends are
 * copied into a writable shared mapping of the segment, so that they reach
 * the page cache on the shard's own thread, with neither a system call nor
 * a hand-off to the kernel's workers (ext4 refuses RWF_NOWAIT for buffered
 * writes, so every io_uring write of a batch runs in an io-wq worker).
 *
 * The shard never faults on this path: the kernel's workers (the pre-fault
 * helper) prepare the range ahead of the write position that the shard
 * hands them, one range at a time, with MADV_POPULATE_WRITE: the pages are
 * put in the page cache and mapped writable, and the filesystem reserves
 * their blocks there (ext4's delayed allocation), so a full disk fails the
 * preparation, never a copy. The shard copies only into ranges whose
 * preparation has completed. An append above
 * sluice.log.append.mapped.max.bytes, or one the prepared range does not
 * hold (or any after a preparation failed, e.g. ENOSPC), goes by io_uring
 * write as before, which reports its own errors. fallocate first was
 * measured and dropped: preparing unwritten extents cost 1.7 ms of CPU per
 * MiB against 0.3 without (a buffered write: 0.8).
 *
 * Not under flush.messages=1 (see segment_writer_attach).
 *
 * The file: the attached segment is made sparse up to segment.bytes (the
 * mapping must not reach past the end of the file), and cut back to its
 * batches at roll and close (partition_log.c), which also drops pages
 * prepared past them; a crash leaves zeros after them, which recovery cuts
 * off (log_recovery.c). Sizes everywhere else are the segment's own count
 * of bytes, never the file's. fdatasync covers the mapped writes like any
 * dirty page. */
#include "core/log/log_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/slog.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

enum {
	SEGMENT_WRITE_PAGE_BYTES = 4096,
	/* A range is sized to hold this long of the appends at their recent
	 * rate, between the two bounds below and sluice.log.append.prefault.max.bytes:
	 * the pages prepared ahead are dirty zeros in the page cache, so a slow
	 * partition must not hold megabytes of them. */
	SEGMENT_WRITE_AHEAD_MS = 250,
	SEGMENT_WRITE_ASK_MIN_BYTES = 64 << 10,
	/* One preparation prepares at most this much, the next step following
	 * when it completes: the helper runs on the shard's core, and a range of
	 * megabytes kept the shard off it for 3-5 ms (sched_switch at 10k msg/s
	 * of 1 KiB: 29 preemptions over 1 ms by the shard's own io-wq worker in
	 * 9 s, against 5 with writes), which cost the e2e p99. */
	SEGMENT_WRITE_STEP_BYTES = 64 << 10,
};
static const uint64_t NS_PER_MS = 1000000;

static uint64_t page_down(uint64_t x)
{
	return x & ~(uint64_t)(SEGMENT_WRITE_PAGE_BYTES - 1);
}

static void segment_writer_stop(struct segment_writer *w, int err)
{
	w->stopped = true;
	w->stops++;
	char path[PATH_MAX + 32];
	segment_path(w->log, w->segment_base, ".log", path, sizeof(path));
	slog_warn("log", "%s: preparing bytes %" PRIu64 "-%" PRIu64 " for mapped appends failed: %s; "
		  "appends to this segment go by write", path, w->ask_start, w->ask_end,
		  strerror(err));
}

static void segment_writer_continue(struct segment_writer *w);

/* A writer detached while its preparation was in flight is unmapped here. */
static void segment_writer_on_populated(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct segment_writer *w = container_of(op, struct segment_writer, populate_op);
	w->in_flight = false;
	if (w->retired_map) {
		munmap(w->retired_map, w->retired_len);
		w->retired_map = NULL;
		return;
	}
	if (res < 0) {
		segment_writer_stop(w, -res);
		return;
	}
	w->prepared_bytes += w->ask_end - w->ask_start;
	if (w->ask_start >= w->ready_start && w->ask_start <= w->ready_end) {
		w->ready_end = w->ask_end;
	} else {
		w->ready_start = w->ask_start;
		w->ready_end = w->ask_end;
	}
	segment_writer_continue(w);
}

/* Hands the helper one step from `from`, never past the mapping. */
static void segment_writer_prepare(struct segment_writer *w, uint64_t from)
{
	uint64_t step = w->reach_bytes < SEGMENT_WRITE_STEP_BYTES ? w->reach_bytes
								   : SEGMENT_WRITE_STEP_BYTES;
	uint64_t to = from + step < w->map_len ? from + step : w->map_len;
	if (from >= to)
		return;
	w->ask_start = from;
	w->ask_end = to;
	w->in_flight = true;
	w->populate_op.done = segment_writer_on_populated;
	io_madvise(w->log->reactor, w->map + from, to - from, MADV_POPULATE_WRITE, &w->populate_op);
}

/* Hands the helper the next range once the write position `end` comes
 * within half a chunk of the prepared end (or is outside the prepared
 * range): from the prepared end when it continues it, else from the page
 * holding `end`, in steps (segment_writer_continue). */
static void segment_writer_ask_ahead(struct segment_writer *w, uint64_t end)
{
	w->append_end = end;
	uint64_t max = w->log->cfg.prefault_max_bytes;
	if (w->in_flight || w->stopped || max == 0)
		return;
	uint64_t now = reactor_now_ns();
	uint64_t elapsed = now - w->window_start_ns;
	uint64_t chunk = elapsed ? w->window_bytes * SEGMENT_WRITE_AHEAD_MS * NS_PER_MS / elapsed : max;
	chunk = chunk < SEGMENT_WRITE_ASK_MIN_BYTES ? SEGMENT_WRITE_ASK_MIN_BYTES : chunk;
	chunk = page_down(chunk < max ? chunk : max);
	chunk = chunk ? chunk : SEGMENT_WRITE_PAGE_BYTES;
	bool inside = end >= w->ready_start && end <= w->ready_end;
	if (inside && w->ready_end - end >= chunk / 2)
		return;
	w->window_start_ns = now;
	w->window_bytes = 0;
	w->reach_bytes = chunk;
	segment_writer_prepare(w, inside ? w->ready_end : page_down(end));
}

/* After a step: the next one, until the prepared range reaches the last
 * ask's reach past the write position (from the write position's page
 * when the appends overtook the range). */
static void segment_writer_continue(struct segment_writer *w)
{
	bool inside = w->append_end >= w->ready_start && w->append_end <= w->ready_end;
	if (w->stopped || (inside && w->ready_end - w->append_end >= w->reach_bytes))
		return;
	segment_writer_prepare(w, inside ? w->ready_end : page_down(w->append_end));
}

void segment_writer_init(struct partition_log *l)
{
	struct segment_writer *w = &l->writer;
	memset(w, 0, sizeof(*w));
	w->log = l;
}

void segment_writer_attach(struct partition_log *l, struct segment *s)
{
	struct segment_writer *w = &l->writer;
	size_t len = (size_t)l->cfg.segment_bytes;
	/* Under flush.messages=1 an fdatasync is nearly always in flight, and
	 * each one leaves the page being appended to under writeback and
	 * write-protected: the next copy would fault on the shard and wait for
	 * the disk (measured: 3 faults per request and a third of the
	 * throughput), where a write does not wait. */
	if (l->cfg.mapped_append_max_bytes == 0 || log_flush_holds_answers(l) || w->map ||
	    s->size >= len)
		return;
	if (ftruncate(s->fd, (off_t)len) != 0) {
		slog_warn("log", "%s: cannot extend segment %" PRId64 " for mapped appends: %s", l->dir,
			  s->base_offset, strerror(errno));
		return;
	}
	s->preallocated = true;
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED) {
		slog_warn("log", "%s: cannot map segment %" PRId64 " for appends: %s", l->dir,
			  s->base_offset, strerror(errno));
		return;
	}
	/* No readahead on the helper's faults: a fault in a hole would read
	 * (zero) large folios around it, which cost most of the CPU of a run at
	 * the maximum rate (perf record: memset under ext4_mpage_readpages). */
	madvise(map, len, MADV_RANDOM);
	w->map = map;
	w->map_len = len;
	w->segment_base = s->base_offset;
	w->ready_start = w->ready_end = 0;
	w->stopped = false;
	w->window_start_ns = reactor_now_ns();
	w->window_bytes = 0;
}

int segment_writer_detach(struct partition_log *l, struct segment *s, bool cut)
{
	struct segment_writer *w = &l->writer;
	if (w->map && w->segment_base == s->base_offset) {
		if (w->in_flight) {
			w->retired_map = w->map;
			w->retired_len = w->map_len;
		} else {
			munmap(w->map, w->map_len);
		}
		w->map = NULL;
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
	if (w->map)
		munmap(w->map, w->map_len);
	if (w->retired_map)
		munmap(w->retired_map, w->retired_len);
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
		atomic_store_explicit(&w->published_mapped, w->mapped_appends, memory_order_relaxed);
	} else {
		w->unready_appends++;
	}
	w->window_bytes += len;
	segment_writer_ask_ahead(w, pos + len);
	return ready;
}

void segment_writer_count_written(struct partition_log *l)
{
	struct segment_writer *w = &l->writer;
	w->written_appends++;
	atomic_store_explicit(&w->published_written, w->written_appends, memory_order_relaxed);
}
