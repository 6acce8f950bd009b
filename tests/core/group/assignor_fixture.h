/* A small group for the assignor tests: topics by number, members by name,
 * each run's result fed back as the members' current target assignment (as
 * the coordinator does), and the properties every assignment must have
 * checked after each run: each subscribed partition owned exactly once, only
 * by a subscriber, topics and partitions ascending. */
#ifndef SLUICE_TESTS_ASSIGNOR_FIXTURE_H
#define SLUICE_TESTS_ASSIGNOR_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/assignor.h"
#include "proto/kafka_errors.h"

enum { FX_NAME_BYTES = 48, FX_CURRENT_MAX = 4096 };

struct fx_member {
	char id[FX_NAME_BYTES];
	char instance[FX_NAME_BYTES]; /* "": dynamic */
	struct kuuid *subs;
	int32_t sub_count;
	struct assignor_topic_partitions *current;
	int32_t current_count;
	int32_t *current_partitions;
};

struct fx {
	struct fx_member *members;
	int32_t member_count;
	struct assignor_topic *topics;
	int32_t topic_count;
	struct assignor_member *spec_members;
	struct assignor_result result;
	char err[256];
};

/* Topic n's id; odd numbers set the top bit, so that Kafka's signed order
 * (they sort first) differs from byte order. */
static inline struct kuuid fx_uuid(int n)
{
	struct kuuid u = { { 0 } };
	u.b[0] = (n & 1) ? 0x80 : 0x01;
	u.b[14] = (uint8_t)(n >> 8);
	u.b[15] = (uint8_t)n;
	return u;
}

static inline struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	return f;
}

static inline void fx_member_clear_current(struct fx_member *m)
{
	free(m->current);
	free(m->current_partitions);
	m->current = NULL;
	m->current_partitions = NULL;
	m->current_count = 0;
}

static inline void fx_free(struct fx *f)
{
	for (int32_t i = 0; i < f->member_count; i++) {
		free(f->members[i].subs);
		fx_member_clear_current(&f->members[i]);
	}
	free(f->members);
	free(f->topics);
	free(f->spec_members);
	assignor_result_free(&f->result);
	free(f);
}

/* Adds topic n, or sets its partition count. */
static inline void fx_topic(struct fx *f, int n, int32_t partitions)
{
	struct kuuid id = fx_uuid(n);
	for (int32_t i = 0; i < f->topic_count; i++)
		if (memcmp(&f->topics[i].topic_id, &id, 16) == 0) {
			f->topics[i].partition_count = partitions;
			return;
		}
	f->topics = realloc(f->topics, (size_t)(f->topic_count + 1) * sizeof(*f->topics));
	assert_non_null(f->topics);
	f->topics[f->topic_count].topic_id = fx_uuid(n);
	f->topics[f->topic_count].partition_count = partitions;
	f->topic_count++;
}

static inline void fx_delete_topic(struct fx *f, int n)
{
	struct kuuid id = fx_uuid(n);
	for (int32_t i = 0; i < f->topic_count; i++)
		if (memcmp(&f->topics[i].topic_id, &id, 16) == 0) {
			f->topics[i] = f->topics[--f->topic_count];
			return;
		}
	fail_msg("no topic %d", n);
}

static inline struct fx_member *fx_find(struct fx *f, const char *id)
{
	for (int32_t i = 0; i < f->member_count; i++)
		if (strcmp(f->members[i].id, id) == 0)
			return &f->members[i];
	return NULL;
}

/* Sets member id's subscription to the topics (numbers) listed, adding the
 * member when new; the list ends with -1. */
static inline struct fx_member *fx_subscribe(struct fx *f, const char *id, ...)
{
	struct fx_member *m = fx_find(f, id);
	if (!m) {
		f->members = realloc(f->members, (size_t)(f->member_count + 1) * sizeof(*f->members));
		assert_non_null(f->members);
		m = &f->members[f->member_count++];
		memset(m, 0, sizeof(*m));
		snprintf(m->id, sizeof(m->id), "%s", id);
	}
	m->sub_count = 0;
	va_list ap;
	va_start(ap, id);
	for (int n = va_arg(ap, int); n >= 0; n = va_arg(ap, int)) {
		m->subs = realloc(m->subs, (size_t)(m->sub_count + 1) * sizeof(*m->subs));
		assert_non_null(m->subs);
		m->subs[m->sub_count++] = fx_uuid(n);
	}
	va_end(ap);
	return m;
}

static inline void fx_remove_member(struct fx *f, const char *id)
{
	struct fx_member *m = fx_find(f, id);
	assert_non_null(m);
	free(m->subs);
	fx_member_clear_current(m);
	*m = f->members[--f->member_count];
}

/* A group of members "A", "B", ... all subscribed to topics 1..topic_count
 * of `partitions` partitions each. */
static inline struct fx *fx_group(int topic_count, int32_t partitions, int member_count)
{
	struct fx *f = fx_new();
	for (int t = 1; t <= topic_count; t++)
		fx_topic(f, t, partitions);
	for (int i = 0; i < member_count; i++) {
		char id[2] = { (char)('A' + i), '\0' };
		struct fx_member *m = fx_subscribe(f, id, -1);
		m->subs = malloc((size_t)topic_count * sizeof(*m->subs));
		assert_non_null(m->subs);
		for (int t = 1; t <= topic_count; t++)
			m->subs[m->sub_count++] = fx_uuid(t);
	}
	return f;
}

/* Adds partitions [first, first + count) of topic n to member id's current
 * target assignment. */
static inline void fx_give(struct fx *f, const char *id, int n, int32_t first, int32_t count)
{
	struct fx_member *m = fx_find(f, id);
	assert_non_null(m);
	int32_t topics = m->current_count, used = 0;
	for (int32_t i = 0; i < topics; i++)
		used += m->current[i].partition_count;
	int32_t *parts = malloc((size_t)(used + count + 1) * sizeof(*parts));
	struct assignor_topic_partitions *cur = malloc((size_t)(topics + 1) * sizeof(*cur));
	assert_true(parts && cur);
	int32_t at = 0;
	for (int32_t i = 0; i < topics; i++) {
		cur[i] = m->current[i];
		memcpy(parts + at, m->current[i].partitions, (size_t)cur[i].partition_count * sizeof(*parts));
		cur[i].partitions = parts + at;
		at += cur[i].partition_count;
	}
	for (int32_t i = 0; i < count; i++)
		parts[at + i] = first + i;
	cur[topics] = (struct assignor_topic_partitions){ fx_uuid(n), parts + at, count };
	fx_member_clear_current(m);
	m->current = cur;
	m->current_partitions = parts;
	m->current_count = topics + 1;
}

/* Member m's current target assignment becomes the result r. */
static inline void fx_set_current(struct fx_member *m, const struct assignor_member_result *r)
{
	fx_member_clear_current(m);
	m->current = malloc((size_t)(r->topic_count + 1) * sizeof(*m->current));
	m->current_partitions = malloc((size_t)(r->partition_count + 1) * sizeof(int32_t));
	assert_true(m->current && m->current_partitions);
	int32_t at = 0;
	for (int32_t k = 0; k < r->topic_count; k++) {
		memcpy(m->current_partitions + at, r->topics[k].partitions,
		       (size_t)r->topics[k].partition_count * sizeof(int32_t));
		m->current[k] = (struct assignor_topic_partitions){
			r->topics[k].topic_id, m->current_partitions + at, r->topics[k].partition_count };
		at += r->topics[k].partition_count;
	}
	m->current_count = r->topic_count;
}

/* Kafka's rule over the members' subscribed topics. */
static inline enum assignor_subscription fx_subscription(const struct fx *f)
{
	for (int32_t i = 1; i < f->member_count; i++) {
		const struct fx_member *a = &f->members[0], *b = &f->members[i];
		if (a->sub_count != b->sub_count)
			return ASSIGNOR_HETEROGENEOUS;
		for (int32_t j = 0; j < a->sub_count; j++) {
			bool found = false;
			for (int32_t k = 0; k < b->sub_count; k++)
				found = found || memcmp(&a->subs[j], &b->subs[k], 16) == 0;
			if (!found)
				return ASSIGNOR_HETEROGENEOUS;
		}
	}
	return ASSIGNOR_HOMOGENEOUS;
}

static inline int16_t fx_try(struct fx *f, enum assignor_kind kind, enum assignor_subscription sub)
{
	free(f->spec_members);
	f->spec_members = calloc((size_t)f->member_count + 1, sizeof(*f->spec_members));
	assert_non_null(f->spec_members);
	for (int32_t i = 0; i < f->member_count; i++) {
		const struct fx_member *m = &f->members[i];
		f->spec_members[i] = (struct assignor_member){
			.member_id = kstr_from_cstr(m->id),
			.instance_id = m->instance[0] ? kstr_from_cstr(m->instance) : (struct kstr){ NULL, -1 },
			.topic_ids = m->subs,
			.topic_count = m->sub_count,
			.current = m->current,
			.current_count = m->current_count,
		};
	}
	struct assignor_spec spec = { sub, f->spec_members, f->member_count, f->topics, f->topic_count };
	assignor_result_free(&f->result);
	return assignor_assign(kind, &spec, &f->result, f->err, sizeof(f->err));
}

static inline int32_t fx_partitions_of(const struct fx *f, struct kuuid id)
{
	for (int32_t i = 0; i < f->topic_count; i++)
		if (memcmp(&f->topics[i].topic_id, &id, 16) == 0)
			return f->topics[i].partition_count;
	return -1;
}

static inline bool fx_member_subscribes(const struct fx_member *m, struct kuuid id)
{
	for (int32_t i = 0; i < m->sub_count; i++)
		if (memcmp(&m->subs[i], &id, 16) == 0)
			return true;
	return false;
}

/* Every subscribed partition owned once, by a subscriber; order ascending. */
static inline void fx_check(const struct fx *f)
{
	assert_int_equal(f->result.member_count, f->member_count);
	for (int32_t t = 0; t < f->topic_count; t++) {
		struct kuuid id = f->topics[t].topic_id;
		int32_t n = f->topics[t].partition_count;
		bool subscribed = false;
		for (int32_t i = 0; i < f->member_count; i++)
			subscribed = subscribed || fx_member_subscribes(&f->members[i], id);
		char *owned = calloc((size_t)n + 1, 1);
		assert_non_null(owned);
		for (int32_t i = 0; i < f->member_count; i++) {
			const struct assignor_member_result *r = &f->result.members[i];
			int32_t sum = 0;
			for (int32_t k = 0; k < r->topic_count; k++) {
				const struct assignor_partitions *e = &r->topics[k];
				assert_true(e->partition_count > 0);
				sum += e->partition_count;
				if (k > 0)
					assert_true(memcmp(&r->topics[k - 1].topic_id, &e->topic_id, 16) != 0);
				if (memcmp(&e->topic_id, &id, 16) != 0)
					continue;
				assert_true(fx_member_subscribes(&f->members[i], id));
				for (int32_t j = 0; j < e->partition_count; j++) {
					assert_true(e->partitions[j] >= 0 && e->partitions[j] < n);
					assert_false(owned[e->partitions[j]]);
					owned[e->partitions[j]] = 1;
					if (j > 0)
						assert_true(e->partitions[j - 1] < e->partitions[j]);
				}
			}
			assert_int_equal(sum, r->partition_count);
		}
		for (int32_t p = 0; p < n; p++)
			assert_int_equal(owned[p], subscribed ? 1 : 0);
		free(owned);
	}
	for (int32_t i = 0; i < f->member_count; i++)
		for (int32_t k = 0; k < f->result.members[i].topic_count; k++)
			assert_true(fx_partitions_of(f, f->result.members[i].topics[k].topic_id) >= 0);
}

/* Runs the assignor (Kafka's subscription type), checks the result, and
 * makes it the members' current target assignment; returns how many
 * partitions changed owner. */
static inline int32_t fx_run(struct fx *f, enum assignor_kind kind)
{
	int16_t rc = fx_try(f, kind, fx_subscription(f));
	if (rc != KERR_NONE)
		fail_msg("assignor_assign: %d: %s", rc, f->err);
	fx_check(f);
	int32_t moved = 0;
	for (int32_t i = 0; i < f->member_count; i++) {
		struct fx_member *m = &f->members[i];
		const struct assignor_member_result *r = &f->result.members[i];
		int32_t kept = 0;
		for (int32_t k = 0; k < r->topic_count; k++)
			for (int32_t j = 0; j < r->topics[k].partition_count; j++)
				for (int32_t c = 0; c < m->current_count; c++)
					if (memcmp(&m->current[c].topic_id, &r->topics[k].topic_id, 16) == 0)
						for (int32_t q = 0; q < m->current[c].partition_count; q++)
							kept += m->current[c].partitions[q] == r->topics[k].partitions[j];
		moved += r->partition_count - kept;
		fx_set_current(m, r);
	}
	return moved;
}

static inline const struct assignor_member_result *fx_result_of(const struct fx *f, const char *id)
{
	for (int32_t i = 0; i < f->member_count; i++)
		if (strcmp(f->members[i].id, id) == 0)
			return &f->result.members[i];
	fail_msg("no member %s", id);
	return NULL;
}

static inline int32_t fx_count(const struct fx *f, const char *id)
{
	return fx_result_of(f, id)->partition_count;
}

/* Member id's partitions of topic n are exactly the listed ones (ascending,
 * ending with -1). */
static inline void fx_expect(const struct fx *f, const char *id, int n, ...)
{
	const struct assignor_member_result *r = fx_result_of(f, id);
	struct kuuid tid = fx_uuid(n);
	const struct assignor_partitions *e = NULL;
	for (int32_t k = 0; k < r->topic_count; k++)
		if (memcmp(&r->topics[k].topic_id, &tid, 16) == 0)
			e = &r->topics[k];
	va_list ap;
	va_start(ap, n);
	int32_t i = 0;
	for (int p = va_arg(ap, int); p >= 0; p = va_arg(ap, int), i++) {
		if (!e || i >= e->partition_count || e->partitions[i] != p)
			fail_msg("member %s topic %d: expected partition %d at %d", id, n, p, i);
	}
	va_end(ap);
	assert_int_equal(i, e ? e->partition_count : 0);
}

#endif
