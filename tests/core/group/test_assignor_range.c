/* The range assignor (core/group/assignor_range.c): the cases of Kafka's
 * RangeAssignorTest (our own tests): contiguous ranges per topic in member
 * order, co-partitioning, static members first and by instance id (the
 * stickiness Kafka 4.x's range assignor has), members beyond the partition
 * count, added partitions and members, removed members and subscriptions,
 * and Kafka's error for a topic missing from the metadata. */
#include "assignor_fixture.h"

static void make_static(struct fx *f, const char *id, const char *instance)
{
	struct fx_member *m = fx_find(f, id);
	assert_non_null(m);
	snprintf(m->instance, sizeof(m->instance), "%s", instance);
}

static void test_no_topics(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_subscribe(f, "A", -1);
	fx_run(f, ASSIGNOR_RANGE);
	assert_int_equal(fx_count(f, "A"), 0);
	fx_free(f);
}

static void test_unknown_topic_is_kafka_error(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_subscribe(f, "A", 2, -1);
	assert_int_equal(fx_try(f, ASSIGNOR_RANGE, ASSIGNOR_HOMOGENEOUS), KERR_UNKNOWN_SERVER_ERROR);
	assert_non_null(strstr(f->err, "doesn't exist in the topic metadata"));
	fx_free(f);
}

static void test_same_subscriptions_copartitioned(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_topic(f, 2, 3);
	fx_subscribe(f, "B", 1, 2, -1);
	fx_subscribe(f, "A", 2, 1, -1);
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "A", 1, 0, 1, -1);
	fx_expect(f, "A", 2, 0, 1, -1);
	fx_expect(f, "B", 1, 2, -1);
	fx_expect(f, "B", 2, 2, -1);
	fx_free(f);
}

static void test_different_subscriptions(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_topic(f, 2, 3);
	fx_topic(f, 3, 2);
	fx_subscribe(f, "A", 1, 2, -1);
	fx_subscribe(f, "B", 3, -1);
	fx_subscribe(f, "C", 2, 3, -1);
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "A", 1, 0, 1, 2, -1);
	fx_expect(f, "A", 2, 0, 1, -1);
	fx_expect(f, "B", 3, 0, -1);
	fx_expect(f, "C", 2, 2, -1);
	fx_expect(f, "C", 3, 1, -1);
	fx_free(f);
}

static void test_more_members_than_partitions(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 2);
	fx_subscribe(f, "C", 1, -1);
	fx_subscribe(f, "B", 1, -1);
	fx_subscribe(f, "A", 1, -1);
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "A", 1, 0, -1);
	fx_expect(f, "B", 1, 1, -1);
	assert_int_equal(fx_count(f, "C"), 0);
	/* One more member changes nothing for those before it. */
	fx_subscribe(f, "D", 1, -1);
	assert_int_equal(fx_run(f, ASSIGNOR_RANGE), 0);
	assert_int_equal(fx_count(f, "D"), 0);
	fx_free(f);
}

static void test_static_members_keep_their_ranges(void **state)
{
	(void)state;
	struct fx *f = fx_group(1, 5, 2);
	make_static(f, "A", "instance-2");
	make_static(f, "B", "instance-1");
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "B", 1, 0, 1, 2, -1);
	fx_expect(f, "A", 1, 3, 4, -1);
	/* Both restart with new member ids that sort the other way. */
	fx_remove_member(f, "A");
	fx_remove_member(f, "B");
	fx_subscribe(f, "Y", 1, -1);
	fx_subscribe(f, "X", 1, -1);
	make_static(f, "Y", "instance-2");
	make_static(f, "X", "instance-1");
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "X", 1, 0, 1, 2, -1);
	fx_expect(f, "Y", 1, 3, 4, -1);
	fx_free(f);
}

static void test_mixed_static_and_dynamic(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 4);
	fx_subscribe(f, "A", 1, -1);
	fx_subscribe(f, "Z", 1, -1);
	fx_subscribe(f, "M", 1, -1);
	make_static(f, "Z", "instance-1");
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "Z", 1, 0, 1, -1);
	fx_expect(f, "A", 1, 2, -1);
	fx_expect(f, "M", 1, 3, -1);
	fx_free(f);
}

static void test_partition_added(void **state)
{
	(void)state;
	struct fx *f = fx_group(2, 3, 2);
	fx_run(f, ASSIGNOR_RANGE);
	fx_topic(f, 1, 4);
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "A", 1, 0, 1, -1);
	fx_expect(f, "B", 1, 2, 3, -1);
	fx_expect(f, "A", 2, 0, 1, -1);
	fx_expect(f, "B", 2, 2, -1);
	assert_false(fx_result_of(f, "A")->changed);
	assert_true(fx_result_of(f, "B")->changed);
	fx_free(f);
}

static void test_member_added_and_removed(void **state)
{
	(void)state;
	struct fx *f = fx_group(1, 4, 2);
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "A", 1, 0, 1, -1);
	fx_expect(f, "B", 1, 2, 3, -1);
	fx_subscribe(f, "C", 1, -1);
	assert_int_equal(fx_run(f, ASSIGNOR_RANGE), 1);
	fx_expect(f, "A", 1, 0, 1, -1);
	fx_expect(f, "B", 1, 2, -1);
	fx_expect(f, "C", 1, 3, -1);
	fx_remove_member(f, "A");
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "B", 1, 0, 1, -1);
	fx_expect(f, "C", 1, 2, 3, -1);
	fx_free(f);
}

static void test_subscriptions_removed(void **state)
{
	(void)state;
	struct fx *f = fx_group(2, 3, 3);
	fx_run(f, ASSIGNOR_RANGE);
	fx_subscribe(f, "A", 2, -1);
	fx_subscribe(f, "B", -1);
	fx_run(f, ASSIGNOR_RANGE);
	fx_expect(f, "A", 1, -1);
	fx_expect(f, "A", 2, 0, 1, -1);
	assert_int_equal(fx_count(f, "B"), 0);
	fx_expect(f, "C", 1, 0, 1, 2, -1);
	fx_expect(f, "C", 2, 2, -1);
	assert_int_equal(fx_run(f, ASSIGNOR_RANGE), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_topics),
		cmocka_unit_test(test_unknown_topic_is_kafka_error),
		cmocka_unit_test(test_same_subscriptions_copartitioned),
		cmocka_unit_test(test_different_subscriptions),
		cmocka_unit_test(test_more_members_than_partitions),
		cmocka_unit_test(test_static_members_keep_their_ranges),
		cmocka_unit_test(test_mixed_static_and_dynamic),
		cmocka_unit_test(test_partition_added),
		cmocka_unit_test(test_member_added_and_removed),
		cmocka_unit_test(test_subscriptions_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
