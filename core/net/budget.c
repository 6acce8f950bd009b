/* A network shard's request-byte budget and its paused waiters (see
 * budget.h). */
#include "core/net/budget.h"

#include <assert.h>
#include <stddef.h>

void budget_init(struct budget *b, uint64_t max, void (*resume)(struct budget_waiter *w))
{
	*b = (struct budget){ .max = max, .resume = resume };
}

void budget_charge(struct budget *b, uint64_t n)
{
	b->in_flight += n;
}

bool budget_exceeded(const struct budget *b)
{
	return b->in_flight > b->max;
}

bool budget_needs_a_finisher(const struct budget *b)
{
	return b->in_flight == b->partial_bytes;
}

bool budget_pause(struct budget *b, struct budget_waiter *w)
{
	if (w->paused)
		return false;
	w->paused = true;
	w->next = b->paused;
	b->paused = w;
	return true;
}

void budget_unpause(struct budget *b, struct budget_waiter *w)
{
	if (!w->paused)
		return;
	for (struct budget_waiter **p = &b->paused; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	w->next = NULL;
	w->paused = false;
}

void budget_release(struct budget *b, uint64_t n)
{
	assert(b->in_flight >= n);
	b->in_flight -= n;
	if ((budget_exceeded(b) && !budget_needs_a_finisher(b)) || !b->paused)
		return;
	/* Detach first: a waiter still at its own limit pauses itself again
	 * onto the fresh list. */
	struct budget_waiter *list = b->paused;
	b->paused = NULL;
	while (list) {
		struct budget_waiter *w = list;
		list = w->next;
		w->next = NULL;
		w->paused = false;
		b->resume(w);
	}
}
