/* Waiter lists of long-polling fetches (see fetch_wait.h). */
#include "core/log/fetch_wait.h"

#include <assert.h>
#include <stddef.h>

#include "core/broker.h"
#include "core/meta/metadata_image.h"
#include "core/shard/shard.h"
#include "core/meta/topics.h"

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

/* Wakes every waiter of p once. A woken fetch may detach any of its waiters,
 * including ones of p not yet woken, so the old list is kept reachable from a
 * marker node: detaching unlinks through prev/next as usual, and the loop
 * continues from marker.next. Each waiter is re-attached to p before its wake
 * so that a fetch which keeps waiting stays on the (new) list. */
static void fetch_waiters_run(struct partition *p, bool final)
{
	struct fetch_waiter marker = { 0 };
	struct fetch_waiter *pending = p->waiters;
	p->waiters = NULL;
	while (pending) {
		struct fetch_waiter *w = pending;
		pending = w->next;
		w->prev = w->next = NULL;
		w->partition = NULL;
		fetch_waiter_attach(w, p, w->wake);
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
	struct metadata_image *im = metadata_current(s->broker);
	for (size_t i = 0; i < im->topic_count; i++)
		fetch_waiters_finish_topic(im->topics[i], s);
}
