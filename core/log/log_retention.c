/* Retention and DeleteRecords (see log_retention.h): the decision, the
 * removal of leading segments from the log, and their deletion after
 * file.delete.delay.ms through io_uring ops. */
#include "core/log/log_retention.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log/log_internal.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

static const uint64_t NS_PER_MS = 1000000;

enum {
	/* A doomed segment whose roll flush still runs is looked at again
	 * after this long. */
	LOG_DOOMED_RETRY_MS = 10,
	LOG_DOOMED_FILES = 4, /* .log, .index, .timeindex, .txnindex */
	LOG_DOOMED_OPS = LOG_DOOMED_FILES + 1, /* their unlinks and the close */
};

static const char *const LOG_SEGMENT_EXTS[LOG_DOOMED_FILES] = { ".log", ".index", ".timeindex",
								 ".txnindex" };
static const char LOG_DELETED_SUFFIX[] = ".deleted";

/* ---- the decision ---- */

enum retention_reason { BY_START, BY_SIZE, BY_TIME };

struct retention_walk {
	const struct retention_input *in;
	enum retention_reason reason;
	uint64_t size_excess; /* BY_SIZE: bytes over retention.bytes still to shed */
};

static bool retention_predicate(struct retention_walk *w, uint32_t i)
{
	const struct retention_input *in = w->in;
	const struct retention_segment *s = &in->segs[i];
	switch (w->reason) {
	case BY_START:
		return i + 1 < in->count && in->segs[i + 1].base_offset <= in->log_start;
	case BY_SIZE:
		if (w->size_excess < s->size)
			return false;
		w->size_excess -= s->size;
		return true;
	case BY_TIME:
		return in->now_ms - s->largest_timestamp_ms > in->retention_ms;
	}
	return false;
}

/* Kafka's deletableSegments: from `from` on, while the segment ends at or
 * below the high watermark, is not the empty active segment, and the
 * predicate holds. */
static uint32_t retention_walk(struct retention_walk *w, uint32_t from)
{
	const struct retention_input *in = w->in;
	uint32_t k = from;
	while (k < in->count) {
		bool last = k + 1 == in->count;
		int64_t upper = last ? in->end_offset : in->segs[k + 1].base_offset;
		if (last && in->segs[k].size == 0)
			break;
		if (in->high_watermark < upper || !retention_predicate(w, k))
			break;
		k++;
	}
	return k - from;
}

void log_retention_decide(const struct retention_input *in, struct retention_decision *out)
{
	memset(out, 0, sizeof(*out));
	struct retention_walk w = { .in = in, .reason = BY_START };
	out->by_start = retention_walk(&w, 0);
	if (!in->delete_enabled)
		return;
	uint32_t from = out->by_start;
	uint64_t size = 0;
	for (uint32_t i = from; i < in->count; i++)
		size += in->segs[i].size;
	if (in->retention_bytes >= 0 && size >= (uint64_t)in->retention_bytes) {
		w.reason = BY_SIZE;
		w.size_excess = size - (uint64_t)in->retention_bytes;
		out->by_size = retention_walk(&w, from);
		from += out->by_size;
	}
	if (in->retention_ms >= 0) {
		w.reason = BY_TIME;
		out->by_time = retention_walk(&w, from);
	}
}

/* ---- deleting segment files off the loop ---- */

struct log_doomed_op {
	struct io_op op;
	struct log_doomed *doomed;
};

/* A segment out of the log, its files renamed .deleted, waiting for its
 * deletion (timer) or for its deletion ops (ops_pending). */
struct log_doomed {
	struct log_doomed *next;
	struct partition_log *log;
	struct io_timer timer;
	int64_t base_offset;
	int fd;
	const uint8_t *map;
	size_t map_len;
	uint32_t ops_pending;
	struct log_doomed_op ops[LOG_DOOMED_OPS];
	struct io_op unmap_op; /* the mapping's MADV_DONTNEED, before the rest */
	char paths[LOG_DOOMED_FILES][PATH_MAX + 48];
};

static void log_doomed_unlink(struct partition_log *l, struct log_doomed *d)
{
	for (struct log_doomed **pp = &l->doomed; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			return;
		}
	}
}

static void log_doomed_on_op(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct log_doomed_op *o = container_of(op, struct log_doomed_op, op);
	struct log_doomed *d = o->doomed;
	struct partition_log *l = d->log;
	uint32_t k = (uint32_t)(o - d->ops);
	if (res < 0 && res != -ENOENT)
		slog_warn("log", "%s: %s: %s", k < LOG_DOOMED_FILES ? d->paths[k] : d->paths[0],
			  k < LOG_DOOMED_FILES ? "unlink" : "close", strerror(-res));
	l->doomed_ops--;
	if (--d->ops_pending > 0)
		return;
	log_doomed_unlink(l, d);
	free(d);
}

/* The mapping is unmapped once its page-table entries are gone (dropped in
 * the kernel's workers: a read segment can have one per page), then the
 * files are unlinked and the descriptor closed there too. */
static void log_doomed_delete_files(struct log_doomed *d)
{
	struct partition_log *l = d->log;
	if (d->map)
		munmap((void *)d->map, d->map_len);
	d->map = NULL;
	d->ops_pending = LOG_DOOMED_OPS;
	l->doomed_ops += LOG_DOOMED_OPS;
	for (uint32_t k = 0; k < LOG_DOOMED_OPS; k++) {
		d->ops[k].op.done = log_doomed_on_op;
		d->ops[k].doomed = d;
		if (k < LOG_DOOMED_FILES)
			io_unlink(l->reactor, d->paths[k], &d->ops[k].op);
		else
			io_close(l->reactor, d->fd, &d->ops[k].op);
	}
	d->fd = -1;
}

static void log_doomed_on_unmapped(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct log_doomed *d = container_of(op, struct log_doomed, unmap_op);
	if (res < 0)
		slog_warn("log", "%s: madvise: %s", d->paths[0], strerror(-res));
	d->log->doomed_ops--;
	d->ops_pending = 0;
	log_doomed_delete_files(d);
}

static void log_doomed_on_timer(struct io_timer *t)
{
	struct log_doomed *d = container_of(t, struct log_doomed, timer);
	struct partition_log *l = d->log;
	/* The roll's flush borrows the segment's descriptor until it is done. */
	if (log_flush_pending(l, d->base_offset)) {
		io_timer_arm(l->reactor, &d->timer, LOG_DOOMED_RETRY_MS * NS_PER_MS, log_doomed_on_timer);
		return;
	}
	if (!d->map) {
		log_doomed_delete_files(d);
		return;
	}
	d->unmap_op.done = log_doomed_on_unmapped;
	d->ops_pending = 1;
	l->doomed_ops++;
	io_madvise(l->reactor, d->map, d->map_len, MADV_DONTNEED, &d->unmap_op);
}

void log_doomed_free(struct partition_log *l)
{
	while (l->doomed) {
		struct log_doomed *d = l->doomed;
		if (d->ops_pending) {
			slog_error("log", "%s: freeing a segment deletion with ops in flight", l->dir);
			abort();
		}
		l->doomed = d->next;
		if (io_timer_armed(&d->timer))
			io_timer_stop(l->reactor, &d->timer);
		if (d->map)
			munmap((void *)d->map, d->map_len);
		if (d->fd >= 0)
			close(d->fd);
		free(d);
	}
}

/* Takes segment s out of service: renames its files .deleted (a file whose
 * rename fails is deleted under its own name) and schedules their deletion.
 * The segment's memory is freed; its descriptor and mapping move to the
 * deletion. */
static void log_doom(struct partition_log *l, struct segment *s)
{
	struct log_doomed *d = calloc(1, sizeof(*d));
	if (!d) {
		slog_error("log", "%s: out of memory deleting segment %" PRId64 "; removed at once",
			   l->dir, s->base_offset);
		segment_remove(l, s);
		return;
	}
	d->log = l;
	d->base_offset = s->base_offset;
	for (uint32_t k = 0; k < LOG_DOOMED_FILES; k++) {
		char from[PATH_MAX + 32];
		segment_path(l, s->base_offset, LOG_SEGMENT_EXTS[k], from, sizeof(from));
		snprintf(d->paths[k], sizeof(d->paths[k]), "%s%s", from, LOG_DELETED_SUFFIX);
		if (rename(from, d->paths[k]) != 0) {
			if (errno != ENOENT)
				slog_warn("log", "cannot rename %s: %s", from, strerror(errno));
			snprintf(d->paths[k], sizeof(d->paths[k]), "%s", from);
		}
	}
	d->fd = s->fd;
	d->map = s->map;
	d->map_len = s->map_len;
	s->fd = -1;
	s->map = NULL;
	segment_free(s);
	io_timer_init(&d->timer);
	d->next = l->doomed;
	l->doomed = d;
	io_timer_arm(l->reactor, &d->timer, l->cfg.file_delete_delay_ms * NS_PER_MS,
		     log_doomed_on_timer);
}

/* ---- applying it to a log ---- */

uint32_t log_retention_remove(struct partition_log *l, uint32_t n, const char *why)
{
	if (n == 0)
		return 0;
	/* The active segment stays: the caller rolls it first to remove it. */
	if (n >= l->nsegs)
		n = l->nsegs - 1;
	if (n == 0)
		return 0;
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		bytes += l->segs[i].size;
		log_doom(l, &l->segs[i]);
	}
	memmove(l->segs, l->segs + n, (size_t)(l->nsegs - n) * sizeof(*l->segs));
	l->nsegs -= n;
	l->closed_bytes -= bytes;
	l->deleted_segments += n;
	l->deleted_bytes += bytes;
	if (l->segs[0].base_offset > l->log_start)
		l->log_start = l->segs[0].base_offset;
	/* The epoch file names the log start: rewritten at the next append. */
	l->epoch_written = false;
	log_publish_offsets(l);
	slog_info("log", "%s: deleted %u segment(s) (%" PRIu64 " bytes) by %s; log start offset "
		  "now %" PRId64, l->dir, n, bytes, why, l->log_start);
	return n;
}

/* A segment with no timestamp counts from its file's last change, as
 * Kafka's largestTimestamp does. */
static int64_t log_segment_largest_ts(const struct segment *s)
{
	if (s->max_ts >= 0)
		return s->max_ts;
	struct stat st;
	if (fstat(s->fd, &st) != 0)
		return INT64_MAX;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

static const char *retention_reason_name(const struct retention_decision *d)
{
	if (d->by_time && !d->by_size && !d->by_start)
		return "retention.ms";
	if (d->by_size && !d->by_time && !d->by_start)
		return "retention.bytes";
	if (d->by_start && !d->by_time && !d->by_size)
		return "the log start offset";
	return "retention";
}

uint32_t log_retention_due(struct partition_log *l, int64_t now_ms, bool start_only, const char **why)
{
	*why = "retention";
	if (l->offline || l->nsegs == 0)
		return 0;
	struct retention_segment *segs = malloc((size_t)l->nsegs * sizeof(*segs));
	if (!segs)
		return 0;
	for (uint32_t i = 0; i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];
		segs[i] = (struct retention_segment){ .base_offset = s->base_offset,
						      .size = i + 1 < l->nsegs ? s->size : s->visible_size,
						      .largest_timestamp_ms = log_segment_largest_ts(s) };
	}
	struct retention_input in = {
		.segs = segs,
		.count = l->nsegs,
		.end_offset = l->end_offset,
		.high_watermark = l->hw,
		.log_start = l->log_start,
		.delete_enabled = l->cfg.delete_enabled && !start_only,
		.retention_ms = l->cfg.retention_ms,
		.retention_bytes = l->cfg.retention_bytes,
		.now_ms = now_ms,
	};
	struct retention_decision d;
	log_retention_decide(&in, &d);
	free(segs);
	*why = retention_reason_name(&d);
	return retention_total(&d);
}
