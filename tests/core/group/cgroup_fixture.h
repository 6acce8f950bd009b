/* Helpers for the consumer-protocol reconciliation tests: topic ids by
 * number, partition sets written as (topic, epoch, partitions..., -1) runs,
 * and a member assignment built in one call. */
#ifndef SLUICE_TESTS_CGROUP_FIXTURE_H
#define SLUICE_TESTS_CGROUP_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "core/group/cgroup_assignment.h"

/* Topic n's id; n >= 128 sets the top bit, which Kafka's signed Uuid order
 * sorts first. */
static inline struct kuuid cf_topic(int n)
{
	struct kuuid u;
	memset(u.b, 0, sizeof(u.b));
	u.b[0] = (uint8_t)(n >= 128 ? 0x80 : 0);
	u.b[15] = (uint8_t)n;
	return u;
}

/* Adds to a: topic, epoch, partitions ..., -1; repeated; ends with topic -1. */
static inline void cf_vadd(struct cg_assignment *a, va_list ap)
{
	for (;;) {
		int t = va_arg(ap, int);
		if (t < 0)
			break;
		int epoch = va_arg(ap, int);
		for (int p = va_arg(ap, int); p >= 0; p = va_arg(ap, int))
			assert_int_equal(cg_assignment_insert(a, cf_topic(t), p, epoch), 0);
	}
}

static inline void cf_set(struct cg_assignment *a, ...)
{
	cg_assignment_clear(a);
	va_list ap;
	va_start(ap, a);
	cf_vadd(a, ap);
	va_end(ap);
}

static inline void cf_member(struct cg_member_assignment *m, enum cg_member_state state,
			     int32_t epoch, int32_t previous)
{
	m->state = state;
	m->member_epoch = epoch;
	m->previous_member_epoch = previous;
}

/* Whether a is exactly the run list given. */
static inline void cf_expect(const struct cg_assignment *a, ...)
{
	struct cg_assignment want;
	cg_assignment_init(&want);
	va_list ap;
	va_start(ap, a);
	cf_vadd(&want, ap);
	va_end(ap);
	assert_int_equal(a->count, want.count);
	for (int32_t i = 0; i < want.count; i++) {
		assert_int_equal(cg_tp_compare(&a->tps[i], &want.tps[i]), 0);
		assert_int_equal(a->tps[i].epoch, want.tps[i].epoch);
	}
	cg_assignment_free(&want);
}

#endif
