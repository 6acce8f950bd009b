/* The cleaner's walk through transactions and producers (see
 * log_cleaner_txn.h). The sets are small arrays searched in turn: they hold
 * the transactions open at one point of the log, a handful in practice. */
#include "core/log/log_cleaner_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/log_internal.h"
#include "proto/control_batch.h"

static int by_first_offset(const void *a, const void *b)
{
	const struct aborted_txn *x = a, *y = b;
	return x->first_offset < y->first_offset ? -1 : x->first_offset > y->first_offset;
}

int log_cleaner_txns_begin(struct log_cleaner_txns *t, const struct aborted_txn *all, uint32_t n,
			   int64_t start, int64_t upper)
{
	memset(t, 0, sizeof(*t));
	if (n == 0)
		return 0;
	t->pending = calloc(n, sizeof(*t->pending));
	if (!t->pending)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++)
		if (all[k].last_offset >= start && all[k].first_offset < upper)
			t->pending[t->npending++] = all[k];
	qsort(t->pending, t->npending, sizeof(*t->pending), by_first_offset);
	return 0;
}

static struct log_cleaner_aborted *txns_ongoing(struct log_cleaner_txns *t, int64_t producer_id)
{
	for (uint32_t k = 0; k < t->nongoing; k++)
		if (t->ongoing[k].txn.producer_id == producer_id)
			return &t->ongoing[k];
	return NULL;
}

/* The aborted transactions that start at or below `offset` are reached
 * (Kafka's consumeAbortedTxnsUpTo). */
static int txns_reach(struct log_cleaner_txns *t, int64_t offset)
{
	while (t->next < t->npending && t->pending[t->next].first_offset <= offset) {
		const struct aborted_txn *a = &t->pending[t->next++];
		if (txns_ongoing(t, a->producer_id))
			continue;
		if (log_grow((void **)&t->ongoing, &t->cap_ongoing, t->nongoing + 1,
			     sizeof(*t->ongoing)) != 0)
			return -ENOMEM;
		t->ongoing[t->nongoing++] = (struct log_cleaner_aborted){ .txn = *a };
	}
	return 0;
}

static bool txns_committing_remove(struct log_cleaner_txns *t, int64_t producer_id)
{
	for (uint32_t k = 0; k < t->ncommitting; k++) {
		if (t->committing[k] == producer_id) {
			t->committing[k] = t->committing[--t->ncommitting];
			return true;
		}
	}
	return false;
}

int log_cleaner_txns_on_data(struct log_cleaner_txns *t, const struct record_batch_header *h,
			     bool *aborted)
{
	*aborted = false;
	if (txns_reach(t, h->base_offset + h->last_offset_delta) != 0)
		return -ENOMEM;
	if (!(h->attributes & BATCH_ATTR_TRANSACTIONAL) || h->producer_id < 0)
		return 0;
	struct log_cleaner_aborted *a = txns_ongoing(t, h->producer_id);
	if (a) {
		a->observed = true;
		*aborted = true;
		return 0;
	}
	for (uint32_t k = 0; k < t->ncommitting; k++)
		if (t->committing[k] == h->producer_id)
			return 0;
	if (log_grow((void **)&t->committing, &t->cap_committing, t->ncommitting + 1,
		     sizeof(*t->committing)) != 0)
		return -ENOMEM;
	t->committing[t->ncommitting++] = h->producer_id;
	return 0;
}

int log_cleaner_txns_on_control(struct log_cleaner_txns *t, const uint8_t *batch, size_t len,
				const struct record_batch_header *h, bool *done)
{
	*done = false;
	if (txns_reach(t, h->base_offset + h->last_offset_delta) != 0)
		return -ENOMEM;
	/* An emptied control batch was a done marker already. */
	if (h->record_count == 0) {
		*done = true;
		return 0;
	}
	struct control_marker m;
	/* Other control records (KRaft's) are kept as they are. */
	if (!control_batch_read(batch, len, &m))
		return 0;
	if (m.commit) {
		*done = !txns_committing_remove(t, h->producer_id);
		return 0;
	}
	struct log_cleaner_aborted *a = txns_ongoing(t, h->producer_id);
	if (!a) {
		*done = true;
		return 0;
	}
	int rc = 0;
	if (!a->observed)
		*done = true;
	else if (log_grow((void **)&t->kept, &t->cap_kept, t->nkept + 1, sizeof(*t->kept)) == 0)
		t->kept[t->nkept++] = a->txn;
	else
		rc = -ENOMEM;
	*a = t->ongoing[--t->nongoing];
	return rc;
}

void log_cleaner_txns_free(struct log_cleaner_txns *t)
{
	free(t->pending);
	free(t->ongoing);
	free(t->committing);
	free(t->kept);
	memset(t, 0, sizeof(*t));
}

static int by_producer_id(const void *a, const void *b)
{
	const struct log_cleaner_producer *x = a, *y = b;
	return x->producer_id < y->producer_id ? -1 : x->producer_id > y->producer_id;
}

void log_cleaner_producers_sort(struct log_cleaner_producers *ps)
{
	if (ps->len)
		qsort(ps->v, ps->len, sizeof(*ps->v), by_producer_id);
}

bool log_cleaner_producers_last(const struct log_cleaner_producers *ps,
				const struct record_batch_header *h)
{
	if (h->producer_id < 0 || ps->len == 0)
		return false;
	struct log_cleaner_producer key = { .producer_id = h->producer_id };
	const struct log_cleaner_producer *p = bsearch(&key, ps->v, ps->len, sizeof(*ps->v),
						       by_producer_id);
	if (!p)
		return false;
	if (p->last_data_offset >= 0)
		return h->base_offset + h->last_offset_delta == p->last_data_offset;
	return (h->attributes & BATCH_ATTR_CONTROL) && h->producer_epoch == p->epoch;
}
