/* Long-poll fetches: a fetch that found fewer than min_bytes waits on the
 * partitions it asked for and is woken by their next append, or by its timer.
 *
 * A waiter is one (fetch, partition) link in the partition's list (the
 * list's head is the partition's). Waking calls the fetch's callback, which
 * re-plans and either answers (and detaches all its waiters) or keeps
 * waiting. Waiters live on the shard that owns the partition and are only
 * touched there. */
#ifndef SLUICE_CORE_LOG_FETCH_WAIT_H
#define SLUICE_CORE_LOG_FETCH_WAIT_H

#include <stdbool.h>

struct fetch_waiter;

typedef void (*fetch_wake_fn)(struct fetch_waiter *w, bool final);

struct fetch_waiter {
	struct fetch_waiter *prev, *next;
	struct fetch_waiter **list; /* the partition's list; NULL when detached */
	fetch_wake_fn wake;
};

void fetch_waiter_attach(struct fetch_waiter *w, struct fetch_waiter **list, fetch_wake_fn wake);
void fetch_waiter_detach(struct fetch_waiter *w);

/* New data in the partition: wake every waiter of its list (final = false). */
void fetch_waiters_wake(struct fetch_waiter **list);
/* The partition is going away (topic deleted) or the broker stops: every
 * waiter must answer now (final = true) and detach. */
void fetch_waiters_finish(struct fetch_waiter **list);

#endif
