/* Partition sets of consumer-protocol members (core/group/cgroup_assignment.c):
 * Kafka's topic order, the set operations and their epochs, the assignors'
 * result, the record form with its checks (duplicates, negative partitions,
 * epochs that do not match, a static member's negative epoch) and a round
 * trip of a CurrentMemberAssignment value through the record codec. */
#include "cgroup_fixture.h"

#include <stdlib.h>

#include "core/group/assignor.h"
#include "proto/consumer_group_records.h"

static void test_order_is_kafka_uuid_order(void **state)
{
	(void)state;
	struct cg_assignment a;
	cg_assignment_init(&a);
	cf_set(&a, 2, 0, 3, 1, -1, 200, 0, 0, -1, 1, 0, 5, -1, -1);
	/* 200 has the top bit set: a negative high half sorts first. */
	cf_expect(&a, 200, 0, 0, -1, 1, 0, 5, -1, 2, 0, 1, 3, -1, -1);
	assert_int_equal(cg_assignment_count(&a), 4);
	assert_true(cg_assignment_contains(&a, cf_topic(2), 3));
	assert_false(cg_assignment_contains(&a, cf_topic(2), 2));
	assert_true(cg_assignment_has_topic(&a, cf_topic(1)));
	assert_false(cg_assignment_has_topic(&a, cf_topic(3)));
	assert_int_equal(cg_assignment_insert(&a, cf_topic(2), 3, 9), 0);
	assert_int_equal(cg_assignment_count(&a), 4);
	assert_int_equal(cg_assignment_find(&a, cf_topic(2), 3)->epoch, 9);
	cg_assignment_free(&a);
}

static void test_set_operations_keep_first_epochs(void **state)
{
	(void)state;
	struct cg_assignment a, b, out;
	cg_assignment_init(&a);
	cg_assignment_init(&b);
	cg_assignment_init(&out);
	cf_set(&a, 1, 4, 0, 1, 2, -1, 2, 4, 0, -1, -1);
	cf_set(&b, 1, 7, 1, 2, 3, -1, 3, 7, 0, -1, -1);
	assert_int_equal(cg_assignment_difference(&out, &a, &b), 0);
	cf_expect(&out, 1, 4, 0, -1, 2, 4, 0, -1, -1);
	assert_int_equal(cg_assignment_intersection(&out, &a, &b), 0);
	cf_expect(&out, 1, 4, 1, 2, -1, -1);
	assert_int_equal(cg_assignment_union(&out, &a, &b), 0);
	cf_expect(&out, 1, 4, 0, 1, 2, -1, 1, 7, 3, -1, 2, 4, 0, -1, 3, 7, 0, -1, -1);
	assert_true(cg_assignment_intersects(&a, &b));
	assert_int_equal(cg_assignment_difference(&out, &b, &a), 0);
	assert_false(cg_assignment_intersects(&out, &a));
	assert_false(cg_assignment_equal(&a, &b));
	assert_int_equal(cg_assignment_copy(&out, &a), 0);
	assert_true(cg_assignment_equal(&out, &a));
	out.tps[0].epoch = 5;
	assert_false(cg_assignment_equal(&out, &a));
	assert_true(cg_assignment_same_partitions(&out, &a));
	cg_assignment_free(&a);
	cg_assignment_free(&b);
	cg_assignment_free(&out);
}

static bool count_until_three(void *ctx, const struct cg_tp *tp)
{
	(void)tp;
	int *n = ctx;
	return ++*n < 3;
}

static void test_for_each_stops(void **state)
{
	(void)state;
	struct cg_assignment a;
	cg_assignment_init(&a);
	cf_set(&a, 1, 0, 0, 1, 2, 3, -1, -1);
	int n = 0;
	assert_false(cg_assignment_for_each(&a, count_until_three, &n));
	assert_int_equal(n, 3);
	cf_set(&a, 1, 0, 0, 1, -1, -1);
	n = 0;
	assert_true(cg_assignment_for_each(&a, count_until_three, &n));
	assert_int_equal(n, 2);
	cg_assignment_free(&a);
}

static void test_from_unsorted_merges_duplicates(void **state)
{
	(void)state;
	struct cg_tp in[] = {
		{ cf_topic(2), 1, 5 }, { cf_topic(1), 0, 6 }, { cf_topic(2), 1, 7 },
		{ cf_topic(1), -3, 8 }, { cf_topic(2), 0, 9 },
	};
	struct cg_assignment a;
	cg_assignment_init(&a);
	assert_int_equal(cg_assignment_from_unsorted(&a, in, 5), 0);
	cf_expect(&a, 1, 6, 0, -1, 2, 9, 0, -1, 2, 5, 1, -1, -1);
	cg_assignment_free(&a);
}

static void test_from_assignor_result(void **state)
{
	(void)state;
	int32_t p1[] = { 0, 2 }, p2[] = { 1 };
	struct assignor_partitions topics[] = {
		{ cf_topic(1), p1, 2 },
		{ cf_topic(2), p2, 1 },
	};
	struct assignor_member_result r = { topics, 2, 3, true };
	struct cg_assignment a;
	cg_assignment_init(&a);
	assert_int_equal(cg_assignment_from_result(&a, &r), 0);
	cf_expect(&a, 1, CG_EPOCH_NONE, 0, 2, -1, 2, CG_EPOCH_NONE, 1, -1, -1);
	cg_assignment_free(&a);
}

static enum cg_assignment_load load(struct cg_assignment *a, struct cg_topic_partitions *t, int n,
				    int32_t default_epoch, bool *mismatch, const char **reason)
{
	return cg_assignment_from_records(a, t, n, default_epoch, mismatch, reason);
}

static void test_from_records_epochs(void **state)
{
	(void)state;
	int32_t p1[] = { 3, 1 }, e1[] = { 8, 9 }, p2[] = { 0, 1, 2 }, e2[] = { 4 };
	struct cg_topic_partitions t[] = {
		{ cf_topic(1), 2, p1, 2, e1 },
		{ cf_topic(2), 3, p2, 1, e2 },
		{ cf_topic(3), 0, NULL, 0, NULL },
	};
	struct cg_assignment a;
	cg_assignment_init(&a);
	bool mismatch = false;
	const char *reason = NULL;
	assert_int_equal(load(&a, t, 3, 12, &mismatch, &reason), CG_LOAD_OK);
	/* Topic 2's one epoch for three partitions: all get the member's. */
	assert_true(mismatch);
	cf_expect(&a, 1, 9, 1, -1, 1, 8, 3, -1, 2, 12, 0, 1, 2, -1, -1);
	t[1].epoch_count = 0;
	assert_int_equal(load(&a, t, 3, -2, &mismatch, &reason), CG_LOAD_OK);
	assert_false(mismatch);
	/* A static member's -2 reads as 0. */
	assert_int_equal(cg_assignment_find(&a, cf_topic(2), 1)->epoch, 0);
	assert_false(cg_assignment_has_topic(&a, cf_topic(3)));
	cg_assignment_free(&a);
}

static void test_from_records_refuses_bad_records(void **state)
{
	(void)state;
	int32_t dup[] = { 1, 1 }, neg[] = { 0, -1 }, a0[] = { 0 }, a1[] = { 1 };
	struct cg_topic_partitions dup_part[] = { { cf_topic(1), 2, dup, 0, NULL } };
	struct cg_topic_partitions neg_part[] = { { cf_topic(1), 2, neg, 0, NULL } };
	struct cg_topic_partitions dup_topic[] = {
		{ cf_topic(1), 1, a0, 0, NULL },
		{ cf_topic(1), 1, a1, 0, NULL },
	};
	struct cg_assignment a;
	cg_assignment_init(&a);
	bool mismatch;
	const char *reason = NULL;
	assert_int_equal(load(&a, dup_part, 1, 1, &mismatch, &reason), CG_LOAD_INVALID);
	assert_string_equal(reason, "duplicate partition");
	assert_int_equal(load(&a, neg_part, 1, 1, &mismatch, &reason), CG_LOAD_INVALID);
	assert_string_equal(reason, "negative partition");
	assert_int_equal(load(&a, dup_topic, 2, 1, &mismatch, &reason), CG_LOAD_INVALID);
	assert_string_equal(reason, "duplicate topic");
	assert_int_equal(cg_assignment_count(&a), 0);
	cg_assignment_free(&a);
}

/* A member's assignment written as Kafka 4.4's value, read back by the
 * record codec and loaded again: the same member, epochs included. */
static void test_member_record_round_trip(void **state)
{
	(void)state;
	struct cg_member_assignment m, back;
	cg_member_assignment_init(&m);
	cg_member_assignment_init(&back);
	cf_member(&m, CG_MEMBER_UNREVOKED_PARTITIONS, 7, 5);
	cf_set(&m.assigned, 200, 3, 4, -1, 1, 7, 0, 2, -1, 1, 5, 1, -1, -1);
	cf_set(&m.pending_revocation, 2, 5, 0, -1, -1);
	struct arena ar;
	arena_init(&ar, 1 << 16);
	struct cg_record_value v = { .type = CG_RECORD_CURRENT_MEMBER_ASSIGNMENT };
	assert_int_equal(cg_member_assignment_to_record(&m, &ar, &v.current_assignment), 0);
	assert_int_equal(v.current_assignment.assigned_count, 2);
	size_t n = cg_record_value_size(&v);
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	cg_record_value_write(&w, &v);
	assert_false(w.overflow);
	struct cg_record_value rv;
	const char *reason = NULL;
	assert_int_equal(cg_record_value_read(CG_RECORD_CURRENT_MEMBER_ASSIGNMENT,
					      (struct kbytes){ buf, (int32_t)n }, &ar, &rv, &reason),
			 CG_RECORD_OK);
	bool mismatch = true;
	assert_int_equal(cg_member_assignment_from_record(&back, &rv.current_assignment, &mismatch,
							  &reason),
			 CG_LOAD_OK);
	assert_false(mismatch);
	assert_true(cg_member_assignment_equal(&m, &back));
	free(buf);
	arena_release(&ar);
	cg_member_assignment_free(&m);
	cg_member_assignment_free(&back);
}

static void test_unknown_state_byte(void **state)
{
	(void)state;
	assert_int_equal(cg_member_state_from_byte(2), CG_MEMBER_UNRELEASED_PARTITIONS);
	assert_int_equal(cg_member_state_from_byte(3), CG_MEMBER_UNKNOWN);
	assert_int_equal(cg_member_state_from_byte(-1), CG_MEMBER_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_is_kafka_uuid_order),
		cmocka_unit_test(test_set_operations_keep_first_epochs),
		cmocka_unit_test(test_for_each_stops),
		cmocka_unit_test(test_from_unsorted_merges_duplicates),
		cmocka_unit_test(test_from_assignor_result),
		cmocka_unit_test(test_from_records_epochs),
		cmocka_unit_test(test_from_records_refuses_bad_records),
		cmocka_unit_test(test_member_record_round_trip),
		cmocka_unit_test(test_unknown_state_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
