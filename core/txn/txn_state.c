/* Transactional ids' state and their table; see txn_state.h. */
#include "core/txn/txn_state.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TABLE_BUCKETS_MIN = 64 };

static const char *const state_names[TXN_STATUS_COUNT] = {
	[TXN_STATUS_EMPTY] = "Empty",
	[TXN_STATUS_ONGOING] = "Ongoing",
	[TXN_STATUS_PREPARE_COMMIT] = "PrepareCommit",
	[TXN_STATUS_PREPARE_ABORT] = "PrepareAbort",
	[TXN_STATUS_COMPLETE_COMMIT] = "CompleteCommit",
	[TXN_STATUS_COMPLETE_ABORT] = "CompleteAbort",
	[TXN_STATUS_DEAD] = "Dead",
	[TXN_STATUS_PREPARE_EPOCH_FENCE] = "PrepareEpochFence",
};

const char *txn_state_name(enum txn_status s)
{
	assert(s >= 0 && s < TXN_STATUS_COUNT);
	return state_names[s];
}

int txn_state_parse(struct kstr name)
{
	for (int s = 0; s < TXN_STATUS_COUNT; s++)
		if (kstr_eq_cstr(name, state_names[s]))
			return s;
	return -1;
}

int64_t txn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool txn_state_preparing(enum txn_status s)
{
	return s == TXN_STATUS_PREPARE_COMMIT || s == TXN_STATUS_PREPARE_ABORT;
}

bool txn_state_has_partitions(enum txn_status s)
{
	return s == TXN_STATUS_ONGOING || txn_state_preparing(s) || s == TXN_STATUS_PREPARE_EPOCH_FENCE;
}

bool txn_partitions_has(const struct txn_partitions *ps, struct kstr topic, int32_t partition)
{
	for (uint32_t i = 0; i < ps->count; i++)
		if (ps->items[i].partition == partition && kstr_eq(topic, ps->items[i].topic))
			return true;
	return false;
}

bool txn_partitions_add(struct txn_partitions *ps, struct kstr topic, int32_t partition)
{
	if (txn_partitions_has(ps, topic, partition))
		return true;
	if (ps->count >= TXN_PARTITIONS_MAX || topic.len < 0)
		return false;
	if (ps->count == ps->cap) {
		uint32_t cap = ps->cap ? ps->cap * 2 : 8;
		struct txn_partition *items = realloc(ps->items, cap * sizeof(*items));
		if (!items)
			return false;
		ps->items = items;
		ps->cap = cap;
	}
	struct kstr name;
	if (!kstr_copy(&name, topic))
		return false;
	ps->items[ps->count++] = (struct txn_partition){ name, partition };
	return true;
}

bool txn_partitions_copy(struct txn_partitions *dst, const struct txn_partitions *src)
{
	*dst = (struct txn_partitions){ 0 };
	for (uint32_t i = 0; i < src->count; i++) {
		if (!txn_partitions_add(dst, src->items[i].topic, src->items[i].partition)) {
			txn_partitions_free(dst);
			return false;
		}
	}
	return true;
}

void txn_partitions_free(struct txn_partitions *ps)
{
	for (uint32_t i = 0; i < ps->count; i++)
		kstr_free(&ps->items[i].topic);
	free(ps->items);
	*ps = (struct txn_partitions){ 0 };
}

bool txn_transit_from(struct txn_transit *t, const struct txn_meta *m, bool keep_partitions)
{
	*t = m->cur;
	t->partitions = (struct txn_partitions){ 0 };
	return !keep_partitions || txn_partitions_copy(&t->partitions, &m->cur.partitions);
}

void txn_state_apply(struct txn_meta *m, struct txn_transit *t)
{
	txn_partitions_free(&m->cur.partitions);
	m->cur = *t;
	t->partitions = (struct txn_partitions){ 0 };
}

/* Kafka's String.hashCode is not needed here: any spread will do. */
static size_t id_hash(struct kstr id)
{
	uint64_t h = 1469598103934665603ull;
	for (int32_t i = 0; i < id.len; i++)
		h = (h ^ (uint8_t)id.ptr[i]) * 1099511628211ull;
	return (size_t)h;
}

int txn_table_init(struct txn_table *t)
{
	t->buckets = calloc(TABLE_BUCKETS_MIN, sizeof(*t->buckets));
	t->bucket_count = TABLE_BUCKETS_MIN;
	t->count = 0;
	return t->buckets ? 0 : -1;
}

struct txn_meta *txn_table_find(const struct txn_table *t, struct kstr id)
{
	for (struct txn_meta *m = t->buckets[id_hash(id) % t->bucket_count]; m; m = m->next)
		if (kstr_eq(id, m->id))
			return m;
	return NULL;
}

/* Doubles the buckets when the chains grow long; staying put is fine when
 * memory is short. */
static void table_grow(struct txn_table *t)
{
	size_t n = t->bucket_count * 2;
	struct txn_meta **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < t->bucket_count; i++) {
		for (struct txn_meta *m = t->buckets[i], *next; m; m = next) {
			next = m->next;
			size_t k = id_hash(m->id) % n;
			m->next = b[k];
			b[k] = m;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->bucket_count = n;
}

struct txn_meta *txn_table_add(struct txn_table *t, struct kstr id, int32_t state_partition)
{
	assert(id.len >= 0 && !txn_table_find(t, id));
	struct txn_meta *m = calloc(1, sizeof(*m));
	if (!m || !kstr_copy(&m->id, id)) {
		free(m);
		return NULL;
	}
	m->state_partition = state_partition;
	m->cur = (struct txn_transit){
		.state = TXN_STATUS_EMPTY,
		.producer_id = TXN_NO_PRODUCER_ID,
		.last_producer_id = TXN_NO_PRODUCER_ID,
		.next_producer_id = TXN_NO_PRODUCER_ID,
		.epoch = TXN_NO_PRODUCER_EPOCH,
		.last_epoch = TXN_NO_PRODUCER_EPOCH,
		.start_ms = -1,
	};
	if (t->count >= t->bucket_count)
		table_grow(t);
	size_t k = id_hash(id) % t->bucket_count;
	m->next = t->buckets[k];
	t->buckets[k] = m;
	t->count++;
	return m;
}

void txn_meta_free(struct txn_meta *m)
{
	txn_partitions_free(&m->cur.partitions);
	kstr_free(&m->id);
	free(m);
}

void txn_table_remove(struct txn_table *t, struct txn_meta *m)
{
	struct txn_meta **p = &t->buckets[id_hash(m->id) % t->bucket_count];
	while (*p != m) {
		assert(*p);
		p = &(*p)->next;
	}
	assert(!m->pending);
	*p = m->next;
	t->count--;
	txn_meta_free(m);
}

void txn_table_for_each(struct txn_table *t, void (*fn)(struct txn_meta *m, void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		for (struct txn_meta *m = t->buckets[i], *next; m; m = next) {
			next = m->next;
			fn(m, ctx);
		}
	}
}

void txn_table_free(struct txn_table *t)
{
	for (size_t i = 0; t->buckets && i < t->bucket_count; i++) {
		for (struct txn_meta *m = t->buckets[i], *next; m; m = next) {
			next = m->next;
			txn_meta_free(m);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}
