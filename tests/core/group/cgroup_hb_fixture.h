/* Helpers for the consumer-protocol heartbeat and store tests: a metadata
 * image of topics t1..t3 (ids cf_topic(1..3)), the group under test, and
 * heartbeats built as clients send them. */
#ifndef SLUICE_TESTS_CGROUP_HB_FIXTURE_H
#define SLUICE_TESTS_CGROUP_HB_FIXTURE_H

#include "cgroup_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/group/cgroup_heartbeat.h"
#include "proto/kafka_errors.h"

#define S(lit) ((struct kstr){ lit, (int32_t)sizeof(lit) - 1 })
static const struct kstr NIL = { NULL, -1 };
static const struct kstr GROUP = { "g", 1 };

/* The metadata image: topics 1..3 named t1..t3 unless removed. */
struct image {
	int32_t partitions[4];
};

static inline bool by_name(void *ctx, struct kstr name, struct cgroup_topic *out)
{
	struct image *im = ctx;
	if (name.len != 2 || name.ptr[0] != 't' || name.ptr[1] < '1' || name.ptr[1] > '3')
		return false;
	int n = name.ptr[1] - '0';
	if (im->partitions[n] <= 0)
		return false;
	*out = (struct cgroup_topic){ cf_topic(n), name, im->partitions[n] };
	return true;
}

static inline bool by_id(void *ctx, struct kuuid id, struct cgroup_topic *out)
{
	static const char *names[] = { "", "t1", "t2", "t3" };
	for (int n = 1; n <= 3; n++)
		if (memcmp(id.b, cf_topic(n).b, sizeof(id.b)) == 0)
			return by_name(ctx, (struct kstr){ names[n], 2 }, out);
	return false;
}

static const struct cgroup_settings SETTINGS = { 5000, 3, ASSIGNOR_UNIFORM, "uniform, range" };

struct fx {
	struct cgroup cg;
	struct image im;
	struct cgroup_topics topics;
	struct cgroup_heartbeat_result r;
	struct cg_assignment owned;
};

static inline int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	assert_int_equal(cgroup_init(&x->cg), 0);
	x->im = (struct image){ { 0, 6, 4, 0 } };
	x->topics = (struct cgroup_topics){ by_name, by_id, &x->im };
	cg_assignment_init(&x->owned);
	*state = x;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *x = *state;
	cgroup_heartbeat_result_free(&x->r);
	cg_assignment_free(&x->owned);
	cgroup_free(&x->cg);
	free(x);
	return 0;
}

static inline struct cgroup_heartbeat_args args(struct kstr member, int32_t epoch)
{
	return (struct cgroup_heartbeat_args){
		.version = 1, .member_id = member, .member_epoch = epoch, .instance_id = NIL,
		.rack_id = NIL, .rebalance_timeout_ms = -1, .topic_name_count = -1, .topic_regex = NIL,
		.server_assignor = NIL, .client_id = S("client"), .client_host = S("/127.0.0.1"),
	};
}

static const struct kstr T1[] = { { "t1", 2 } };
static const struct kstr T12[] = { { "t1", 2 }, { "t2", 2 } };

static inline struct cgroup_heartbeat_args join_args(struct kstr member, const struct kstr *names, int32_t n,
					      const struct cg_assignment *empty)
{
	struct cgroup_heartbeat_args a = args(member, 0);
	a.rebalance_timeout_ms = 30000;
	a.topic_names = names;
	a.topic_name_count = n;
	a.owned = empty;
	a.owned_topic_count = 0;
	return a;
}

static inline void run(struct fx *x, const struct cgroup_heartbeat_args *a)
{
	cgroup_heartbeat_result_free(&x->r);
	if (a->member_epoch >= 0)
		cgroup_heartbeat(&x->cg, GROUP, a, &SETTINGS, &x->topics, 1000, &x->r);
	else
		cgroup_leave(&x->cg, GROUP, a, &x->topics, &x->r);
}

#endif
