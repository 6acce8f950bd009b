/* Waiter lists of long-polling fetches (see fetch_wait.h). */
#include "core/log/fetch_wait.h"

#include <assert.h>
#include <stddef.h>

void fetch_waiter_attach(struct fetch_waiter *w, struct fetch_waiter **list, fetch_wake_fn wake)
{
	assert(!w->list);
	w->list = list;
	w->wake = wake;
	w->prev = NULL;
	w->next = *list;
	if (*list)
		(*list)->prev = w;
	*list = w;
}

void fetch_waiter_detach(struct fetch_waiter *w)
{
	struct fetch_waiter **list = w->list;
	if (!list)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		*list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->list = NULL;
}

/* Wakes every waiter of the list once. A woken fetch may detach any of its
 * waiters, including ones of this list not yet woken, so the old list is kept
 * reachable from a marker node: detaching unlinks through prev/next as usual,
 * and the loop continues from marker.next. Each waiter is re-attached to the
 * list before its wake so that a fetch which keeps waiting stays on the (new)
 * list. */
static void fetch_waiters_run(struct fetch_waiter **list, bool final)
{
	struct fetch_waiter marker = { 0 };
	struct fetch_waiter *pending = *list;
	*list = NULL;
	while (pending) {
		struct fetch_waiter *w = pending;
		pending = w->next;
		w->prev = w->next = NULL;
		w->list = NULL;
		fetch_waiter_attach(w, list, w->wake);
		marker.next = pending;
		if (pending)
			pending->prev = &marker;
		w->wake(w, final);
		pending = marker.next;
		if (pending)
			pending->prev = NULL;
	}
}

void fetch_waiters_wake(struct fetch_waiter **list)
{
	if (*list)
		fetch_waiters_run(list, false);
}

void fetch_waiters_finish(struct fetch_waiter **list)
{
	if (*list)
		fetch_waiters_run(list, true);
	assert(!*list);
}
