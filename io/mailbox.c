/* SPSC mailboxes and their doorbells; see mailbox.h. */
#include "io/mailbox.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void bell_arm(struct mailbox_bell *b);

static void bell_on_op(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct mailbox_bell *b = container_of(op, struct mailbox_bell, op);
	if (b->eventfd >= 0) {
		b->armed = false;
		if (res == -ECANCELED)
			return;
		if (res < 0) {
			fprintf(stderr, "mailbox: doorbell read: %d\n", res);
			abort();
		}
		/* A ring that beat the cancel must not re-arm what is being
		 * detached: the cancel has already missed it. */
		if (!b->detaching)
			bell_arm(b);
	}
	b->ring(b->box);
}

static void bell_arm(struct mailbox_bell *b)
{
	b->armed = true;
	io_read(b->owner, b->eventfd, &b->eventfd_value, sizeof(b->eventfd_value), 0, &b->op);
}

static void bell_on_cancel(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}

static int bell_init(struct mailbox_bell *b, struct mailbox *m, struct reactor *owner,
		     bool use_eventfd, void (*ring)(struct mailbox *m))
{
	*b = (struct mailbox_bell){ .box = m, .owner = owner, .eventfd = -1, .ring = ring };
	b->op.done = bell_on_op;
	b->cancel_op.done = bell_on_cancel;
	if (!use_eventfd) {
		io_doorbell_init(&b->doorbell, owner, &b->op);
		return 0;
	}
	if ((b->eventfd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	return 0;
}

/* From the other end's thread, whose reactor is `from`. */
static void bell_ring(struct mailbox_bell *b, struct reactor *from)
{
	if (b->eventfd < 0) {
		io_doorbell_ring(from, &b->doorbell);
		return;
	}
	uint64_t one = 1;
	if (write(b->eventfd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		fprintf(stderr, "mailbox: doorbell write failed\n");
		abort();
	}
}

int mailbox_init(struct mailbox *m, struct reactor *producer, struct reactor *consumer,
		 uint32_t capacity, enum mailbox_doorbell doorbell,
		 void (*on_messages)(struct mailbox *m), void (*on_space)(struct mailbox *m))
{
	assert(producer && consumer && on_messages && on_space && capacity > 0);
	m->to_consumer = (struct mailbox_bell){ .eventfd = -1 };
	m->to_producer = (struct mailbox_bell){ .eventfd = -1 };
	uint32_t cap = 1;
	while (cap < capacity)
		cap <<= 1;
	atomic_init(&m->head, 0);
	atomic_init(&m->tail, 0);
	atomic_init(&m->rung, false);
	atomic_init(&m->producer_waiting, false);
	m->capacity = cap;
	m->slots = calloc(cap, sizeof(*m->slots));
	bool use_eventfd = doorbell == MAILBOX_DOORBELL_EVENTFD || !reactor_has_msg_ring(producer) ||
			   !reactor_has_msg_ring(consumer);
	int rc = m->slots ? 0 : -ENOMEM;
	if (rc == 0)
		rc = bell_init(&m->to_consumer, m, consumer, use_eventfd, on_messages);
	if (rc == 0)
		rc = bell_init(&m->to_producer, m, producer, use_eventfd, on_space);
	if (rc != 0)
		mailbox_destroy(m);
	return rc;
}

void mailbox_attach(struct mailbox_bell *b)
{
	if (b->eventfd >= 0 && !b->armed)
		bell_arm(b);
}

void mailbox_detach(struct mailbox_bell *b)
{
	b->detaching = true;
	if (b->armed)
		io_cancel_fd(b->owner, b->eventfd, &b->cancel_op);
}

bool mailbox_bell_armed(const struct mailbox_bell *b)
{
	return b->armed;
}

void mailbox_destroy(struct mailbox *m)
{
	struct mailbox_bell *bells[] = { &m->to_consumer, &m->to_producer };
	for (int i = 0; i < 2; i++) {
		assert(!bells[i]->armed);
		if (bells[i]->eventfd >= 0)
			close(bells[i]->eventfd);
		bells[i]->eventfd = -1;
	}
	free(m->slots);
	m->slots = NULL;
}

bool mailbox_post(struct mailbox *m, void (*fn)(void *arg), void *arg)
{
	uint32_t tail = atomic_load_explicit(&m->tail, memory_order_relaxed);
	if (tail - atomic_load_explicit(&m->head, memory_order_seq_cst) == m->capacity) {
		/* Say we wait, then look again: a drain that ran in between
		 * either left room we now see, or sees the flag and rings. */
		atomic_store_explicit(&m->producer_waiting, true, memory_order_seq_cst);
		if (tail - atomic_load_explicit(&m->head, memory_order_seq_cst) == m->capacity)
			return false;
	}
	m->slots[tail & (m->capacity - 1)] = (struct mailbox_msg){ fn, arg };
	/* Sequentially consistent with the consumer's clear-then-read of the
	 * tail: either it sees this message, or this exchange sees its clear
	 * and rings. A message is never left without a doorbell. */
	atomic_store_explicit(&m->tail, tail + 1, memory_order_seq_cst);
	if (!atomic_exchange_explicit(&m->rung, true, memory_order_seq_cst))
		bell_ring(&m->to_consumer, m->to_producer.owner);
	return true;
}

uint32_t mailbox_drain(struct mailbox *m, uint32_t max)
{
	atomic_store_explicit(&m->rung, false, memory_order_seq_cst);
	uint32_t head = atomic_load_explicit(&m->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&m->tail, memory_order_seq_cst);
	uint32_t n = 0;
	while (head != tail && n < max) {
		struct mailbox_msg msg = m->slots[head & (m->capacity - 1)];
		head++;
		/* The slot is free before the message runs: handlers post into
		 * other mailboxes, and a refused producer may refill this one. */
		atomic_store_explicit(&m->head, head, memory_order_seq_cst);
		msg.fn(msg.arg);
		n++;
	}
	if (n && atomic_exchange_explicit(&m->producer_waiting, false, memory_order_seq_cst))
		bell_ring(&m->to_producer, m->to_consumer.owner);
	return n;
}

uint32_t mailbox_pending(struct mailbox *m)
{
	return atomic_load_explicit(&m->tail, memory_order_seq_cst) -
	       atomic_load_explicit(&m->head, memory_order_seq_cst);
}
