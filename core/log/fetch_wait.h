/* Long-poll fetches: a fetch that found fewer than min_bytes waits on the
 * partitions it asked for and is woken by their next append, or by its timer.
 *
 * A waiter is one (fetch, partition) link in the partition's list. Waking
 * calls the fetch's callback, which re-plans and either answers (and detaches
 * all its waiters) or keeps waiting. Waiters live on the shard that owns the
 * partition and are only touched there. */
#ifndef SLUICE_CORE_LOG_FETCH_WAIT_H
#define SLUICE_CORE_LOG_FETCH_WAIT_H

#include <stdbool.h>

struct partition;
struct shard;
struct fetch_waiter;

typedef void (*fetch_wake_fn)(struct fetch_waiter *w, bool final);

struct fetch_waiter {
	struct fetch_waiter *prev, *next;
	struct partition *partition; /* NULL when detached */
	fetch_wake_fn wake;
};

void fetch_waiter_attach(struct fetch_waiter *w, struct partition *p, fetch_wake_fn wake);
void fetch_waiter_detach(struct fetch_waiter *w);

/* New data on p: wake every waiter (final = false). */
void fetch_waiters_wake(struct partition *p);
/* p is going away (topic deleted) or the broker stops: every waiter must
 * answer now (final = true) and detach. */
void fetch_waiters_finish(struct partition *p);
/* Every partition the shard owns, at shutdown. */
void fetch_waiters_finish_all(struct shard *s);

#endif
