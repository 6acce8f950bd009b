/* The io_uring reactor behind reactor.h: one ring, completions reaped in
 * batches and dispatched after the CQ is advanced, and a min-heap of timers
 * that bounds each wait. The only file that includes liburing. */
#include "io/reactor.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	REACTOR_CQE_BATCH = 256,    /* completions copied out per reap */
	REACTOR_SUBMIT_RETRIES = 8, /* a full SQ is drained this many times */
};

struct reactor_completion {
	struct io_op *op;
	int32_t res;
	uint32_t flags;
	bool uncounted;
};

struct reactor {
	struct io_uring ring;
	uint32_t inflight;
	bool has_msg_ring;
	struct io_timer **heap;
	uint32_t heap_len;
	uint32_t heap_cap;
	/* sendmsg's header: the kernel copies it during the submit that
	 * io_sendmsg does at once, so one per reactor suffices. */
	struct msghdr msghdr;
	struct reactor_completion batch[REACTOR_CQE_BATCH];
	uint64_t created_ns;
	uint64_t idle_ns; /* single writer (the loop), relaxed loads elsewhere */
};

static const uint8_t reactor_required_ops[] = {
	IORING_OP_ACCEPT, IORING_OP_RECV,  IORING_OP_SEND, IORING_OP_SENDMSG,
	IORING_OP_SPLICE, IORING_OP_WRITE, IORING_OP_ASYNC_CANCEL, IORING_OP_READ,
	IORING_OP_CLOSE,  IORING_OP_UNLINKAT, IORING_OP_MADVISE, IORING_OP_NOP,
	IORING_OP_POLL_ADD,
};

/* Completions that this ring did not submit (doorbells from other rings, and
 * the failure of a doorbell this ring sent) carry their op pointer with this
 * bit set, so that they do not count against `inflight`. */
static const uintptr_t REACTOR_UNCOUNTED = 1;

uint64_t reactor_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int reactor_probe(struct reactor *r, char *err, size_t errlen)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(&r->ring);
	if (!probe) {
		snprintf(err, errlen, "io_uring: the kernel cannot report supported operations");
		return -1;
	}
	for (size_t i = 0; i < sizeof(reactor_required_ops); i++) {
		if (!io_uring_opcode_supported(probe, reactor_required_ops[i])) {
			snprintf(err, errlen, "io_uring: the kernel lacks opcode %u, which sluice needs",
				 reactor_required_ops[i]);
			io_uring_free_probe(probe);
			return -1;
		}
	}
	r->has_msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
	io_uring_free_probe(probe);
	return 0;
}

struct reactor *reactor_create(const struct reactor_config *cfg, char *err, size_t errlen)
{
	struct reactor *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "io_uring: out of memory");
		return NULL;
	}
	r->created_ns = reactor_now_ns();
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	unsigned disabled = cfg->owner_enables ? IORING_SETUP_R_DISABLED : 0;
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  disabled;
	p.cq_entries = cfg->sq_entries * 4;
	int rc = io_uring_queue_init_params(cfg->sq_entries, &r->ring, &p);
	if (rc == -EINVAL) {
		/* Older kernels: no single-issuer/deferred task work. */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | disabled;
		p.cq_entries = cfg->sq_entries * 4;
		rc = io_uring_queue_init_params(cfg->sq_entries, &r->ring, &p);
	}
	if (rc < 0) {
		snprintf(err, errlen, "io_uring_queue_init: %s", strerror(-rc));
		free(r);
		return NULL;
	}
	if (reactor_probe(r, err, errlen) != 0) {
		io_uring_queue_exit(&r->ring);
		free(r);
		return NULL;
	}
	r->heap_cap = cfg->timers_max;
	r->heap = calloc(r->heap_cap ? r->heap_cap : 1, sizeof(*r->heap));
	if (!r->heap) {
		snprintf(err, errlen, "io_uring: out of memory for timers");
		io_uring_queue_exit(&r->ring);
		free(r);
		return NULL;
	}
	return r;
}

static void reactor_on_nop(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}

static struct io_op reactor_nop = { reactor_on_nop };

int reactor_set_worker_cpus(struct reactor *r, const cpu_set_t *cpus)
{
	/* The kernel keeps worker settings per thread, in state it creates at
	 * the thread's first submission: a thread that did not create the ring
	 * has none yet (EINVAL), so it submits a no-op first. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)&reactor_nop | REACTOR_UNCOUNTED));
	io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
	int rc = io_uring_submit(&r->ring);
	if (rc < 0)
		return rc;
	return io_uring_register_iowq_aff(&r->ring, sizeof(*cpus), cpus);
}

int reactor_enable(struct reactor *r)
{
	/* Debian's liburing 2.3 declares io_uring_enable_rings but does not
	 * export it: register directly. */
	long rc = syscall(__NR_io_uring_register, r->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
			  NULL, 0);
	return rc < 0 ? -errno : 0;
}

void reactor_destroy(struct reactor *r)
{
	io_uring_queue_exit(&r->ring);
	free(r->heap);
	free(r);
}

uint64_t reactor_idle_ns(const struct reactor *r)
{
	return __atomic_load_n(&r->idle_ns, __ATOMIC_RELAXED);
}

uint64_t reactor_created_ns(const struct reactor *r)
{
	return r->created_ns;
}

uint32_t reactor_inflight(const struct reactor *r)
{
	return r->inflight;
}

/* An SQE, submitting queued ones to make room; a ring that stays full is a
 * bug in sizing, not a runtime condition. */
static struct io_uring_sqe *reactor_sqe(struct reactor *r, struct io_op *op)
{
	assert(op && op->done);
	for (int i = 0; i < REACTOR_SUBMIT_RETRIES; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
		if (sqe) {
			io_uring_sqe_set_data(sqe, op);
			r->inflight++;
			return sqe;
		}
		io_uring_submit(&r->ring);
	}
	fprintf(stderr, "reactor: submission queue stays full\n");
	abort();
}

void io_accept_multishot(struct reactor *r, int listen_fd, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, op);
}

void io_recv(struct reactor *r, int fd, void *buf, size_t len, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_recv(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data(sqe, op);
}

void io_recv_all(struct reactor *r, int fd, void *buf, size_t len, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_recv(sqe, fd, buf, len, MSG_WAITALL);
	io_uring_sqe_set_data(sqe, op);
}

void io_send(struct reactor *r, int fd, const void *buf, size_t len, int msg_flags,
	     struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_send(sqe, fd, buf, len, msg_flags | MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, op);
}

void io_sendmsg(struct reactor *r, int fd, const struct iovec *iov, unsigned iovcnt,
		int msg_flags, struct io_op *op)
{
	struct msghdr *mh = &r->msghdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_iov = (struct iovec *)iov;
	mh->msg_iovlen = iovcnt;
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_sendmsg(sqe, fd, mh, (unsigned)(msg_flags | MSG_NOSIGNAL));
	io_uring_sqe_set_data(sqe, op);
	/* Submit now so the kernel has copied the header and iovecs before
	 * the caller's stack frame goes away. */
	io_uring_submit(&r->ring);
}

void io_splice(struct reactor *r, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
	       uint32_t len, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, len, 0);
	io_uring_sqe_set_data(sqe, op);
}

void io_poll(struct reactor *r, int fd, uint32_t poll_mask, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_poll_add(sqe, fd, poll_mask);
	io_uring_sqe_set_data(sqe, op);
}

void io_write(struct reactor *r, int fd, const void *buf, size_t len, uint64_t off,
	      struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_write(sqe, fd, buf, (unsigned)len, off);
	io_uring_sqe_set_data(sqe, op);
}

void io_read(struct reactor *r, int fd, void *buf, size_t len, uint64_t off, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_read(sqe, fd, buf, (unsigned)len, off);
	io_uring_sqe_set_data(sqe, op);
}

void io_fsync(struct reactor *r, int fd, bool datasync, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
	io_uring_sqe_set_data(sqe, op);
}

void io_unlink(struct reactor *r, const char *path, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_unlinkat(sqe, AT_FDCWD, path, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, op);
}

void io_close(struct reactor *r, int fd, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, op);
}

void io_madvise(struct reactor *r, const void *addr, size_t len, int advice, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	/* The ring's length field is 32 bits: a longer range is advised in part. */
	io_uring_prep_madvise(sqe, (void *)addr, (off_t)(len > UINT32_MAX ? UINT32_MAX : len), advice);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, op);
}

void io_nop(struct reactor *r, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, op);
}

static void io_on_detached_close(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)op;
	(void)flags;
	if (res < 0)
		fprintf(stderr, "reactor: close: %s\n", strerror(-res));
}

/* Shared by every reactor: it is only ever read. */
static struct io_op io_detached_close_op = { .done = io_on_detached_close };

void io_close_detached(struct reactor *r, int fd)
{
	io_close(r, fd, &io_detached_close_op);
}

void io_close_file(struct reactor *r, int fd)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_nlink > 0)
		close(fd);
	else
		io_close_detached(r, fd);
}

bool reactor_has_msg_ring(const struct reactor *r)
{
	return r->has_msg_ring;
}

/* Retrying refused doorbells: the first retry waits this long, each next
 * one twice as long up to the maximum, and a ring that still refuses after
 * the last is not going to be enabled. */
static const uint64_t IO_DOORBELL_BACKOFF_FIRST_NS = 50ull * 1000;
static const uint64_t IO_DOORBELL_BACKOFF_MAX_NS = 20ull * 1000 * 1000;
static const uint64_t IO_DOORBELL_RETRY_MAX_NS = 10ull * 1000 * 1000 * 1000;

/* One MSG_RING from d->from to d->to; its failure (or, for a retry, its
 * outcome) completes `result` on d->from. */
static void io_doorbell_submit(struct io_doorbell *d, struct io_op *result, bool report_delivery)
{
	struct reactor *r = d->from;
	struct io_uring_sqe *sqe = NULL;
	for (int i = 0; i < REACTOR_SUBMIT_RETRIES && !sqe; i++)
		if (!(sqe = io_uring_get_sqe(&r->ring)))
			io_uring_submit(&r->ring);
	if (!sqe) {
		fprintf(stderr, "reactor: submission queue stays full\n");
		abort();
	}
	io_uring_prep_msg_ring(sqe, d->to->ring.ring_fd, 0,
			       (uint64_t)((uintptr_t)d->target | REACTOR_UNCOUNTED), 0);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)result | REACTOR_UNCOUNTED));
	if (!report_delivery)
		io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
	/* The doorbell should not wait for this ring's next loop turn. */
	io_uring_submit(&r->ring);
}

static bool io_doorbell_refusal_passes(int32_t res)
{
	return res == -EBADFD || res == -EAGAIN || res == -EBUSY;
}

static void io_doorbell_fatal(int32_t res)
{
	fprintf(stderr, "reactor: IORING_OP_MSG_RING failed: %s\n", strerror(-res));
	abort();
}

static void io_doorbell_on_retry_timer(struct io_timer *t)
{
	struct io_doorbell *d = container_of(t, struct io_doorbell, retry_timer);
	d->retry_in_flight = true;
	io_doorbell_submit(d, &d->retried, true);
}

static void io_doorbell_retry_later(struct io_doorbell *d)
{
	if (reactor_now_ns() - d->refused_since_ns > IO_DOORBELL_RETRY_MAX_NS) {
		fprintf(stderr, "reactor: IORING_OP_MSG_RING still refused after %llu ms: the "
			"target ring is never enabled\n",
			(unsigned long long)(IO_DOORBELL_RETRY_MAX_NS / 1000000));
		abort();
	}
	io_timer_arm(d->from, &d->retry_timer, d->backoff_ns, io_doorbell_on_retry_timer);
	d->backoff_ns = d->backoff_ns * 2 < IO_DOORBELL_BACKOFF_MAX_NS ? d->backoff_ns * 2
								       : IO_DOORBELL_BACKOFF_MAX_NS;
}

static void io_doorbell_stop_retrying(struct io_doorbell *d)
{
	io_timer_stop(d->from, &d->retry_timer);
	d->refused_since_ns = 0;
	d->refused_again = false;
	assert(d->from->inflight > 0);
	d->from->inflight--;
}

/* A first ring was refused. A ring is owed to it, and that ring must leave
 * after the refusal was seen: a retry already in flight may have arrived
 * before the message this ring was for. */
static void io_doorbell_on_refused(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct io_doorbell *d = container_of(op, struct io_doorbell, refused);
	if (res == -EOWNERDEAD)
		return; /* the target thread finished: it drained what it needed */
	if (!io_doorbell_refusal_passes(res))
		io_doorbell_fatal(res);
	if (d->refused_since_ns == 0) {
		d->refused_since_ns = reactor_now_ns();
		d->backoff_ns = IO_DOORBELL_BACKOFF_FIRST_NS;
		d->from->inflight++;
	}
	if (d->retry_in_flight)
		d->refused_again = true;
	else if (!io_timer_armed(&d->retry_timer))
		io_doorbell_retry_later(d);
}

/* A retry's outcome: delivered (res 0) ends the retrying unless another
 * refusal came in meanwhile. */
static void io_doorbell_on_retried(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct io_doorbell *d = container_of(op, struct io_doorbell, retried);
	assert(d->retry_in_flight && d->refused_since_ns != 0);
	d->retry_in_flight = false;
	if (res == -EOWNERDEAD || (res == 0 && !d->refused_again)) {
		io_doorbell_stop_retrying(d);
		return;
	}
	if (res != 0 && !io_doorbell_refusal_passes(res))
		io_doorbell_fatal(res);
	d->refused_again = false;
	io_doorbell_retry_later(d);
}

void io_doorbell_init(struct io_doorbell *d, struct reactor *to, struct io_op *target)
{
	assert(to && target && target->done);
	*d = (struct io_doorbell){ .to = to, .target = target };
	d->refused.done = io_doorbell_on_refused;
	d->retried.done = io_doorbell_on_retried;
	io_timer_init(&d->retry_timer);
}

void io_doorbell_ring(struct reactor *r, struct io_doorbell *d)
{
	assert(r->has_msg_ring && d->to && (!d->from || d->from == r));
	d->from = r;
	/* A retry waiting for its timer leaves after this ring, and covers it. */
	if (io_timer_armed(&d->retry_timer))
		return;
	io_doorbell_submit(d, &d->refused, false);
}

void io_cancel_fd(struct reactor *r, int fd, struct io_op *op)
{
	struct io_uring_sqe *sqe = reactor_sqe(r, op);
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data(sqe, op);
}

/* ---- timers: a binary min-heap on deadline ---- */

static void heap_swap(struct reactor *r, uint32_t a, uint32_t b)
{
	struct io_timer *t = r->heap[a];
	r->heap[a] = r->heap[b];
	r->heap[b] = t;
	r->heap[a]->heap_index = a;
	r->heap[b]->heap_index = b;
}

static void heap_up(struct reactor *r, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (r->heap[parent]->deadline_ns <= r->heap[i]->deadline_ns)
			break;
		heap_swap(r, i, parent);
		i = parent;
	}
}

static void heap_down(struct reactor *r, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, rr = l + 1, min = i;
		if (l < r->heap_len && r->heap[l]->deadline_ns < r->heap[min]->deadline_ns)
			min = l;
		if (rr < r->heap_len && r->heap[rr]->deadline_ns < r->heap[min]->deadline_ns)
			min = rr;
		if (min == i)
			return;
		heap_swap(r, i, min);
		i = min;
	}
}

void io_timer_stop(struct reactor *r, struct io_timer *t)
{
	if (!io_timer_armed(t))
		return;
	uint32_t i = t->heap_index;
	assert(i < r->heap_len && r->heap[i] == t);
	r->heap_len--;
	if (i != r->heap_len) {
		r->heap[i] = r->heap[r->heap_len];
		r->heap[i]->heap_index = i;
		heap_down(r, i);
		heap_up(r, i);
	}
	t->heap_index = UINT32_MAX;
}

void io_timer_arm(struct reactor *r, struct io_timer *t, uint64_t delay_ns, io_timer_fn fire)
{
	io_timer_stop(r, t);
	if (r->heap_len == r->heap_cap) {
		fprintf(stderr, "reactor: more than %u timers armed\n", r->heap_cap);
		abort();
	}
	t->fire = fire;
	t->deadline_ns = reactor_now_ns() + delay_ns;
	t->heap_index = r->heap_len;
	r->heap[r->heap_len++] = t;
	heap_up(r, t->heap_index);
}

static int reactor_fire_timers(struct reactor *r)
{
	int fired = 0;
	uint64_t now = reactor_now_ns();
	while (r->heap_len > 0 && r->heap[0]->deadline_ns <= now) {
		struct io_timer *t = r->heap[0];
		io_timer_stop(r, t);
		t->fire(t);
		fired++;
	}
	return fired;
}

/* ---- the loop ---- */

static unsigned reactor_reap(struct reactor *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&r->ring, head, cqe)
	{
		if (n == REACTOR_CQE_BATCH)
			break;
		uintptr_t data = (uintptr_t)io_uring_cqe_get_data(cqe);
		r->batch[n].uncounted = data & REACTOR_UNCOUNTED;
		r->batch[n].op = (struct io_op *)(data & ~REACTOR_UNCOUNTED);
		r->batch[n].res = cqe->res;
		r->batch[n].flags = cqe->flags;
		n++;
	}
	io_uring_cq_advance(&r->ring, n);
	return n;
}

int reactor_run_once(struct reactor *r, uint64_t max_wait_ns)
{
	uint64_t wait_ns = max_wait_ns;
	if (r->heap_len > 0) {
		uint64_t now = reactor_now_ns();
		uint64_t until = r->heap[0]->deadline_ns > now ? r->heap[0]->deadline_ns - now : 0;
		if (until < wait_ns)
			wait_ns = until;
	}
	if (io_uring_cq_ready(&r->ring) > 0)
		wait_ns = 0;
	int rc;
	if (wait_ns == 0) {
		/* Deferred task work only runs when the ring is entered for
		 * events, so even a non-waiting pass asks for them. */
		rc = io_uring_submit(&r->ring);
		if (rc >= 0)
			rc = io_uring_get_events(&r->ring);
	} else {
		struct __kernel_timespec ts = { .tv_sec = (long long)(wait_ns / 1000000000ull),
						.tv_nsec = (long long)(wait_ns % 1000000000ull) };
		struct io_uring_cqe *cqe = NULL;
		uint64_t wait_start_ns = reactor_now_ns();
		rc = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
		__atomic_store_n(&r->idle_ns, r->idle_ns + (reactor_now_ns() - wait_start_ns),
				 __ATOMIC_RELAXED);
	}
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
		fprintf(stderr, "reactor: io_uring wait: %s\n", strerror(-rc));
		abort();
	}
	unsigned n = reactor_reap(r);
	for (unsigned i = 0; i < n; i++) {
		struct reactor_completion *c = &r->batch[i];
		if (!(c->flags & IORING_CQE_F_MORE) && !c->uncounted) {
			assert(r->inflight > 0);
			r->inflight--;
		}
		c->op->done(c->op, c->res, c->flags & IORING_CQE_F_MORE ? IO_MORE : 0);
	}
	return (int)n + reactor_fire_timers(r);
}
