/* assignor_assign's frame: checks and normalises the spec into an
 * assignor_work (assignor_internal.h), runs the chosen algorithm, and turns
 * the partition owners into the per-member result; see assignor.h. */
#include "core/group/assignor.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/assignor_internal.h"
#include "proto/kafka_errors.h"

bool assignor_by_name(struct kstr name, enum assignor_kind *out)
{
	if (kstr_eq_cstr(name, "uniform"))
		*out = ASSIGNOR_UNIFORM;
	else if (kstr_eq_cstr(name, "range"))
		*out = ASSIGNOR_RANGE;
	else
		return false;
	return true;
}

enum assignor_subscription assignor_subscription_type(const int32_t *subscriber_counts,
						      int32_t name_count, int32_t member_count)
{
	for (int32_t i = 0; i < name_count; i++)
		if (subscriber_counts[i] != member_count)
			return ASSIGNOR_HETEROGENEOUS;
	return ASSIGNOR_HOMOGENEOUS;
}

static int member_id_compare(const void *a, const void *b)
{
	const struct assignor_member *x = *(const struct assignor_member *const *)a;
	const struct assignor_member *y = *(const struct assignor_member *const *)b;
	return assignor_java_string_compare(x->member_id, y->member_id);
}

static int range_order_compare(const void *a, const void *b)
{
	return assignor_range_member_compare(*(const struct assignor_member *const *)a,
					     *(const struct assignor_member *const *)b);
}

static int topic_compare(const void *a, const void *b)
{
	const struct assignor_topic *x = a, *y = b;
	return assignor_uuid_compare(x->topic_id, y->topic_id);
}

static int int32_compare(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

/* The spec's own metadata, sorted, for the subscription lookups. */
struct assignor_catalog {
	struct assignor_topic *sorted;
	int32_t count;
	int32_t *group_index;  /* per sorted entry: its group topic, or -1 */
};

/* Both kinds of topic entry start with their id, so one search serves. */
_Static_assert(offsetof(struct assignor_topic, topic_id) == 0, "topic id first");
_Static_assert(offsetof(struct assignor_group_topic, id) == 0, "topic id first");

static int32_t topic_search(const void *entries, int32_t count, size_t stride, struct kuuid id)
{
	int32_t lo = 0, hi = count;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		const struct kuuid *at = (const void *)((const char *)entries + (size_t)mid * stride);
		int cmp = assignor_uuid_compare(*at, id);
		if (cmp == 0)
			return mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int32_t catalog_find(const struct assignor_catalog *c, struct kuuid id)
{
	return topic_search(c->sorted, c->count, sizeof(*c->sorted), id);
}

static int32_t group_topic_find(const struct assignor_work *w, struct kuuid id)
{
	return topic_search(w->topics, w->topic_count, sizeof(*w->topics), id);
}

static bool member_subscribed(const struct assignor_work *w, int32_t pos, int32_t topic)
{
	const int32_t *first = w->subs + w->sub_start[pos];
	size_t n = (size_t)(w->sub_start[pos + 1] - w->sub_start[pos]);
	return bsearch(&topic, first, n, sizeof(*first), int32_compare) != NULL;
}

static bool check_limits(struct assignor_work *w, const struct assignor_spec *spec)
{
	if (spec->member_count < 0 || spec->member_count > ASSIGNOR_MEMBERS_MAX)
		return assignor_fail(w, "%d members: the assignors take at most %d",
				     spec->member_count, ASSIGNOR_MEMBERS_MAX);
	if (spec->topic_count < 0 || spec->topic_count > ASSIGNOR_TOPICS_MAX)
		return assignor_fail(w, "%d topics: the assignors take at most %d",
				     spec->topic_count, ASSIGNOR_TOPICS_MAX);
	int64_t subscriptions = 0, current = 0;
	for (int32_t i = 0; i < spec->member_count; i++) {
		const struct assignor_member *m = &spec->members[i];
		if (m->topic_count < 0 || m->current_count < 0)
			return assignor_fail(w, "member %d: a negative count", i);
		subscriptions += m->topic_count;
		for (int32_t t = 0; t < m->current_count; t++)
			current += m->current[t].partition_count > 0 ? m->current[t].partition_count : 0;
		if (subscriptions > ASSIGNOR_PARTITIONS_MAX || current > ASSIGNOR_PARTITIONS_MAX)
			return assignor_fail(w, "more than %d subscriptions or assigned partitions",
					     ASSIGNOR_PARTITIONS_MAX);
	}
	for (int32_t i = 0; i < spec->topic_count; i++)
		if (spec->topics[i].partition_count < 0)
			return assignor_fail(w, "topic %d: a negative partition count", i);
	return true;
}

/* Members by position in the algorithm's order; a member id twice is an
 * error (it would get two assignments). */
static bool order_members(struct assignor_work *w, enum assignor_kind kind,
			  const struct assignor_spec *spec)
{
	w->members = malloc((size_t)spec->member_count * sizeof(*w->members));
	if (!w->members)
		return assignor_fail(w, "out of memory");
	for (int32_t i = 0; i < spec->member_count; i++)
		w->members[i] = &spec->members[i];
	qsort(w->members, (size_t)w->member_count, sizeof(*w->members), member_id_compare);
	for (int32_t i = 1; i < w->member_count; i++)
		if (kstr_eq(w->members[i - 1]->member_id, w->members[i]->member_id))
			return assignor_fail(w, "member id %.*s is given twice",
					     w->members[i]->member_id.len, w->members[i]->member_id.ptr);
	if (kind == ASSIGNOR_RANGE)
		qsort(w->members, (size_t)w->member_count, sizeof(*w->members), range_order_compare);
	return true;
}

static bool sort_catalog(struct assignor_work *w, struct assignor_catalog *c,
			 const struct assignor_spec *spec)
{
	c->count = spec->topic_count;
	c->sorted = malloc(((size_t)c->count + 1) * sizeof(*c->sorted));
	c->group_index = malloc(((size_t)c->count + 1) * sizeof(*c->group_index));
	if (!c->sorted || !c->group_index)
		return assignor_fail(w, "out of memory");
	for (int32_t i = 0; i < c->count; i++) {
		c->sorted[i] = spec->topics[i];
		c->group_index[i] = -1;
	}
	qsort(c->sorted, (size_t)c->count, sizeof(*c->sorted), topic_compare);
	for (int32_t i = 1; i < c->count; i++) {
		if (assignor_uuid_compare(c->sorted[i - 1].topic_id, c->sorted[i].topic_id) == 0) {
			char id[KUUID_TEXT_BYTES];
			kuuid_format(c->sorted[i].topic_id, id);
			return assignor_fail(w, "topic %s is given twice in the metadata", id);
		}
	}
	return true;
}

/* Each member's subscribed topics as catalog indices, sorted and without
 * duplicates; a topic missing from the metadata is Kafka's
 * PartitionAssignorException. */
static bool collect_subscriptions(struct assignor_work *w, struct assignor_catalog *c)
{
	size_t total = 0;
	for (int32_t p = 0; p < w->member_count; p++)
		total += (size_t)w->members[p]->topic_count;
	w->sub_start = malloc(((size_t)w->member_count + 1) * sizeof(*w->sub_start));
	w->subs = malloc((total + 1) * sizeof(*w->subs));
	if (!w->sub_start || !w->subs)
		return assignor_fail(w, "out of memory");
	int32_t next = 0;
	for (int32_t p = 0; p < w->member_count; p++) {
		const struct assignor_member *m = w->members[p];
		int32_t start = next;
		w->sub_start[p] = start;
		for (int32_t t = 0; t < m->topic_count; t++) {
			int32_t k = catalog_find(c, m->topic_ids[t]);
			if (k < 0) {
				char id[KUUID_TEXT_BYTES];
				kuuid_format(m->topic_ids[t], id);
				return assignor_fail(w, "Members are subscribed to topic %s which doesn't exist in the topic metadata.", id);
			}
			w->subs[next++] = k;
			c->group_index[k] = 0;
		}
		qsort(w->subs + start, (size_t)(next - start), sizeof(*w->subs), int32_compare);
		int32_t unique = start;
		for (int32_t i = start; i < next; i++)
			if (unique == start || w->subs[unique - 1] != w->subs[i])
				w->subs[unique++] = w->subs[i];
		next = unique;
	}
	w->sub_start[w->member_count] = next;
	return true;
}

/* The group's topics (the subscribed ones, in id order), their slots and
 * subscribers; subs are renumbered from catalog to group topic indices. */
static bool build_group_topics(struct assignor_work *w, struct assignor_catalog *c)
{
	int32_t count = 0;
	int64_t slots = 0;
	for (int32_t k = 0; k < c->count; k++) {
		if (c->group_index[k] < 0)
			continue;
		c->group_index[k] = count++;
		slots += c->sorted[k].partition_count;
	}
	if (slots > ASSIGNOR_PARTITIONS_MAX)
		return assignor_fail(w, "%lld subscribed partitions: the assignors take at most %d",
				     (long long)slots, ASSIGNOR_PARTITIONS_MAX);
	int32_t subscriptions = w->sub_start[w->member_count];
	w->topic_count = count;
	w->slot_count = (int32_t)slots;
	w->topics = calloc((size_t)count + 1, sizeof(*w->topics));
	w->owners = malloc(((size_t)slots + 1) * sizeof(*w->owners));
	w->subscriber_store = malloc(((size_t)subscriptions + 1) * sizeof(*w->subscriber_store));
	if (!w->topics || !w->owners || !w->subscriber_store)
		return assignor_fail(w, "out of memory");
	int32_t slot = 0;
	for (int32_t k = 0; k < c->count; k++) {
		int32_t g = c->group_index[k];
		if (g < 0)
			continue;
		w->topics[g].id = c->sorted[k].topic_id;
		w->topics[g].partition_count = c->sorted[k].partition_count;
		w->topics[g].first_slot = slot;
		slot += c->sorted[k].partition_count;
	}
	for (int32_t s = 0; s < w->slot_count; s++)
		w->owners[s] = ASSIGNOR_NO_OWNER;
	for (int32_t i = 0; i < subscriptions; i++) {
		w->subs[i] = c->group_index[w->subs[i]];
		w->topics[w->subs[i]].subscriber_count++;
	}
	int32_t offset = 0;
	for (int32_t g = 0; g < count; g++) {
		w->topics[g].subscribers = w->subscriber_store + offset;
		offset += w->topics[g].subscriber_count;
		w->topics[g].subscriber_count = 0;
	}
	for (int32_t p = 0; p < w->member_count; p++)
		for (int32_t i = w->sub_start[p]; i < w->sub_start[p + 1]; i++) {
			struct assignor_group_topic *t = &w->topics[w->subs[i]];
			t->subscribers[t->subscriber_count++] = p;
		}
	return true;
}

/* The current target assignment as owners: a partition stays with the first
 * member (by position) that holds it and still subscribes to its topic;
 * partitions of other topics, out of range or held twice are dropped. */
static void claim_current(struct assignor_work *w)
{
	for (int32_t p = 0; p < w->member_count; p++) {
		const struct assignor_member *m = w->members[p];
		for (int32_t i = 0; i < m->current_count; i++) {
			const struct assignor_topic_partitions *tp = &m->current[i];
			int32_t g = group_topic_find(w, tp->topic_id);
			if (g < 0 || !member_subscribed(w, p, g))
				continue;
			const struct assignor_group_topic *t = &w->topics[g];
			for (int32_t j = 0; j < tp->partition_count; j++) {
				int32_t part = tp->partitions[j];
				if (part >= 0 && part < t->partition_count &&
				    w->owners[t->first_slot + part] == ASSIGNOR_NO_OWNER)
					w->owners[t->first_slot + part] = p;
			}
		}
	}
}

static bool same_subscriptions(const struct assignor_work *w)
{
	int32_t n0 = w->sub_start[1] - w->sub_start[0];
	for (int32_t p = 1; p < w->member_count; p++) {
		int32_t n = w->sub_start[p + 1] - w->sub_start[p];
		if (n != n0 || memcmp(w->subs + w->sub_start[p], w->subs, (size_t)n * sizeof(*w->subs)) != 0)
			return false;
	}
	return true;
}

static bool run(struct assignor_work *w, enum assignor_kind kind, enum assignor_subscription sub)
{
	if (kind == ASSIGNOR_RANGE) {
		assignor_range(w);
		return true;
	}
	claim_current(w);
	if (sub == ASSIGNOR_HETEROGENEOUS)
		return assignor_uniform_heterogeneous(w);
	if (!same_subscriptions(w))
		return assignor_fail(w, "a homogeneous subscription type over members with different subscriptions");
	return assignor_uniform_homogeneous(w);
}

/* Whether position p's new partitions are exactly the ones it was given. */
static bool member_changed(const struct assignor_work *w, int32_t p, int32_t now_count)
{
	const struct assignor_member *m = w->members[p];
	int64_t given = 0, kept = 0;
	for (int32_t i = 0; i < m->current_count; i++) {
		const struct assignor_topic_partitions *tp = &m->current[i];
		given += tp->partition_count > 0 ? tp->partition_count : 0;
		int32_t g = group_topic_find(w, tp->topic_id);
		if (g < 0)
			continue;
		const struct assignor_group_topic *t = &w->topics[g];
		for (int32_t j = 0; j < tp->partition_count; j++) {
			int32_t part = tp->partitions[j];
			if (part >= 0 && part < t->partition_count && w->owners[t->first_slot + part] == p)
				kept++;
		}
	}
	return !(kept == given && kept == now_count);
}

/* Walks the owners topic by topic. Without out, sizes each member's share
 * of the stores (counts[2p]: topics, [2p+1]: partitions); with out, counts
 * hold each member's next free topic and partition index and the walk fills
 * them. last_topic: scratch, -1 for every member on entry. */
static void walk_owners(const struct assignor_work *w, const struct assignor_spec *spec,
			struct assignor_result *out, int32_t *counts, int32_t *last_topic)
{
	for (int32_t g = 0; g < w->topic_count; g++) {
		const struct assignor_group_topic *t = &w->topics[g];
		for (int32_t part = 0; part < t->partition_count; part++) {
			int32_t o = w->owners[t->first_slot + part];
			if (o == ASSIGNOR_NO_OWNER)
				continue;
			if (last_topic[o] != g) {
				last_topic[o] = g;
				if (out) {
					struct assignor_partitions *e = &out->topic_store[counts[2 * o]];
					e->topic_id = t->id;
					e->partitions = out->partition_store + counts[2 * o + 1];
					e->partition_count = 0;
					out->members[w->members[o] - spec->members].topic_count++;
				}
				counts[2 * o]++;
			}
			if (out) {
				out->topic_store[counts[2 * o] - 1].partition_count++;
				out->partition_store[counts[2 * o + 1]] = part;
			}
			counts[2 * o + 1]++;
		}
	}
}

static bool build_result(struct assignor_work *w, const struct assignor_spec *spec,
			 struct assignor_result *out)
{
	size_t n = (size_t)w->member_count;
	int32_t *counts = malloc((2 * n + 1) * sizeof(*counts));
	int32_t *last_topic = malloc((n + 1) * sizeof(*last_topic));
	out->members = calloc(n + 1, sizeof(*out->members));
	out->member_count = w->member_count;
	bool ok = counts && last_topic && out->members;
	size_t topics = 0, parts = 0;
	if (ok) {
		for (size_t p = 0; p < n; p++) {
			counts[2 * p] = counts[2 * p + 1] = 0;
			last_topic[p] = -1;
		}
		walk_owners(w, spec, NULL, counts, last_topic);
		for (size_t p = 0; p < n; p++) {
			topics += (size_t)counts[2 * p];
			parts += (size_t)counts[2 * p + 1];
		}
		out->topic_store = malloc((topics + 1) * sizeof(*out->topic_store));
		out->partition_store = malloc((parts + 1) * sizeof(*out->partition_store));
		ok = out->topic_store && out->partition_store;
	}
	if (!ok) {
		free(counts);
		free(last_topic);
		return assignor_fail(w, "out of memory");
	}
	/* counts become each member's next free topic and partition index. */
	size_t topic_at = 0, part_at = 0;
	for (int32_t p = 0; p < w->member_count; p++) {
		struct assignor_member_result *r = &out->members[w->members[p] - spec->members];
		r->topics = out->topic_store + topic_at;
		r->partition_count = counts[2 * p + 1];
		r->changed = member_changed(w, p, r->partition_count);
		topic_at += (size_t)counts[2 * p];
		counts[2 * p] = (int32_t)(r->topics - out->topic_store);
		counts[2 * p + 1] = (int32_t)part_at;
		part_at += (size_t)r->partition_count;
		last_topic[p] = -1;
	}
	walk_owners(w, spec, out, counts, last_topic);
	free(counts);
	free(last_topic);
	return true;
}

static void work_free(struct assignor_work *w, struct assignor_catalog *c)
{
	free(w->members);
	free(w->topics);
	free(w->owners);
	free(w->sub_start);
	free(w->subs);
	free(w->subscriber_store);
	free(c->sorted);
	free(c->group_index);
}

int16_t assignor_assign(enum assignor_kind kind, const struct assignor_spec *spec,
			struct assignor_result *out, char *err, size_t err_len)
{
	assert(spec && out);
	memset(out, 0, sizeof(*out));
	struct assignor_work w = { .member_count = spec->member_count, .err = err, .err_len = err_len };
	struct assignor_catalog c = { 0 };
	if (err_len > 0)
		err[0] = '\0';
	if (!check_limits(&w, spec))
		return KERR_UNKNOWN_SERVER_ERROR;
	if (spec->member_count == 0)
		return KERR_NONE;
	bool ok = order_members(&w, kind, spec) && sort_catalog(&w, &c, spec) &&
		  collect_subscriptions(&w, &c) && build_group_topics(&w, &c) &&
		  run(&w, kind, spec->subscription) && build_result(&w, spec, out);
	work_free(&w, &c);
	return ok ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
}

void assignor_result_free(struct assignor_result *r)
{
	if (!r)
		return;
	free(r->members);
	free(r->topic_store);
	free(r->partition_store);
	memset(r, 0, sizeof(*r));
}
