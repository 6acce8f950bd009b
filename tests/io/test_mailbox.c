/* Mailboxes between two threads, each with its own reactor: every message
 * arrives once and in order, a full mailbox refuses and its producer is woken
 * when there is room again, replies travel back; with the MSG_RING doorbell
 * and with the eventfd one. The loops wait up to a second per turn: a lost
 * doorbell shows as a turn that timed out with work pending. A post to a
 * consumer whose ring its thread has not enabled yet is delivered once it is.
 * Exits 77 without io_uring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "io/mailbox.h"

enum { MESSAGES = 200000, CAPACITY = 64 };
static const uint64_t TURN_NS = 1000000000ull;

struct pair {
	struct reactor *ra, *rb;      /* a produces, b consumes and replies */
	struct mailbox to_b, to_a;
	pthread_barrier_t step;
	/* a's */
	uint64_t sent, replies, refused;
	bool a_blocked;
	uint64_t a_lost_wakeups;
	/* b's */
	uint64_t received, out_of_order, owed_replies;
	bool b_blocked;
	uint64_t b_lost_wakeups;
};

static struct reactor *new_reactor(void)
{
	struct reactor_config rc = { .sq_entries = 64, .timers_max = 4 };
	char err[256];
	struct reactor *r = reactor_create(&rc, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "skipping: %s\n", err);
		exit(77);
	}
	return r;
}

struct msg {
	struct pair *p;
	uint64_t seq;
};

static void on_message(void *arg)
{
	struct msg *m = arg;
	struct pair *p = m->p;
	if (m->seq != p->received)
		p->out_of_order++;
	p->received++;
	p->owed_replies++;
	free(m);
}

static void on_reply(void *arg)
{
	((struct pair *)arg)->replies++;
}

static void drain(struct mailbox *m)
{
	mailbox_drain(m, UINT32_MAX);
}

static void a_has_room(struct mailbox *m)
{
	container_of(m, struct pair, to_b)->a_blocked = false;
}

static void b_has_room(struct mailbox *m)
{
	container_of(m, struct pair, to_a)->b_blocked = false;
}

static void finish(struct reactor *r, struct mailbox_bell *x, struct mailbox_bell *y)
{
	mailbox_detach(x);
	mailbox_detach(y);
	while (mailbox_bell_armed(x) || mailbox_bell_armed(y) || reactor_inflight(r))
		reactor_run_once(r, TURN_NS);
}

static void *run_b(void *arg)
{
	struct pair *p = arg;
	p->rb = new_reactor();
	pthread_barrier_wait(&p->step);
	pthread_barrier_wait(&p->step);
	mailbox_attach(&p->to_b.to_consumer);
	mailbox_attach(&p->to_a.to_producer);
	pthread_barrier_wait(&p->step);
	while (p->received < MESSAGES || p->owed_replies) {
		while (p->owed_replies && !p->b_blocked) {
			if (mailbox_post(&p->to_a, on_reply, p))
				p->owed_replies--;
			else
				p->b_blocked = true;
		}
		bool waiting_for_room = p->b_blocked;
		if (reactor_run_once(p->rb, TURN_NS) == 0 &&
		    (mailbox_pending(&p->to_b) || (waiting_for_room && mailbox_pending(&p->to_a) < CAPACITY)))
			p->b_lost_wakeups++;
	}
	finish(p->rb, &p->to_b.to_consumer, &p->to_a.to_producer);
	return NULL;
}

static void *run_a(void *arg)
{
	struct pair *p = arg;
	p->ra = new_reactor();
	pthread_barrier_wait(&p->step);
	pthread_barrier_wait(&p->step);
	mailbox_attach(&p->to_a.to_consumer);
	mailbox_attach(&p->to_b.to_producer);
	pthread_barrier_wait(&p->step);
	while (p->replies < MESSAGES) {
		while (p->sent < MESSAGES && !p->a_blocked) {
			struct msg *m = malloc(sizeof(*m));
			*m = (struct msg){ p, p->sent };
			if (mailbox_post(&p->to_b, on_message, m)) {
				p->sent++;
			} else {
				free(m);
				p->refused++;
				p->a_blocked = true;
			}
		}
		bool waiting_for_room = p->a_blocked;
		if (reactor_run_once(p->ra, TURN_NS) == 0 &&
		    (mailbox_pending(&p->to_a) || (waiting_for_room && mailbox_pending(&p->to_b) < CAPACITY)))
			p->a_lost_wakeups++;
	}
	finish(p->ra, &p->to_a.to_consumer, &p->to_b.to_producer);
	return NULL;
}

static void exchange(enum mailbox_doorbell doorbell)
{
	struct pair *p = calloc(1, sizeof(*p));
	pthread_barrier_init(&p->step, NULL, 3);
	pthread_t ta, tb;
	pthread_create(&ta, NULL, run_a, p);
	pthread_create(&tb, NULL, run_b, p);
	pthread_barrier_wait(&p->step); /* both reactors exist */
	assert_int_equal(mailbox_init(&p->to_b, p->ra, p->rb, CAPACITY - 1, doorbell, drain, a_has_room), 0);
	assert_int_equal(mailbox_init(&p->to_a, p->rb, p->ra, CAPACITY, doorbell, drain, b_has_room), 0);
	assert_int_equal(p->to_b.capacity, CAPACITY);
	assert_int_equal(p->to_b.to_consumer.eventfd >= 0, doorbell == MAILBOX_DOORBELL_EVENTFD);
	pthread_barrier_wait(&p->step); /* wired */
	pthread_barrier_wait(&p->step); /* attached */
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(p->received, MESSAGES);
	assert_int_equal(p->out_of_order, 0);
	assert_int_equal(p->replies, MESSAGES);
	assert_true(p->refused > 0); /* a outran a 64-slot mailbox */
	assert_int_equal(p->a_lost_wakeups, 0);
	assert_int_equal(p->b_lost_wakeups, 0);
	assert_int_equal(mailbox_pending(&p->to_b), 0);
	mailbox_destroy(&p->to_b);
	mailbox_destroy(&p->to_a);
	reactor_destroy(p->ra);
	reactor_destroy(p->rb);
	pthread_barrier_destroy(&p->step);
	free(p);
}

static void test_msg_ring_doorbell(void **state)
{
	(void)state;
	exchange(MAILBOX_DOORBELL_AUTO);
}

static void test_eventfd_doorbell(void **state)
{
	(void)state;
	exchange(MAILBOX_DOORBELL_EVENTFD);
}

/* The consumer's ring is created disabled (as every shard's but the first)
 * and its thread enables it only after the producer has posted and rung. */
struct late {
	struct reactor *consumer_ring;
	struct mailbox box;
	pthread_barrier_t step;
	_Atomic bool delivered;
	uint64_t received;
	uint64_t lost_wakeups;
};

static void late_on_message(void *arg)
{
	((struct late *)arg)->received++;
}

static void late_no_room(struct mailbox *m)
{
	(void)m;
	fail_msg("a one-message post cannot have been refused");
}

static const uint64_t LATE_ENABLE_NS = 100ull * 1000 * 1000;

static void *run_late_consumer(void *arg)
{
	struct late *l = arg;
	pthread_barrier_wait(&l->step); /* the producer posted */
	struct timespec pause = { 0, (long)LATE_ENABLE_NS };
	nanosleep(&pause, NULL);
	assert_int_equal(reactor_enable(l->consumer_ring), 0);
	mailbox_attach(&l->box.to_consumer);
	uint64_t deadline = reactor_now_ns() + 5 * TURN_NS;
	while (l->received == 0 && reactor_now_ns() < deadline)
		if (reactor_run_once(l->consumer_ring, TURN_NS) == 0 && mailbox_pending(&l->box))
			l->lost_wakeups++;
	atomic_store(&l->delivered, true);
	mailbox_detach(&l->box.to_consumer);
	while (mailbox_bell_armed(&l->box.to_consumer) || reactor_inflight(l->consumer_ring))
		reactor_run_once(l->consumer_ring, TURN_NS);
	return NULL;
}

static void test_post_before_consumer_enabled(void **state)
{
	(void)state;
	struct late *l = calloc(1, sizeof(*l));
	struct reactor *producer = new_reactor();
	struct reactor_config rc = { .sq_entries = 64, .timers_max = 4, .owner_enables = true };
	char err[256];
	l->consumer_ring = reactor_create(&rc, err, sizeof(err));
	assert_non_null(l->consumer_ring);
	assert_int_equal(mailbox_init(&l->box, producer, l->consumer_ring, 4, MAILBOX_DOORBELL_AUTO,
				      drain, late_no_room), 0);
	pthread_barrier_init(&l->step, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, run_late_consumer, l);
	mailbox_attach(&l->box.to_producer);
	assert_true(mailbox_post(&l->box, late_on_message, l));
	pthread_barrier_wait(&l->step);
	while (!atomic_load(&l->delivered))
		reactor_run_once(producer, TURN_NS / 10);
	pthread_join(t, NULL);
	assert_int_equal(l->received, 1);
	assert_int_equal(l->lost_wakeups, 0);
	mailbox_detach(&l->box.to_producer);
	while (mailbox_bell_armed(&l->box.to_producer) || reactor_inflight(producer))
		reactor_run_once(producer, TURN_NS);
	mailbox_destroy(&l->box);
	reactor_destroy(producer);
	reactor_destroy(l->consumer_ring);
	pthread_barrier_destroy(&l->step);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_ring_doorbell),
		cmocka_unit_test(test_eventfd_doorbell),
		cmocka_unit_test(test_post_before_consumer_enabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
