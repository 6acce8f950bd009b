/* queued.max.request.bytes: each network shard's share of it is a budget of
 * request bytes received and not yet freed. A connection that would take the
 * shard over it pauses its receives (it waits here); the paused ones resume
 * once the shard is back under it, or once only frames still arriving hold
 * it (nothing else would free it: conn.c then lets one of them finish).
 * Owned by the shard's thread; it knows connections only as waiters. */
#ifndef SLUICE_CORE_NET_BUDGET_H
#define SLUICE_CORE_NET_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* A paused receiver, embedded in what pauses. */
struct budget_waiter {
	struct budget_waiter *next;
	bool paused;
};

struct budget {
	uint64_t in_flight;     /* bytes received and not yet freed */
	uint64_t max;
	uint64_t partial_bytes; /* of in_flight: charged to frames still arriving */
	struct budget_waiter *paused;
	/* Runs for each waiter that resumes, after it left the paused list. */
	void (*resume)(struct budget_waiter *w);
};

void budget_init(struct budget *b, uint64_t max, void (*resume)(struct budget_waiter *w));
void budget_charge(struct budget *b, uint64_t n);
/* Gives n bytes back; resumes the paused waiters when under budget, or when
 * only frames still arriving hold it. */
void budget_release(struct budget *b, uint64_t n);
bool budget_exceeded(const struct budget *b);
/* Whether only frames still arriving hold the budget. */
bool budget_needs_a_finisher(const struct budget *b);
/* True when w was not paused already. */
bool budget_pause(struct budget *b, struct budget_waiter *w);
/* Takes w off the paused list without resuming it (its owner goes away). */
void budget_unpause(struct budget *b, struct budget_waiter *w);

#endif
