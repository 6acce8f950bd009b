/* A partition's producer table and Kafka's sequence and epoch rules (see
 * producer_state.h). */
#include "core/log/producer_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kafka_errors.h"

enum {
	PRODUCER_TABLE_MIN_SLOTS = 8,
	/* The table grows past this share of used slots (in percent). */
	PRODUCER_TABLE_LOAD_PCT = 50,
};

static const int64_t NO_PRODUCER_ID = -1;

bool producer_batch_idempotent(const struct record_batch_header *h)
{
	return h->magic >= 2 && h->producer_id >= 0;
}

/* Sequence numbers run over [0, INT32_MAX] and wrap to 0. */
static int32_t producer_seq_add(int32_t seq, int32_t n)
{
	return (int32_t)(((int64_t)seq + n) % ((int64_t)INT32_MAX + 1));
}

static bool producer_in_sequence(int32_t last_seq, int32_t next_seq)
{
	return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

static uint32_t producer_hash(int64_t id)
{
	uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 32);
}

static struct producer_entry *producer_slot(const struct producer_state *ps, int64_t id)
{
	if (ps->cap == 0)
		return NULL;
	for (uint32_t i = producer_hash(id) & (ps->cap - 1);; i = (i + 1) & (ps->cap - 1)) {
		struct producer_entry *e = &ps->slots[i];
		if (e->producer_id == id || e->producer_id == NO_PRODUCER_ID)
			return e;
	}
}

const struct producer_entry *producer_state_find(const struct producer_state *ps, int64_t producer_id)
{
	struct producer_entry *e = producer_slot(ps, producer_id);
	return e && e->producer_id == producer_id ? e : NULL;
}

bool producer_state_txn_open(const struct producer_state *ps, int64_t producer_id,
			     int16_t producer_epoch)
{
	const struct producer_entry *e = producer_state_find(ps, producer_id);
	return e && e->current_txn_first_offset >= 0 && e->epoch == producer_epoch;
}

static int producer_grow(struct producer_state *ps)
{
	uint32_t cap = ps->cap ? ps->cap * 2 : PRODUCER_TABLE_MIN_SLOTS;
	if (cap < ps->cap)
		return -ENOMEM;
	struct producer_entry *slots = malloc((size_t)cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		slots[i].producer_id = NO_PRODUCER_ID;
	struct producer_state grown = { .slots = slots, .cap = cap, .count = ps->count };
	for (uint32_t i = 0; i < ps->cap; i++)
		if (ps->slots[i].producer_id != NO_PRODUCER_ID)
			*producer_slot(&grown, ps->slots[i].producer_id) = ps->slots[i];
	free(ps->slots);
	*ps = grown;
	return 0;
}

/* The entry for id, added empty when missing; NULL when out of memory. */
static struct producer_entry *producer_get(struct producer_state *ps, int64_t id)
{
	struct producer_entry *e = producer_slot(ps, id);
	if (e && e->producer_id == id)
		return e;
	if ((uint64_t)(ps->count + 1) * 100 > (uint64_t)ps->cap * PRODUCER_TABLE_LOAD_PCT) {
		if (producer_grow(ps) != 0)
			return NULL;
		e = producer_slot(ps, id);
	}
	*e = (struct producer_entry){ .producer_id = id, .epoch = PRODUCER_NO_EPOCH,
				      .coordinator_epoch = -1, .last_timestamp = -1,
				      .current_txn_first_offset = -1 };
	ps->count++;
	return e;
}

/* Removes slot i, shifting the probe chain after it back (no tombstones). */
static void producer_remove_at(struct producer_state *ps, uint32_t i)
{
	uint32_t mask = ps->cap - 1;
	ps->slots[i].producer_id = NO_PRODUCER_ID;
	ps->count--;
	for (uint32_t j = (i + 1) & mask; ps->slots[j].producer_id != NO_PRODUCER_ID; j = (j + 1) & mask) {
		uint32_t home = producer_hash(ps->slots[j].producer_id) & mask;
		/* j may fill the hole at i when its home is not in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		ps->slots[i] = ps->slots[j];
		ps->slots[j].producer_id = NO_PRODUCER_ID;
		i = j;
	}
}

static const struct producer_batch *producer_find_batch(const struct producer_entry *e, int16_t epoch,
							int32_t first_seq, int32_t last_seq)
{
	if (e->epoch != epoch)
		return NULL;
	for (uint8_t i = 0; i < e->batch_count; i++)
		if (e->batches[i].first_seq == first_seq && e->batches[i].last_seq == last_seq)
			return &e->batches[i];
	return NULL;
}

static enum producer_verdict producer_refuse(struct producer_check *out, int16_t error)
{
	out->error = error;
	return PRODUCER_REFUSED;
}

enum producer_verdict producer_state_check(const struct producer_state *ps,
					   const struct record_batch_header *h,
					   struct producer_where where, int64_t offset,
					   struct producer_check *out)
{
	out->error = KERR_NONE;
	out->message[0] = '\0';
	if (h->base_sequence < 0) {
		snprintf(out->message, sizeof(out->message),
			 "Invalid sequence number %" PRId32 " in record batch with producerId %" PRId64,
			 h->base_sequence, h->producer_id);
		return producer_refuse(out, KERR_INVALID_RECORD);
	}
	const struct producer_entry *e = producer_state_find(ps, h->producer_id);
	if (!e)
		return PRODUCER_APPEND;
	int32_t first_seq = h->base_sequence;
	int32_t last_seq = producer_seq_add(first_seq, h->last_offset_delta);
	const struct producer_batch *dup = producer_find_batch(e, h->producer_epoch, first_seq, last_seq);
	if (dup) {
		out->dup = *dup;
		return PRODUCER_DUPLICATE;
	}
	if (h->producer_epoch < e->epoch) {
		snprintf(out->message, sizeof(out->message),
			 "Epoch of producer %" PRId64 " at offset %" PRId64 " in %s-%" PRId32 " is %d, which is "
			 "smaller than the last seen epoch %d", h->producer_id, offset, where.topic,
			 where.partition,
			 h->producer_epoch, e->epoch);
		return producer_refuse(out, KERR_INVALID_PRODUCER_EPOCH);
	}
	if (h->producer_epoch != e->epoch) {
		if (first_seq != 0 && e->epoch != PRODUCER_NO_EPOCH) {
			snprintf(out->message, sizeof(out->message),
				 "Invalid sequence number for new epoch of producer %" PRId64 "at offset "
				 "%" PRId64 " in partition %s-%" PRId32 ": %d (request epoch), %" PRId32
				 " (seq. number), %d (current producer epoch)", h->producer_id, offset,
				 where.topic, where.partition,
				 h->producer_epoch, first_seq, e->epoch);
			return producer_refuse(out, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
		}
		return PRODUCER_APPEND;
	}
	const struct producer_batch *last = producer_entry_last(e);
	if (last && !producer_in_sequence(last->last_seq, first_seq)) {
		snprintf(out->message, sizeof(out->message),
			 "Out of order sequence number for producer %" PRId64 " at offset %" PRId64
			 " in partition %s-%" PRId32 ": %" PRId32 " (incoming seq. number), %" PRId32
			 " (current end sequence number)", h->producer_id, offset, where.topic,
			 where.partition, first_seq,
			 last->last_seq);
		return producer_refuse(out, KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	}
	return PRODUCER_APPEND;
}

/* ---- the transactions' ordered lists ---- */

static int txn_list_reserve(struct producer_txn_list *l)
{
	if (l->len < l->cap)
		return 0;
	uint32_t cap = l->cap ? l->cap * 2 : PRODUCER_TABLE_MIN_SLOTS;
	if (cap < l->cap)
		return -ENOMEM;
	struct producer_txn *v = realloc(l->v, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

/* The first index whose first offset is >= offset. */
static uint32_t txn_list_lower_bound(const struct producer_txn_list *l, int64_t offset)
{
	uint32_t lo = 0, hi = l->len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (l->v[mid].first_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inserts by first offset (appends come in offset order, so usually at
 * the end). Space must be reserved. */
static void txn_list_insert_open(struct producer_txn_list *l, struct producer_txn t)
{
	uint32_t i = txn_list_lower_bound(l, t.first_offset);
	memmove(&l->v[i + 1], &l->v[i], (size_t)(l->len - i) * sizeof(l->v[0]));
	l->v[i] = t;
	l->len++;
}

static void txn_list_remove_at(struct producer_txn_list *l, uint32_t i)
{
	memmove(&l->v[i], &l->v[i + 1], (size_t)(l->len - i - 1) * sizeof(l->v[0]));
	l->len--;
}

/* Removes producer_id's open transaction, which starts at first_offset. */
static void txn_list_remove_open(struct producer_txn_list *l, int64_t producer_id,
				 int64_t first_offset)
{
	for (uint32_t i = txn_list_lower_bound(l, first_offset);
	     i < l->len && l->v[i].first_offset == first_offset; i++)
		if (l->v[i].producer_id == producer_id) {
			txn_list_remove_at(l, i);
			return;
		}
}

/* Opens e's transaction at first_offset unless one is open. */
static int producer_open_txn(struct producer_state *ps, struct producer_entry *e,
			     int64_t first_offset)
{
	if (e->current_txn_first_offset >= 0)
		return 0;
	if (txn_list_reserve(&ps->open) != 0)
		return -ENOMEM;
	e->current_txn_first_offset = first_offset;
	txn_list_insert_open(&ps->open, (struct producer_txn){ .producer_id = e->producer_id,
							       .first_offset = first_offset,
							       .marker_offset = -1 });
	return 0;
}

static bool producer_batch_transactional(const struct record_batch_header *h)
{
	return (h->attributes & BATCH_ATTR_TRANSACTIONAL) && !(h->attributes & BATCH_ATTR_CONTROL);
}

int producer_state_record(struct producer_state *ps, const struct record_batch_header *h,
			  int64_t first_offset, int64_t timestamp)
{
	struct producer_entry *e = producer_get(ps, h->producer_id);
	if (!e)
		return -ENOMEM;
	if (producer_batch_transactional(h) && producer_open_txn(ps, e, first_offset) != 0)
		return -ENOMEM;
	if (h->base_sequence < 0) {
		/* The broker's own transactional write (the group coordinator's
		 * TxnOffsetCommit records, Kafka's AppendOrigin.COORDINATOR):
		 * no sequence to keep. */
		e->epoch = h->producer_epoch;
		e->last_timestamp = timestamp;
		return 0;
	}
	if (e->epoch != h->producer_epoch) {
		/* A new epoch starts a new sequence: the old batches cannot be
		 * retried any more. */
		e->epoch = h->producer_epoch;
		e->batch_count = 0;
	}
	if (e->batch_count == PRODUCER_BATCHES_KEPT) {
		memmove(&e->batches[0], &e->batches[1], (PRODUCER_BATCHES_KEPT - 1) * sizeof(e->batches[0]));
		e->batch_count--;
	}
	e->batches[e->batch_count++] = (struct producer_batch){
		.first_seq = h->base_sequence,
		.last_seq = producer_seq_add(h->base_sequence, h->last_offset_delta),
		.first_offset = first_offset,
		.last_offset = first_offset + h->last_offset_delta,
		.timestamp = timestamp,
	};
	e->last_timestamp = timestamp;
	return 0;
}

int producer_state_put(struct producer_state *ps, const struct producer_entry *src)
{
	struct producer_entry *e = producer_get(ps, src->producer_id);
	if (!e || txn_list_reserve(&ps->open) != 0)
		return -ENOMEM;
	if (e->current_txn_first_offset >= 0)
		txn_list_remove_open(&ps->open, e->producer_id, e->current_txn_first_offset);
	*e = *src;
	e->current_txn_first_offset = -1;
	if (src->current_txn_first_offset >= 0)
		return producer_open_txn(ps, e, src->current_txn_first_offset);
	return 0;
}

int16_t producer_state_check_marker(const struct producer_state *ps, int64_t producer_id,
				    int16_t producer_epoch, int32_t coordinator_epoch)
{
	const struct producer_entry *e = producer_state_find(ps, producer_id);
	if (!e)
		return KERR_NONE;
	if (producer_epoch < e->epoch)
		return KERR_INVALID_PRODUCER_EPOCH;
	if (coordinator_epoch < e->coordinator_epoch)
		return KERR_TRANSACTION_COORDINATOR_FENCED;
	return KERR_NONE;
}

int producer_state_end_txn(struct producer_state *ps, int64_t producer_id, int16_t producer_epoch,
			   int32_t coordinator_epoch, int64_t offset, int64_t timestamp,
			   struct producer_txn_end *out)
{
	struct producer_entry *e = producer_get(ps, producer_id);
	if (!e || txn_list_reserve(&ps->unsettled) != 0)
		return -ENOMEM;
	if (e->epoch != producer_epoch) {
		e->epoch = producer_epoch;
		e->batch_count = 0;
	}
	e->coordinator_epoch = coordinator_epoch;
	e->last_timestamp = timestamp;
	e->txn_ends++;
	out->first_offset = offset;
	out->marker_offset = offset;
	if (e->current_txn_first_offset >= 0) {
		out->first_offset = e->current_txn_first_offset;
		txn_list_remove_open(&ps->open, producer_id, e->current_txn_first_offset);
		e->current_txn_first_offset = -1;
		ps->unsettled.v[ps->unsettled.len++] = (struct producer_txn){
			.producer_id = producer_id, .first_offset = out->first_offset,
			.marker_offset = offset };
	}
	out->last_stable_offset = ps->open.len ? ps->open.v[0].first_offset : offset + 1;
	return 0;
}

int64_t producer_state_first_unstable(const struct producer_state *ps, int64_t hw)
{
	int64_t first = ps->open.len ? ps->open.v[0].first_offset : -1;
	for (uint32_t i = 0; i < ps->unsettled.len; i++) {
		const struct producer_txn *t = &ps->unsettled.v[i];
		if (t->marker_offset >= hw && (first < 0 || t->first_offset < first))
			first = t->first_offset;
	}
	return first;
}

void producer_state_settle(struct producer_state *ps, int64_t hw)
{
	uint32_t n = 0;
	while (n < ps->unsettled.len && ps->unsettled.v[n].marker_offset < hw)
		n++;
	if (n == 0)
		return;
	memmove(&ps->unsettled.v[0], &ps->unsettled.v[n],
		(size_t)(ps->unsettled.len - n) * sizeof(ps->unsettled.v[0]));
	ps->unsettled.len -= n;
}

/* The log went back to end_offset: transactions opened at or past it are
 * gone, and those whose markers were at or past it are open again. */
static void producer_truncate_txns(struct producer_state *ps, int64_t end_offset)
{
	while (ps->open.len && ps->open.v[ps->open.len - 1].first_offset >= end_offset) {
		struct producer_txn *t = &ps->open.v[--ps->open.len];
		struct producer_entry *e = producer_slot(ps, t->producer_id);
		if (e && e->producer_id == t->producer_id)
			e->current_txn_first_offset = -1;
	}
	while (ps->unsettled.len && ps->unsettled.v[ps->unsettled.len - 1].marker_offset >= end_offset) {
		struct producer_txn t = ps->unsettled.v[--ps->unsettled.len];
		struct producer_entry *e = producer_slot(ps, t.producer_id);
		if (t.first_offset >= end_offset || !e || e->producer_id != t.producer_id)
			continue;
		/* Room is there: it came out of the open list when its marker
		 * went in, and nothing opened since can be below the end. */
		if (producer_open_txn(ps, e, t.first_offset) != 0)
			abort();
	}
}

void producer_state_truncate(struct producer_state *ps, int64_t end_offset)
{
	producer_truncate_txns(ps, end_offset);
	for (uint32_t i = 0; i < ps->cap;) {
		struct producer_entry *e = &ps->slots[i];
		if (e->producer_id == NO_PRODUCER_ID) {
			i++;
			continue;
		}
		while (e->batch_count && e->batches[e->batch_count - 1].last_offset >= end_offset)
			e->batch_count--;
		if (e->batch_count || e->current_txn_first_offset >= 0) {
			if (e->batch_count)
				e->last_timestamp = e->batches[e->batch_count - 1].timestamp;
			i++;
			continue;
		}
		/* Its earlier state (an older epoch) is gone: forgotten, it may
		 * start anew, as one whose batches retention removed. The slot
		 * is looked at again, since the removal shifts another in. */
		producer_remove_at(ps, i);
	}
}

uint32_t producer_state_expire(struct producer_state *ps, int64_t now_ms, int64_t expiration_ms)
{
	uint32_t removed = 0;
	for (uint32_t i = 0; i < ps->cap;) {
		const struct producer_entry *e = &ps->slots[i];
		if (e->producer_id != NO_PRODUCER_ID && e->current_txn_first_offset < 0 &&
		    producer_idle_expired(now_ms, e->last_timestamp, expiration_ms)) {
			producer_remove_at(ps, i);
			removed++;
			continue;
		}
		i++;
	}
	return removed;
}

void producer_state_for_each(const struct producer_state *ps,
			     void (*fn)(const struct producer_entry *e, void *ctx), void *ctx)
{
	for (uint32_t i = 0; i < ps->cap; i++)
		if (ps->slots[i].producer_id != NO_PRODUCER_ID)
			fn(&ps->slots[i], ctx);
}

void producer_state_clear(struct producer_state *ps)
{
	free(ps->slots);
	free(ps->open.v);
	free(ps->unsettled.v);
	*ps = (struct producer_state){ 0 };
}
