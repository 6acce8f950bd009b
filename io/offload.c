/* A shard's helper thread and its lock-free handoff; see offload.h. */
#include "io/offload.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { OFFLOAD_CACHE_LINE = 64, OFFLOAD_NAME_MAX = 15 /* pthread_setname_np's limit */ };

_Static_assert((OFFLOAD_QUEUE_MAX & (OFFLOAD_QUEUE_MAX - 1)) == 0,
	       "OFFLOAD_QUEUE_MAX must be a power of two");

/* One direction of the handoff. It never fills: no more than
 * OFFLOAD_QUEUE_MAX jobs are handed over at once. */
struct offload_ring {
	_Alignas(OFFLOAD_CACHE_LINE) _Atomic uint32_t head; /* the consumer's */
	_Alignas(OFFLOAD_CACHE_LINE) _Atomic uint32_t tail; /* the producer's */
	_Alignas(OFFLOAD_CACHE_LINE) struct offload_job *slots[OFFLOAD_QUEUE_MAX];
};

struct offload {
	struct offload_ring to_helper;
	struct offload_ring to_owner;
	_Alignas(OFFLOAD_CACHE_LINE) _Atomic bool helper_rung; /* a helper wake-up is pending */
	_Atomic bool owner_rung;                               /* an owner wake-up is pending */
	_Atomic bool stopping;
	/* The owner's. */
	_Alignas(OFFLOAD_CACHE_LINE) struct reactor *owner;
	struct io_op wake_op;
	uint64_t wake_value;
	bool wake_armed;
	bool waking;                  /* in offload_on_wake, which re-arms at its end */
	uint32_t handed;              /* handed over, done not yet run */
	struct offload_job *waiting_head, *waiting_tail;
	uint32_t waiting;
	/* Set up before the helper starts. */
	int helper_fd;                /* the helper blocks reading it */
	int owner_fd;                 /* the owner's reactor reads it */
	pthread_t thread;
};

static void offload_ring_push(struct offload_ring *q, struct offload_job *job)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	assert(tail - atomic_load_explicit(&q->head, memory_order_acquire) < OFFLOAD_QUEUE_MAX);
	q->slots[tail & (OFFLOAD_QUEUE_MAX - 1)] = job;
	atomic_store_explicit(&q->tail, tail + 1, memory_order_seq_cst);
}

static struct offload_job *offload_ring_pop(struct offload_ring *q)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	if (head == atomic_load_explicit(&q->tail, memory_order_seq_cst))
		return NULL;
	struct offload_job *job = q->slots[head & (OFFLOAD_QUEUE_MAX - 1)];
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return job;
}

/* Sequentially consistent with the reader's clear-then-look: either the
 * reader sees what was pushed before this, or this sees its clear and
 * writes. */
static void offload_wake(_Atomic bool *rung, int fd)
{
	if (atomic_exchange_explicit(rung, true, memory_order_seq_cst))
		return;
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		fprintf(stderr, "offload: eventfd write: %s\n", strerror(errno));
		abort();
	}
}

static void *offload_main(void *arg)
{
	struct offload *o = arg;
	for (;;) {
		atomic_store_explicit(&o->helper_rung, false, memory_order_seq_cst);
		struct offload_job *job;
		while ((job = offload_ring_pop(&o->to_helper))) {
			job->run(job);
			offload_ring_push(&o->to_owner, job);
			offload_wake(&o->owner_rung, o->owner_fd);
		}
		if (atomic_load(&o->stopping))
			return NULL;
		uint64_t value;
		if (read(o->helper_fd, &value, sizeof(value)) < 0 && errno != EINTR) {
			fprintf(stderr, "offload: eventfd read: %s\n", strerror(errno));
			abort();
		}
	}
}

static void offload_arm_wake(struct offload *o)
{
	o->wake_armed = true;
	io_read(o->owner, o->owner_fd, &o->wake_value, sizeof(o->wake_value), 0, &o->wake_op);
}

static void offload_hand_over(struct offload *o, struct offload_job *job)
{
	o->handed++;
	offload_ring_push(&o->to_helper, job);
	offload_wake(&o->helper_rung, o->helper_fd);
}

/* The helper finished something: runs the done callbacks of what came back
 * (they may submit more), hands over what waited, and stays armed while
 * anything is in flight. */
static void offload_on_wake(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct offload *o = container_of(op, struct offload, wake_op);
	o->wake_armed = false;
	if (res < 0) {
		fprintf(stderr, "offload: eventfd read: %s\n", strerror(-res));
		abort();
	}
	atomic_store_explicit(&o->owner_rung, false, memory_order_seq_cst);
	o->waking = true;
	struct offload_job *job;
	while ((job = offload_ring_pop(&o->to_owner))) {
		assert(o->handed > 0);
		o->handed--;
		if (o->waiting_head) {
			struct offload_job *next = o->waiting_head;
			o->waiting_head = next->next;
			if (!o->waiting_head)
				o->waiting_tail = NULL;
			o->waiting--;
			offload_hand_over(o, next);
		}
		job->done(job);
	}
	o->waking = false;
	if (offload_in_flight(o) > 0)
		offload_arm_wake(o);
}

struct offload *offload_create(struct reactor *owner, const cpu_set_t *cpus, const char *name,
			       char *err, size_t errlen)
{
	struct offload *o = aligned_alloc(OFFLOAD_CACHE_LINE, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "offload: out of memory");
		return NULL;
	}
	memset(o, 0, sizeof(*o));
	atomic_init(&o->to_helper.head, 0);
	atomic_init(&o->to_helper.tail, 0);
	atomic_init(&o->to_owner.head, 0);
	atomic_init(&o->to_owner.tail, 0);
	atomic_init(&o->helper_rung, false);
	atomic_init(&o->owner_rung, false);
	atomic_init(&o->stopping, false);
	o->owner = owner;
	o->wake_op.done = offload_on_wake;
	o->helper_fd = eventfd(0, EFD_CLOEXEC);
	o->owner_fd = eventfd(0, EFD_CLOEXEC);
	int rc = o->helper_fd < 0 || o->owner_fd < 0 ? errno : 0;
	if (rc == 0) {
		sigset_t all, old;
		sigfillset(&all);
		/* Signals belong to the main thread. */
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&o->thread, NULL, offload_main, o);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc != 0) {
		snprintf(err, errlen, "offload: cannot start a helper thread: %s", strerror(rc));
		if (o->helper_fd >= 0)
			close(o->helper_fd);
		if (o->owner_fd >= 0)
			close(o->owner_fd);
		free(o);
		return NULL;
	}
	char thread_name[OFFLOAD_NAME_MAX + 1];
	snprintf(thread_name, sizeof(thread_name), "%s", name);
	(void)pthread_setname_np(o->thread, thread_name);
	if (cpus && (rc = pthread_setaffinity_np(o->thread, sizeof(*cpus), cpus)) != 0)
		fprintf(stderr, "offload: %s stays where it started: %s\n", thread_name, strerror(rc));
	return o;
}

void offload_submit(struct offload *o, struct offload_job *job)
{
	assert(job->run && job->done);
	job->next = NULL;
	if (o->handed < OFFLOAD_QUEUE_MAX) {
		offload_hand_over(o, job);
	} else {
		if (o->waiting_tail)
			o->waiting_tail->next = job;
		else
			o->waiting_head = job;
		o->waiting_tail = job;
		o->waiting++;
	}
	if (!o->wake_armed && !o->waking)
		offload_arm_wake(o);
}

uint32_t offload_in_flight(const struct offload *o)
{
	return o->handed + o->waiting;
}

uint32_t offload_waiting(const struct offload *o)
{
	return o->waiting;
}

/* The longest one wait for a job to come back lasts before it looks again. */
static const uint64_t OFFLOAD_DESTROY_TURN_NS = 100ull * 1000 * 1000;

void offload_destroy(struct offload *o)
{
	while (offload_in_flight(o) > 0)
		reactor_run_once(o->owner, OFFLOAD_DESTROY_TURN_NS);
	assert(!o->wake_armed);
	atomic_store(&o->stopping, true);
	uint64_t one = 1;
	if (write(o->helper_fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		fprintf(stderr, "offload: eventfd write: %s\n", strerror(errno));
		abort();
	}
	pthread_join(o->thread, NULL);
	close(o->helper_fd);
	close(o->owner_fd);
	free(o);
}
