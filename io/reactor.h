/* The per-shard reactor: one io_uring, its completions, and its timers.
 *
 * Every asynchronous operation is described by an intrusive `struct io_op` that
 * its owner embeds (recover the owner with container_of). The op's `done`
 * callback runs from reactor_run_once, after the batch of completions has been
 * reaped, never from inside a submission call, so callbacks may submit freely.
 * An op must stay alive until its final completion (for multishot ops: until a
 * completion arrives without IO_MORE). Results are the kernel's: >= 0 on
 * success, -errno on failure.
 *
 * Timers are not ring operations: they live in a min-heap owned by the reactor,
 * and the ring wait is bounded by the earliest deadline, so stopping a timer is
 * immediate and never races a completion.
 *
 * One reactor belongs to one thread, the one that created it (the ring is
 * single-issuer); nothing here is thread-safe, by design: cross-shard messages
 * arrive through mailboxes (io/mailbox.h) and their io_doorbell doorbells. */
#ifndef SLUICE_IO_REACTOR_H
#define SLUICE_IO_REACTOR_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct reactor;
struct io_op;

/* cqe_flags carries IO_MORE while a multishot op stays armed. */
enum { IO_MORE = 1u << 1 };

typedef void (*io_done_fn)(struct io_op *op, int32_t res, uint32_t cqe_flags);

struct io_op {
	io_done_fn done;
};

struct io_timer;
typedef void (*io_timer_fn)(struct io_timer *t);

struct io_timer {
	io_timer_fn fire;
	uint64_t deadline_ns; /* monotonic */
	uint32_t heap_index;  /* UINT32_MAX when not armed */
};

struct reactor_config {
	unsigned sq_entries;     /* submission queue size; the CQ is sized 4x */
	unsigned timers_max;     /* bound on armed timers */
	bool owner_enables;      /* created disabled: the thread that will own it
				    calls reactor_enable before any op */
};

/* Creates a ring, probing the kernel for every op used below; on a missing
 * feature returns NULL and writes a message naming it into err (len errlen). */
struct reactor *reactor_create(const struct reactor_config *cfg, char *err, size_t errlen);
void reactor_destroy(struct reactor *r);
/* For owner_enables reactors: makes the calling thread the ring's only
 * submitter. Returns 0 or -errno. */
int reactor_enable(struct reactor *r);
/* The CPUs the kernel's io_uring workers of the calling (owning) thread may
 * run on, e.g. all of the process's rather than the one the shard is pinned
 * to. Returns 0 or -errno. */
int reactor_set_worker_cpus(struct reactor *r, const cpu_set_t *cpus);

/* Submits what is queued, waits for at least one completion or the earliest
 * timer (or at most max_wait_ns; 0 = don't wait), then runs every reaped
 * callback and every expired timer. Returns the number of callbacks run. */
int reactor_run_once(struct reactor *r, uint64_t max_wait_ns);

/* Number of ops submitted whose final completion has not yet run. */
uint32_t reactor_inflight(const struct reactor *r);

uint64_t reactor_now_ns(void);

/* Any thread: nanoseconds the reactor's thread has spent waiting in
 * reactor_run_once for a completion or a timer (idle), since the reactor was
 * created (reactor_created_ns); the rest of the time it was busy. */
uint64_t reactor_idle_ns(const struct reactor *r);
uint64_t reactor_created_ns(const struct reactor *r);

/* Sockets. */
void io_accept_multishot(struct reactor *r, int listen_fd, struct io_op *op);
void io_recv(struct reactor *r, int fd, void *buf, size_t len, struct io_op *op);
/* Completes once all `len` bytes are in (or with what came before the peer's
 * end or an error, or -ECANCELED with none): for a length known to be coming,
 * one completion instead of one per segment that arrives. */
void io_recv_all(struct reactor *r, int fd, void *buf, size_t len, struct io_op *op);
/* msg_flags: MSG_MORE etc. (MSG_NOSIGNAL is always added). */
void io_send(struct reactor *r, int fd, const void *buf, size_t len, int msg_flags,
	     struct io_op *op);
void io_sendmsg(struct reactor *r, int fd, const struct iovec *iov, unsigned iovcnt,
		int msg_flags, struct io_op *op);
/* Splice between a file/socket and a pipe; off = -1 for "no offset". */
void io_splice(struct reactor *r, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
	       uint32_t len, struct io_op *op);

/* One-shot poll: completes with the ready events of poll_mask (POLLOUT...)
 * once fd has one, e.g. a socket that refused a non-blocking send. */
void io_poll(struct reactor *r, int fd, uint32_t poll_mask, struct io_op *op);

/* Files (and eventfds: off is ignored for them). */
void io_write(struct reactor *r, int fd, const void *buf, size_t len, uint64_t off,
	      struct io_op *op);
void io_read(struct reactor *r, int fd, void *buf, size_t len, uint64_t off, struct io_op *op);
/* fsync (datasync: fdatasync) in the kernel's workers, so that the loop never
 * blocks on the disk. It orders against nothing: submit it once the writes it
 * must cover have completed. */
void io_fsync(struct reactor *r, int fd, bool datasync, struct io_op *op);
/* unlink(path) and close(fd) in the kernel's workers (forced async), so that
 * the loop never blocks on them: the last close of a large deleted file frees
 * its blocks in the closing thread. `path` must stay valid until done. */
void io_unlink(struct reactor *r, const char *path, struct io_op *op);
void io_close(struct reactor *r, int fd, struct io_op *op);
/* madvise in the kernel's workers: MADV_DONTNEED on a large mapping drops
 * its page-table entries there, so that the munmap after it is cheap. */
void io_madvise(struct reactor *r, const void *addr, size_t len, int advice, struct io_op *op);
/* Completes op with res 0 on the next loop turn, without leaving the
 * thread (the kernel completes a no-op inline): for work done at once
 * whose completion must still come from the loop, never from its caller. */
void io_nop(struct reactor *r, struct io_op *op);
/* io_close for a caller that needs no completion (a failure is logged). */
void io_close_detached(struct reactor *r, int fd);
/* Closes a file's descriptor without the loop paying for freeing its blocks:
 * at once when the file still has a name (then no close can free them),
 * else with io_close_detached. */
void io_close_file(struct reactor *r, int fd);

/* Cross-reactor doorbell (IORING_OP_MSG_RING), rung from this reactor's
 * thread: makes `target`, an op of the reactor `to` (another thread's),
 * complete there with res 0. `target` does not count in to's
 * reactor_inflight and may be completed any number of times. Only where
 * reactor_has_msg_ring(r).
 *
 * The kernel may refuse a doorbell for a while: the target ring is not
 * enabled yet (EBADFD) or is busy (EAGAIN, EBUSY). A refused doorbell is rung
 * again after a backoff (IO_DOORBELL_BACKOFF_FIRST_NS, doubling up to
 * IO_DOORBELL_BACKOFF_MAX_NS) and, while it is being retried, counts in r's
 * reactor_inflight, so that its owner does not stop before it is delivered.
 * A target thread that has exited (EOWNERDEAD) needs no doorbell. Any other
 * refusal, or one that lasts IO_DOORBELL_RETRY_MAX_NS, is our bug: abort,
 * naming the error. The fields are the ringing thread's; set up with
 * io_doorbell_init. */
struct io_doorbell {
	struct reactor *to;
	struct io_op *target;
	struct reactor *from;         /* the ringing reactor, set by the first ring */
	struct io_op refused;         /* completes on `from` when a first ring is refused */
	struct io_op retried;         /* completes on `from` with a retry's outcome */
	struct io_timer retry_timer;
	uint64_t refused_since_ns;    /* 0 while nothing is being retried */
	uint64_t backoff_ns;
	bool retry_in_flight;         /* a retry was submitted and has not completed */
	bool refused_again;           /* refused while a retry was in flight */
};

void io_doorbell_init(struct io_doorbell *d, struct reactor *to, struct io_op *target);
void io_doorbell_ring(struct reactor *r, struct io_doorbell *d);
bool reactor_has_msg_ring(const struct reactor *r);

/* Cancels every op on fd (e.g. a multishot accept or a pending recv); the
 * cancelled ops complete with -ECANCELED; `op` completes with the count. */
void io_cancel_fd(struct reactor *r, int fd, struct io_op *op);

/* Timers (see above). Arming an armed timer moves it. */
void io_timer_arm(struct reactor *r, struct io_timer *t, uint64_t delay_ns, io_timer_fn fire);
void io_timer_stop(struct reactor *r, struct io_timer *t);
static inline bool io_timer_armed(const struct io_timer *t)
{
	return t->heap_index != UINT32_MAX;
}
static inline void io_timer_init(struct io_timer *t)
{
	t->fire = NULL;
	t->deadline_ns = 0;
	t->heap_index = UINT32_MAX;
}

#endif
