/* Cross-shard messages: a bounded single-producer/single-consumer ring of
 * closures from one shard to another, and its two doorbells.
 *
 * The producing shard posts {fn, arg}; the consuming shard runs fn(arg) on its
 * own thread when it drains the mailbox. Ownership of whatever arg points to
 * travels with the message. A doorbell wakes the consumer's reactor after a
 * post: an IORING_OP_MSG_RING completion posted into its ring where the kernel
 * has the op, else a write to an eventfd that the consumer's reactor reads. It
 * is rung only when the consumer may have gone past the last one, so a burst of
 * posts costs one wake-up. A MSG_RING doorbell the kernel refuses for now (the
 * consumer's ring is not enabled yet) is retried by the ringing reactor
 * (io_doorbell), which counts it in flight until it is delivered. A full mailbox refuses a post; the refused producer
 * is woken the same way (the space doorbell) once the consumer has drained.
 *
 * The ring's indexes and the two "rung"/"waiting" flags are all that both
 * threads touch, with sequentially consistent atomics; nothing takes a lock. */
#ifndef SLUICE_IO_MAILBOX_H
#define SLUICE_IO_MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/reactor.h"

enum { MAILBOX_CACHE_LINE = 64 };

enum mailbox_doorbell {
	MAILBOX_DOORBELL_AUTO,     /* MSG_RING where the kernel has it, else eventfd */
	MAILBOX_DOORBELL_EVENTFD,
};

struct mailbox_msg {
	void (*fn)(void *arg);
	void *arg;
};

struct mailbox;

/* One end's doorbell: an op that completes on that end's reactor. */
struct mailbox_bell {
	struct mailbox *box;
	struct reactor *owner;        /* the reactor the op completes on */
	struct io_op op;
	struct io_op cancel_op;
	struct io_doorbell doorbell;  /* MSG_RING: the other end's, which rings it */
	int eventfd;                  /* -1 with MSG_RING */
	uint64_t eventfd_value;
	bool armed;                   /* eventfd mode: a read is in flight */
	bool detaching;               /* no more re-arming */
	void (*ring)(struct mailbox *m); /* runs on the owner when rung */
};

struct mailbox {
	_Alignas(MAILBOX_CACHE_LINE) _Atomic uint32_t head;   /* written by the consumer */
	_Alignas(MAILBOX_CACHE_LINE) _Atomic uint32_t tail;   /* written by the producer */
	_Alignas(MAILBOX_CACHE_LINE) _Atomic bool rung;       /* consumer doorbell pending */
	_Atomic bool producer_waiting;                        /* a post was refused */
	_Alignas(MAILBOX_CACHE_LINE) uint32_t capacity;       /* a power of two */
	struct mailbox_msg *slots;
	struct mailbox_bell to_consumer;
	struct mailbox_bell to_producer;
	void *user;                   /* the owners' context; never touched here */
};

/* Sets up a mailbox from `producer`'s reactor to `consumer`'s with room for
 * `capacity` messages (rounded up to a power of two). `on_messages` runs on
 * the consumer when messages arrive (it normally calls mailbox_drain; a drain
 * bounded by `max` leaves the rest for the consumer's loop to find with
 * mailbox_pending); `on_space` runs on the producer after a refused post, once
 * the consumer made room. Both reactors must exist and no thread may use the
 * mailbox yet. Returns 0 or -errno. */
int mailbox_init(struct mailbox *m, struct reactor *producer, struct reactor *consumer,
		 uint32_t capacity, enum mailbox_doorbell doorbell,
		 void (*on_messages)(struct mailbox *m), void (*on_space)(struct mailbox *m));
/* Each end, on its own thread, before the first post: arms its doorbell
 * (eventfd mode). At the end each end detaches and runs its reactor until
 * mailbox_bell_armed is false; then mailbox_destroy. */
void mailbox_attach(struct mailbox_bell *bell);
void mailbox_detach(struct mailbox_bell *bell);
bool mailbox_bell_armed(const struct mailbox_bell *bell);
void mailbox_destroy(struct mailbox *m);

/* Producer thread: posts a message and rings when needed. Returns false when
 * the mailbox is full (the caller keeps the message; on_space tells it when
 * to post again). */
bool mailbox_post(struct mailbox *m, void (*fn)(void *arg), void *arg);
/* Consumer thread: runs up to `max` messages in order; returns how many ran. */
uint32_t mailbox_drain(struct mailbox *m, uint32_t max);
/* Either thread: messages waiting (a hint: the other side moves on). */
uint32_t mailbox_pending(struct mailbox *m);

#endif
