/* Groups, members and offsets as data, and what a group asks of its
 * coordinator; see group.h. */
#include "core/group/group.h"
#include "core/group/group_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/group/cgroup.h"
#include "core/shard/runtime.h"
#include "core/shard/shard.h"

static const char *const group_state_names[] = {
	[GROUP_EMPTY] = "Empty",
	[GROUP_PREPARING_REBALANCE] = "PreparingRebalance",
	[GROUP_COMPLETING_REBALANCE] = "CompletingRebalance",
	[GROUP_STABLE] = "Stable",
	[GROUP_DEAD] = "Dead",
};

const char *group_state_name(enum group_state s)
{
	assert((size_t)s < sizeof(group_state_names) / sizeof(group_state_names[0]));
	return group_state_names[s];
}

int group_state_parse(struct kstr name)
{
	for (size_t i = 0; i < sizeof(group_state_names) / sizeof(group_state_names[0]); i++) {
		size_t n = strlen(group_state_names[i]);
		if (name.len >= 0 && (size_t)name.len == n &&
		    strncasecmp(name.ptr, group_state_names[i], n) == 0)
			return (int)i;
	}
	return -1;
}

int64_t group_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t group_offset_expire_ms(int64_t commit_ms, int64_t retention_ms)
{
	if (retention_ms == -1)
		return -1;
	int64_t at;
	if (__builtin_add_overflow(commit_ms, retention_ms, &at))
		return retention_ms > 0 ? INT64_MAX : 0;
	return at < 0 ? 0 : at;
}

bool group_elapsed(int64_t now_ms, int64_t since_ms, int64_t age_ms)
{
	int64_t elapsed;
	if (__builtin_sub_overflow(now_ms, since_ms, &elapsed))
		return since_ms < 0; /* since_ms is far in the past (or future) */
	return elapsed >= age_ms;
}

static uint64_t hash_bytes(const char *p, size_t n, uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Grows a chained table to keep chains short; on no memory it stays as is. */
static void *buckets_grow(void **old, size_t old_count, size_t *new_count, size_t next_off,
			  uint64_t (*hash)(const void *e))
{
	size_t n = old_count ? old_count * 2 : GROUP_TABLE_BUCKETS_MIN;
	void **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return NULL;
	for (size_t i = 0; i < old_count; i++) {
		void *e = old[i];
		while (e) {
			void **link = (void **)((char *)e + next_off);
			void *next = *link;
			size_t k = hash(e) & (n - 1);
			*link = nb[k];
			nb[k] = e;
			e = next;
		}
	}
	*new_count = n;
	return nb;
}

static uint64_t group_hash(const void *e)
{
	const struct group *g = e;
	return hash_bytes(g->id.ptr, (size_t)g->id.len, 0);
}

struct group *group_table_find(const struct group_table *t, struct kstr id)
{
	if (!t->bucket_count || id.len < 0)
		return NULL;
	size_t k = hash_bytes(id.ptr, (size_t)id.len, 0) & (t->bucket_count - 1);
	for (struct group *g = t->buckets[k]; g; g = g->next)
		if (kstr_eq(g->id, id))
			return g;
	return NULL;
}

struct group *group_table_add(struct group_table *t, struct kstr id, int32_t partition,
			      struct group_coordinator *coord)
{
	assert(!group_table_find(t, id));
	if (t->count >= t->bucket_count) {
		size_t n;
		void *nb = buckets_grow((void **)t->buckets, t->bucket_count, &n,
					offsetof(struct group, next), group_hash);
		if (nb) {
			free(t->buckets);
			t->buckets = nb;
			t->bucket_count = n;
		} else if (!t->bucket_count) {
			return NULL;
		}
	}
	struct group *g = calloc(1, sizeof(*g));
	if (!g || id.len < 0 || !kstr_copy(&g->id, id)) {
		free(g);
		return NULL;
	}
	g->protocol_type = KSTR_NULL;
	g->protocol_name = KSTR_NULL;
	g->leader_id = KSTR_NULL;
	g->coord = coord;
	g->partition = partition;
	g->state = GROUP_EMPTY;
	g->state_timestamp = group_now_ms();
	io_timer_init(&g->rebalance_timer);
	size_t k = group_hash(g) & (t->bucket_count - 1);
	g->next = t->buckets[k];
	t->buckets[k] = g;
	t->count++;
	return g;
}

void group_table_remove(struct group_table *t, struct group *g)
{
	size_t k = group_hash(g) & (t->bucket_count - 1);
	for (struct group **p = &t->buckets[k]; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			t->count--;
			g->removed = true;
			g->state = GROUP_DEAD;
			group_txn_drop_all(g);
			if (g->writes_in_flight == 0)
				group_free(g);
			return;
		}
	}
	assert(!"group not in its table");
}

void group_table_for_each(const struct group_table *t, void (*fn)(struct group *g, void *ctx),
			  void *ctx)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct group *g = t->buckets[i];
		while (g) {
			struct group *next = g->next; /* fn may remove g */
			fn(g, ctx);
			g = next;
		}
	}
}

void group_table_free(struct group_table *t)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct group *g = t->buckets[i];
		while (g) {
			struct group *next = g->next;
			group_free(g);
			g = next;
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

void group_member_free(struct group_member *m)
{
	assert(!io_timer_armed(&m->session_timer) && !m->join_wait && !m->sync_wait);
	for (uint32_t i = 0; i < m->protocol_count; i++) {
		kstr_free(&m->protocols[i].name);
		free(m->protocols[i].metadata);
	}
	free(m->protocols);
	free(m->assignment);
	kstr_free(&m->id);
	kstr_free(&m->instance_id);
	kstr_free(&m->client_id);
	kstr_free(&m->client_host);
	free(m);
}

static void offset_free(struct group_offset *o)
{
	kstr_free(&o->topic);
	kstr_free(&o->metadata);
	free(o);
}

void group_free(struct group *g)
{
	assert(!io_timer_armed(&g->rebalance_timer));
	struct group_member *lists[] = { g->members, g->pending_members };
	for (size_t l = 0; l < 2; l++) {
		for (struct group_member *m = lists[l]; m;) {
			struct group_member *next = m->next;
			group_member_free(m);
			m = next;
		}
	}
	group_offset_table_clear(&g->offsets);
	group_txn_drop_all(g);
	if (g->consumer) {
		cgroup_free(g->consumer);
		free(g->consumer);
	}
	kstr_free(&g->id);
	kstr_free(&g->protocol_type);
	kstr_free(&g->protocol_name);
	kstr_free(&g->leader_id);
	free(g);
}

static struct group_member *member_in(struct group_member *list, struct kstr id, bool by_instance)
{
	if (id.len < 0)
		return NULL;
	for (struct group_member *m = list; m; m = m->next)
		if (kstr_eq(by_instance ? m->instance_id : m->id, id))
			return m;
	return NULL;
}

struct group_member *group_member_find(const struct group *g, struct kstr id)
{
	return member_in(g->members, id, false);
}

struct group_member *group_member_find_instance(const struct group *g, struct kstr id)
{
	return member_in(g->members, id, true);
}

struct group_member *group_pending_find(const struct group *g, struct kstr id)
{
	return member_in(g->pending_members, id, false);
}

static uint64_t offset_hash_of(const char *topic, size_t n, int32_t partition)
{
	return hash_bytes(topic, n, (uint64_t)(uint32_t)partition * 0x9E3779B97F4A7C15ull);
}

static uint64_t offset_hash(const void *e)
{
	const struct group_offset *o = e;
	return offset_hash_of(o->topic.ptr, (size_t)o->topic.len, o->partition);
}

struct group_offset *group_offset_find(const struct group_offset_table *t, struct kstr topic,
				       int32_t partition)
{
	if (!t->bucket_count || topic.len < 0)
		return NULL;
	size_t k = offset_hash_of(topic.ptr, (size_t)topic.len, partition) & (t->bucket_count - 1);
	for (struct group_offset *o = t->buckets[k]; o; o = o->next)
		if (o->partition == partition && kstr_eq(o->topic, topic))
			return o;
	return NULL;
}

struct group_offset *group_offset_put(struct group_offset_table *t, struct kstr topic,
				      int32_t partition)
{
	struct group_offset *o = group_offset_find(t, topic, partition);
	if (o)
		return o;
	if (t->count >= t->bucket_count) {
		size_t n;
		void *nb = buckets_grow((void **)t->buckets, t->bucket_count, &n,
					offsetof(struct group_offset, next), offset_hash);
		if (nb) {
			free(t->buckets);
			t->buckets = nb;
			t->bucket_count = n;
		} else if (!t->bucket_count) {
			return NULL;
		}
	}
	o = topic.len >= 0 ? calloc(1, sizeof(*o)) : NULL;
	if (!o || !kstr_copy(&o->topic, topic)) {
		free(o);
		return NULL;
	}
	o->metadata = KSTR_NULL;
	o->partition = partition;
	o->leader_epoch = -1;
	o->expire_timestamp = -1;
	size_t k = offset_hash(o) & (t->bucket_count - 1);
	o->next = t->buckets[k];
	t->buckets[k] = o;
	t->count++;
	return o;
}

void group_offset_remove(struct group_offset_table *t, struct group_offset *o)
{
	size_t k = offset_hash(o) & (t->bucket_count - 1);
	for (struct group_offset **p = &t->buckets[k]; *p; p = &(*p)->next) {
		if (*p == o) {
			*p = o->next;
			t->count--;
			offset_free(o);
			return;
		}
	}
	assert(!"offset not in its table");
}

void group_offset_for_each(struct group_offset_table *t,
			   void (*fn)(struct group_offset *o, void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct group_offset *o = t->buckets[i];
		while (o) {
			struct group_offset *next = o->next; /* fn may remove o */
			fn(o, ctx);
			o = next;
		}
	}
}

void group_offset_table_clear(struct group_offset_table *t)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		for (struct group_offset *o = t->buckets[i]; o;) {
			struct group_offset *next = o->next;
			offset_free(o);
			o = next;
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct reactor *group_reactor(const struct group *g)
{
	return g->coord->shard->reactor;
}

const struct broker_config *group_cfg(const struct group *g)
{
	return &g->coord->rt->cfg;
}

/* An empty group that a failed request created holds nothing worth keeping. */
void group_drop_if_unused(struct group_coordinator *gc, struct group *g)
{
	if (g->state == GROUP_EMPTY && !g->members && !g->pending_members && g->offsets.count == 0 &&
	    (!g->consumer || g->consumer->member_count == 0) &&
	    !g->txn_pending && g->generation == 0 && g->writes_in_flight == 0 && !io_timer_armed(&g->rebalance_timer))
		group_table_remove(&gc->groups, g);
}

/* ---- offsets of open transactions (group_txn.h) ----------------------- */

/* One producer's open transaction in one group. */
struct group_txn_pending {
	struct group_txn_pending *next;
	int64_t producer_id;
	struct group_offset_table offsets;
};

static void txn_list_add(struct group *g)
{
	struct group_coordinator *gc = g->coord;
	g->txn_next = gc->txn_groups;
	if (g->txn_next)
		g->txn_next->txn_prev = &g->txn_next;
	g->txn_prev = &gc->txn_groups;
	gc->txn_groups = g;
}

static void txn_list_remove(struct group *g)
{
	*g->txn_prev = g->txn_next;
	if (g->txn_next)
		g->txn_next->txn_prev = g->txn_prev;
	g->txn_next = NULL;
	g->txn_prev = NULL;
}

static struct group_txn_pending **txn_find(struct group *g, int64_t producer_id)
{
	struct group_txn_pending **p = &g->txn_pending;
	while (*p && (*p)->producer_id != producer_id)
		p = &(*p)->next;
	return p;
}

/* Unlinks *p from its group and frees it; the group leaves the list with
 * its last open transaction. */
static void txn_pending_free(struct group *g, struct group_txn_pending **p)
{
	struct group_txn_pending *t = *p;
	*p = t->next;
	group_offset_table_clear(&t->offsets);
	free(t);
	if (!g->txn_pending)
		txn_list_remove(g);
}

bool group_offset_set(struct group_offset *dst, const struct group_offset_value *v,
			int64_t record_offset)
{
	if (!kstr_replace(&dst->metadata, v->metadata.len >= 0 ? v->metadata : kstr_from_cstr("")))
		return false;
	dst->offset = v->offset;
	dst->leader_epoch = v->leader_epoch;
	dst->commit_timestamp = v->commit_timestamp;
	dst->expire_timestamp = v->expire_timestamp;
	dst->record_offset = record_offset;
	return true;
}

int group_txn_put(struct group *g, int64_t producer_id, struct kstr topic, int32_t partition,
		  const struct group_offset_value *v, int64_t record_offset)
{
	struct group_txn_pending **p = txn_find(g, producer_id);
	if (!*p) {
		struct group_txn_pending *t = calloc(1, sizeof(*t));
		if (!t)
			return -1;
		t->producer_id = producer_id;
		if (!g->txn_pending)
			txn_list_add(g);
		*p = t;
	}
	struct group_offset *o = group_offset_put(&(*p)->offsets, topic, partition);
	if (!o || !group_offset_set(o, v, record_offset)) {
		if (o && o->metadata.len < 0)
			group_offset_remove(&(*p)->offsets, o);
		if ((*p)->offsets.count == 0)
			txn_pending_free(g, p);
		return -1;
	}
	return 0;
}

void group_txn_forget(struct group *g, struct kstr topic, int32_t partition)
{
	for (struct group_txn_pending *t = g->txn_pending; t; t = t->next) {
		struct group_offset *o = group_offset_find(&t->offsets, topic, partition);
		if (o)
			group_offset_remove(&t->offsets, o);
	}
}

void group_txn_drop_all(struct group *g)
{
	while (g->txn_pending)
		txn_pending_free(g, &g->txn_pending);
}

bool group_txn_has_pending(const struct group *g, struct kstr topic, int32_t partition)
{
	for (const struct group_txn_pending *t = g->txn_pending; t; t = t->next)
		if (group_offset_find(&t->offsets, topic, partition))
			return true;
	return false;
}

void group_txn_for_each_pending(struct group *g, void (*fn)(struct group_offset *o, void *ctx),
				void *ctx)
{
	for (struct group_txn_pending *t = g->txn_pending; t; t = t->next)
		group_offset_for_each(&t->offsets, fn, ctx);
}

size_t group_txn_pending_count(const struct group *g)
{
	size_t n = 0;
	for (const struct group_txn_pending *t = g->txn_pending; t; t = t->next)
		n += t->offsets.count;
	return n;
}

struct group_offset_table *group_txn_pending_offsets(struct group *g, int64_t producer_id)
{
	struct group_txn_pending **p = txn_find(g, producer_id);
	return *p ? &(*p)->offsets : NULL;
}

void group_txn_pending_end(struct group *g, int64_t producer_id)
{
	struct group_txn_pending **p = txn_find(g, producer_id);
	if (*p)
		txn_pending_free(g, p);
}
