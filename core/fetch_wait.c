/* Waiter lists of long-polling fetches (see fetch_wait.h). */
#include "core/fetch_wait.h"

#include <assert.h>
#include <stddef.h>

#include "core/broker.h"
#include "core/shard.h"
#include "core/topics.h"

void fetch_waiter_attach(struct fetch_waiter *w, struct partition *p, fetch_wake_fn wake)
{
	assert(!w->partition);
	w->partition = p;
	w->wake = wake;
	w->prev = NULL;
	w->next = p->waiters;
	if (p->waiters)
		p->waiters->prev = w;
	p->waiters = w;
}

void fetch_waiter_detach(struct fetch_waiter *w)
{
	struct partition *p = w->partition;
	if (!p)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		p->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->partition = NULL;
}

/* Wakes waiters one at a time from the head: a woken fetch may detach any
 * number of waiters (its own, on this and other partitions), so the list is
 * re-read after every call instead of being walked with saved pointers. A
 * waiter that stays attached is moved behind a marker so each is woken once. */
static void fetch_waiters_run(struct partition *p, bool final)
{
	struct fetch_waiter marker = { 0 };
	struct fetch_waiter *pending = p->waiters;
	p->waiters = NULL;
	/* Rebuild: pending holds the old list; survivors re-attach to p. */
	while (pending) {
		struct fetch_waiter *w = pending;
		pending = w->next;
		if (pending)
			pending->prev = NULL;
		w->prev = w->next = NULL;
		w->partition = NULL;
		fetch_waiter_attach(w, p, w->wake);
		/* Keep the old list reachable while w runs: a wake that detaches
		 * other waiters of p finds them via their own links, so park the
		 * remainder on the marker. */
		marker.next = pending;
		if (pending)
			pending->prev = &marker;
		w->wake(w, final);
		pending = marker.next;
		if (pending)
			pending->prev = NULL;
	}
}

void fetch_waiters_wake(struct partition *p)
{
	if (p->waiters)
		fetch_waiters_run(p, false);
}

void fetch_waiters_finish(struct partition *p)
{
	if (p->waiters)
		fetch_waiters_run(p, true);
	assert(!p->waiters);
}

static void fetch_waiters_finish_topic(struct topic *t, void *ctx)
{
	struct shard *s = ctx;
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i].shard == s->id)
			fetch_waiters_finish(&t->partitions[i]);
}

void fetch_waiters_finish_all(struct shard *s)
{
	topics_for_each(&s->broker->topics, fetch_waiters_finish_topic, s);
}
