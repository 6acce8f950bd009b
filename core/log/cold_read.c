/* Cold reads in the kernel's workers, a bounded number per shard (see
 * cold_read.h). */
#include "core/log/cold_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shard/shard.h"
#include "core/slog.h"

struct cold_read {
	struct cold_reads *owner;
	struct cold_read *next;         /* in the queue or the running list */
	struct fetch_waiter waiter;     /* on the partition's list until it goes away */
	struct fetch_waiter **waiters;  /* the list it was asked for (only compared) */
	int fd;                         /* a duplicate of the segment's */
	uint64_t off, len, done;
	int pipe_fds[2];
	uint32_t pipe_bytes;            /* what one splice moves at most */
	int devnull;
	struct io_op op;
};

static void cold_read_start(struct cold_read *rd);

void cold_reads_init(struct cold_reads *cr, struct reactor *r, uint32_t limit)
{
	memset(cr, 0, sizeof(*cr));
	cr->reactor = r;
	cr->limit = limit ? limit : 1;
}

/* The partition's waiters list calls this on every append (nothing to do)
 * and when the partition goes away (final): the read is then for nothing. */
static void cold_read_on_partition(struct fetch_waiter *w, bool final)
{
	if (final)
		fetch_waiter_detach(w);
}

static bool cold_read_matches(const struct cold_read *rd, struct fetch_waiter *const *waiters)
{
	for (; rd; rd = rd->next)
		if (rd->waiters == waiters)
			return true;
	return false;
}

bool cold_reads_pending(const struct cold_reads *cr, struct fetch_waiter *const *waiters)
{
	return cold_read_matches(cr->running_head, waiters) ||
	       cold_read_matches(cr->queue_head, waiters);
}

static void cold_read_release(struct cold_read *rd)
{
	if (rd->pipe_fds[0] >= 0) {
		close(rd->pipe_fds[0]);
		close(rd->pipe_fds[1]);
	}
	if (rd->devnull >= 0)
		close(rd->devnull);
	io_close_file(rd->owner->reactor, rd->fd);
	fetch_waiter_detach(&rd->waiter);
	free(rd);
}

static void cold_reads_unlink_running(struct cold_reads *cr, struct cold_read *rd)
{
	struct cold_read **p = &cr->running_head;
	while (*p != rd)
		p = &(*p)->next;
	*p = rd->next;
	cr->running--;
	SHARD_COUNTER_ADD(cr->stats.running, -1);
}

/* Starts queued reads while slots are free. */
static void cold_reads_pump(struct cold_reads *cr)
{
	while (!cr->stopped && cr->running < cr->limit && cr->queue_head) {
		struct cold_read *rd = cr->queue_head;
		cr->queue_head = rd->next;
		if (!cr->queue_head)
			cr->queue_tail = NULL;
		cr->queued--;
		cold_read_start(rd);
	}
}

/* The read ended (done, failed or for nothing): its slot goes to the next
 * queued read before the partition's fetches wake, since a woken fetch may
 * plan, and ask again, at once. */
static void cold_read_finish(struct cold_read *rd, bool ok)
{
	struct cold_reads *cr = rd->owner;
	struct fetch_waiter **list = rd->waiter.list;
	cold_reads_unlink_running(cr, rd);
	if (ok) {
		SHARD_COUNTER_ADD(cr->stats.reads, 1);
		SHARD_COUNTER_ADD(cr->stats.bytes, rd->done);
	} else {
		SHARD_COUNTER_ADD(cr->stats.failures, 1);
	}
	cold_read_release(rd);
	cold_reads_pump(cr);
	if (list)
		fetch_waiters_wake(list);
}

static void cold_read_next(struct cold_read *rd)
{
	uint64_t left = rd->len - rd->done;
	uint32_t n = left < rd->pipe_bytes ? (uint32_t)left : rd->pipe_bytes;
	io_splice(rd->owner->reactor, rd->fd, (int64_t)(rd->off + rd->done), rd->pipe_fds[1], -1, n,
		  &rd->op);
}

/* The pages are in the pipe, hence in the page cache: the pipe is emptied
 * into /dev/null (no copy, no wait) for the next piece. */
static bool cold_read_drain(struct cold_read *rd, uint32_t bytes)
{
	while (bytes > 0) {
		ssize_t n = splice(rd->pipe_fds[0], NULL, rd->devnull, NULL, bytes, SPLICE_F_NONBLOCK);
		if (n <= 0) {
			slog_warn("fetch", "cold read: emptying its pipe: %s",
				  n < 0 ? strerror(errno) : "nothing moved");
			return false;
		}
		bytes -= (uint32_t)n;
	}
	return true;
}

static void cold_read_on_splice(struct io_op *op, int32_t res, uint32_t flags)
{
	struct cold_read *rd = container_of(op, struct cold_read, op);
	(void)flags;
	if (res < 0) {
		slog_warn("fetch", "cold read of %llu bytes at %llu: %s",
			  (unsigned long long)(rd->len - rd->done),
			  (unsigned long long)(rd->off + rd->done), strerror(-res));
		cold_read_finish(rd, false);
		return;
	}
	if (res > 0 && !cold_read_drain(rd, (uint32_t)res)) {
		cold_read_finish(rd, false);
		return;
	}
	rd->done += (uint64_t)res;
	/* 0: the segment is shorter than planned (cut meanwhile): the fetch's
	 * next plan sees its new end. */
	if (res == 0 || rd->done >= rd->len || rd->owner->stopped || !rd->waiter.list)
		cold_read_finish(rd, true);
	else
		cold_read_next(rd);
}

static bool cold_read_open(struct cold_read *rd)
{
	if (pipe2(rd->pipe_fds, O_CLOEXEC) != 0) {
		rd->pipe_fds[0] = rd->pipe_fds[1] = -1;
		slog_warn("fetch", "cold read: pipe2: %s", strerror(errno));
		return false;
	}
	/* A bigger pipe moves more per splice; the kernel may cap it. */
	(void)fcntl(rd->pipe_fds[1], F_SETPIPE_SZ, COLD_READ_PIPE_BYTES);
	int cap = fcntl(rd->pipe_fds[1], F_GETPIPE_SZ);
	rd->pipe_bytes = cap > 0 ? (uint32_t)cap : COLD_READ_PIPE_BYTES_MIN;
	rd->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (rd->devnull < 0) {
		slog_warn("fetch", "cold read: /dev/null: %s", strerror(errno));
		return false;
	}
	return true;
}

static void cold_read_start(struct cold_read *rd)
{
	struct cold_reads *cr = rd->owner;
	rd->next = cr->running_head;
	cr->running_head = rd;
	cr->running++;
	SHARD_COUNTER_ADD(cr->stats.running, 1);
	if (!rd->waiter.list) {
		cold_read_finish(rd, true);
		return;
	}
	if (!cold_read_open(rd)) {
		cold_read_finish(rd, false);
		return;
	}
	cold_read_next(rd);
}

void cold_reads_request(struct cold_reads *cr, int fd, uint64_t off, uint64_t len,
			struct fetch_waiter **waiters)
{
	SHARD_COUNTER_ADD(cr->stats.requested, 1);
	if (cr->stopped || len == 0 || cold_reads_pending(cr, waiters))
		return;
	bool wait = cr->running >= cr->limit;
	if (wait && cr->queued >= COLD_READS_QUEUED_MAX) {
		SHARD_COUNTER_ADD(cr->stats.dropped, 1);
		return;
	}
	struct cold_read *rd = calloc(1, sizeof(*rd));
	int dup = rd ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (dup < 0) {
		slog_warn("fetch", "cannot start a cold read: %s", rd ? strerror(errno) : "out of memory");
		free(rd);
		SHARD_COUNTER_ADD(cr->stats.dropped, 1);
		return;
	}
	*rd = (struct cold_read){ .owner = cr, .waiters = waiters, .fd = dup, .off = off,
				  .len = len < COLD_READ_BYTES_MAX ? len : COLD_READ_BYTES_MAX,
				  .pipe_fds = { -1, -1 }, .devnull = -1 };
	rd->op.done = cold_read_on_splice;
	fetch_waiter_attach(&rd->waiter, waiters, cold_read_on_partition);
	if (!wait) {
		cold_read_start(rd);
		return;
	}
	SHARD_COUNTER_ADD(cr->stats.queued, 1);
	if (cr->queue_tail)
		cr->queue_tail->next = rd;
	else
		cr->queue_head = rd;
	cr->queue_tail = rd;
	cr->queued++;
}

void cold_reads_stop(struct cold_reads *cr)
{
	cr->stopped = true;
	while (cr->queue_head) {
		struct cold_read *rd = cr->queue_head;
		cr->queue_head = rd->next;
		cold_read_release(rd);
	}
	cr->queue_tail = NULL;
	cr->queued = 0;
}
