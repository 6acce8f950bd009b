/* The uniform assignor (core/group/assignor_uniform.c), homogeneous and
 * heterogeneous: the cases of Kafka's UniformHomogeneousAssignmentBuilderTest
 * and UniformHeterogeneousAssignmentBuilderTest (our own tests of the same
 * properties: balance, stickiness, each partition once, unsubscribed topics
 * never, added partitions and members, deleted topics and members), Kafka's
 * errors, determinism whatever the input order, and a group of 1,000 members
 * over 10,000 partitions. */
#include "assignor_fixture.h"
#include "core/group/assignor_internal.h"

#include <time.h>

enum { LARGE_MEMBERS = 1000, LARGE_TOPICS = 100, LARGE_PARTITIONS_PER_TOPIC = 100 };
/* Generous for ASan; the Release build takes a few milliseconds. */
static const double LARGE_SECONDS_MAX = 10.0;

/* Kafka's orders: Uuid.compareTo on signed halves, String.compareTo on
 * UTF-16 code units (a surrogate pair sorts below U+E000..U+FFFF). */
static void test_kafka_orders(void **state)
{
	(void)state;
	assert_true(assignor_uuid_compare(fx_uuid(1), fx_uuid(2)) < 0);
	assert_true(assignor_uuid_compare(fx_uuid(3), fx_uuid(1)) > 0);
	assert_int_equal(assignor_uuid_compare(fx_uuid(4), fx_uuid(4)), 0);
	struct kstr emoji = kstr_from_cstr("a\xf0\x9f\x98\x80"), fullwidth = kstr_from_cstr("a\xef\xbd\x81");
	struct kstr hangul = kstr_from_cstr("a\xed\x95\x9c");
	assert_true(assignor_java_string_compare(emoji, fullwidth) < 0);
	assert_true(assignor_java_string_compare(fullwidth, emoji) > 0);
	assert_true(assignor_java_string_compare(hangul, emoji) < 0);
	assert_true(assignor_java_string_compare(kstr_from_cstr("ab"), kstr_from_cstr("abc")) < 0);
	assert_true(assignor_java_string_compare(kstr_from_cstr("b"), kstr_from_cstr("abc")) > 0);
	assert_int_equal(assignor_java_string_compare(kstr_from_cstr("x"), kstr_from_cstr("x")), 0);
	enum assignor_kind kind;
	assert_true(assignor_by_name(kstr_from_cstr("range"), &kind) && kind == ASSIGNOR_RANGE);
	assert_true(assignor_by_name(kstr_from_cstr("uniform"), &kind) && kind == ASSIGNOR_UNIFORM);
	assert_false(assignor_by_name(kstr_from_cstr("sticky"), &kind));
	int32_t counts[] = { 3, 3, 2 };
	assert_int_equal(assignor_subscription_type(counts, 2, 3), ASSIGNOR_HOMOGENEOUS);
	assert_int_equal(assignor_subscription_type(counts, 3, 3), ASSIGNOR_HETEROGENEOUS);
	assert_int_equal(assignor_subscription_type(NULL, 0, 3), ASSIGNOR_HOMOGENEOUS);
}

static void test_no_subscriptions(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_subscribe(f, "A", -1);
	fx_subscribe(f, "B", -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	assert_int_equal(fx_count(f, "A"), 0);
	assert_int_equal(fx_count(f, "B"), 0);
	fx_free(f);
}

static void test_unknown_topic_is_kafka_error(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_subscribe(f, "A", 1, 2, -1);
	assert_int_equal(fx_try(f, ASSIGNOR_UNIFORM, ASSIGNOR_HOMOGENEOUS), KERR_UNKNOWN_SERVER_ERROR);
	assert_non_null(strstr(f->err, "doesn't exist in the topic metadata"));
	fx_subscribe(f, "B", 1, -1);
	assert_int_equal(fx_try(f, ASSIGNOR_UNIFORM, ASSIGNOR_HETEROGENEOUS), KERR_UNKNOWN_SERVER_ERROR);
	fx_free(f);
}

static void test_inconsistent_input_is_an_error(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_topic(f, 2, 3);
	fx_subscribe(f, "A", 1, -1);
	fx_subscribe(f, "B", 1, 2, -1);
	assert_int_equal(fx_try(f, ASSIGNOR_UNIFORM, ASSIGNOR_HOMOGENEOUS), KERR_UNKNOWN_SERVER_ERROR);
	assert_non_null(strstr(f->err, "homogeneous"));
	fx_subscribe(f, "B", 1, -1);
	snprintf(f->members[1].id, sizeof(f->members[1].id), "A");
	assert_int_equal(fx_try(f, ASSIGNOR_UNIFORM, ASSIGNOR_HOMOGENEOUS), KERR_UNKNOWN_SERVER_ERROR);
	assert_non_null(strstr(f->err, "twice"));
	snprintf(f->members[1].id, sizeof(f->members[1].id), "B");
	f->topics[1].topic_id = f->topics[0].topic_id;
	assert_int_equal(fx_try(f, ASSIGNOR_UNIFORM, ASSIGNOR_HOMOGENEOUS), KERR_UNKNOWN_SERVER_ERROR);
	assert_non_null(strstr(f->err, "twice"));
	fx_free(f);
}

static void test_first_assignment_two_members_two_topics(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_topic(f, 2, 3);
	fx_subscribe(f, "A", 1, 2, -1);
	fx_subscribe(f, "B", 2, 1, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	/* Slots in Kafka's topic id order (topic 1's id is negative), then the
	 * members by id. */
	fx_expect(f, "A", 1, 0, 1, 2, -1);
	fx_expect(f, "B", 2, 0, 1, 2, -1);
	assert_true(f->result.members[0].changed && f->result.members[1].changed);
	fx_free(f);
}

static void test_more_members_than_partitions(void **state)
{
	(void)state;
	struct fx *f = fx_group(1, 2, 3);
	fx_run(f, ASSIGNOR_UNIFORM);
	/* The extra partitions go to the last members: the first ones give up
	 * their extra slot while enough members remain to take it. */
	assert_int_equal(fx_count(f, "A"), 0);
	fx_expect(f, "B", 1, 0, -1);
	fx_expect(f, "C", 1, 1, -1);
	fx_free(f);
}

static void test_unbalanced_current_assignment(void **state)
{
	(void)state;
	struct fx *f = fx_group(2, 3, 2);
	fx_give(f, "A", 1, 0, 3);
	fx_give(f, "A", 2, 0, 2);
	fx_give(f, "B", 2, 2, 1);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 2);
	fx_expect(f, "A", 1, 0, 1, 2, -1);
	fx_expect(f, "A", 2, -1);
	fx_expect(f, "B", 2, 0, 1, 2, -1);
	fx_free(f);
}

static void test_member_added_moves_the_minimum(void **state)
{
	(void)state;
	struct fx *f = fx_group(2, 3, 2);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_subscribe(f, "C", 1, 2, -1);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 2);
	fx_expect(f, "A", 1, 0, 1, -1);
	fx_expect(f, "B", 2, 0, 1, -1);
	fx_expect(f, "C", 1, 2, -1);
	fx_expect(f, "C", 2, 2, -1);
	fx_free(f);
}

static void test_member_removed_keeps_the_others(void **state)
{
	(void)state;
	struct fx *f = fx_group(2, 3, 3);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_remove_member(f, "B");
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 2);
	assert_int_equal(fx_count(f, "A"), 3);
	assert_int_equal(fx_count(f, "C"), 3);
	/* Neither gave up anything. */
	fx_expect(f, "A", 1, 0, 1, 2, -1);
	fx_free(f);
}

static void test_partitions_added(void **state)
{
	(void)state;
	struct fx *f = fx_group(1, 3, 2);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_expect(f, "A", 1, 0, -1);
	fx_expect(f, "B", 1, 1, 2, -1);
	fx_topic(f, 1, 5);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 2);
	fx_expect(f, "A", 1, 0, 3, -1);
	fx_expect(f, "B", 1, 1, 2, 4, -1);
	fx_free(f);
}

/* KAFKA-18688: a member that holds the extra partition keeps it even when an
 * earlier member (by id) could have claimed the extra slot. */
static void test_extra_partition_stays(void **state)
{
	(void)state;
	struct fx *f = fx_group(1, 7, 3);
	fx_give(f, "A", 1, 0, 2);
	fx_give(f, "B", 1, 2, 3);
	fx_give(f, "C", 1, 5, 2);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 0);
	for (int32_t i = 0; i < 3; i++)
		assert_false(f->result.members[i].changed);
	fx_free(f);
}

static void test_stable_when_run_again(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 7);
	fx_topic(f, 2, 5);
	fx_topic(f, 3, 1);
	const char *names[] = { "m3", "m1", "m4", "m2" };
	for (int i = 0; i < 4; i++)
		fx_subscribe(f, names[i], 1, 2, 3, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 0);
	for (int32_t i = 0; i < f->member_count; i++) {
		assert_false(f->result.members[i].changed);
		int32_t n = f->result.members[i].partition_count;
		assert_true(n == 3 || n == 4);
	}
	/* Heterogeneous too. */
	fx_subscribe(f, "m2", 1, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 0);
	fx_free(f);
}

static void test_subscription_removed_and_topic_deleted(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 4);
	fx_topic(f, 2, 4);
	fx_topic(f, 3, 2);
	fx_subscribe(f, "A", 1, 2, 3, -1);
	fx_subscribe(f, "B", 1, 2, 3, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_subscribe(f, "A", 1, 3, -1);
	fx_subscribe(f, "B", 1, 3, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	assert_int_equal(fx_count(f, "A"), 3);
	assert_int_equal(fx_count(f, "B"), 3);
	fx_expect(f, "A", 2, -1);
	fx_expect(f, "B", 2, -1);
	/* Topic 3 deleted: the coordinator drops it from the subscriptions (its
	 * name has no id any more) and the metadata. */
	fx_delete_topic(f, 3);
	fx_subscribe(f, "A", 1, -1);
	fx_subscribe(f, "B", 1, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	assert_int_equal(fx_count(f, "A"), 2);
	assert_int_equal(fx_count(f, "B"), 2);
	fx_free(f);
}

static void test_invalid_current_partitions_dropped(void **state)
{
	(void)state;
	struct fx *f = fx_group(1, 2, 2);
	fx_give(f, "A", 1, 0, 1);
	fx_give(f, "B", 1, 0, 1);  /* claimed twice: A, first by id, keeps it */
	fx_give(f, "B", 1, 7, 1);  /* beyond the partition count */
	fx_give(f, "B", 9, 0, 1);  /* a deleted topic */
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_expect(f, "A", 1, 0, -1);
	fx_expect(f, "B", 1, 1, -1);
	assert_false(fx_result_of(f, "A")->changed);
	assert_true(fx_result_of(f, "B")->changed);
	fx_free(f);
}

static void test_heterogeneous_member_without_subscription(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 3);
	fx_topic(f, 2, 2);
	fx_subscribe(f, "A", 1, -1);
	fx_subscribe(f, "B", -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_expect(f, "A", 1, 0, 1, 2, -1);
	assert_int_equal(fx_count(f, "B"), 0);
	fx_free(f);
}

/* The subscribers of each topic differ by at most one partition in total. */
static void check_topic_balance(const struct fx *f)
{
	for (int32_t t = 0; t < f->topic_count; t++) {
		int32_t lo = INT32_MAX, hi = -1;
		for (int32_t i = 0; i < f->member_count; i++) {
			if (!fx_member_subscribes(&f->members[i], f->topics[t].topic_id))
				continue;
			int32_t n = f->result.members[i].partition_count;
			lo = n < lo ? n : lo;
			hi = n > hi ? n : hi;
		}
		if (hi >= 0)
			assert_true(hi - lo <= 1);
	}
}

static void test_heterogeneous_overlapping(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	fx_topic(f, 1, 6);
	fx_topic(f, 2, 6);
	fx_subscribe(f, "A", 1, -1);
	fx_subscribe(f, "B", 1, 2, -1);
	fx_subscribe(f, "C", 2, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	check_topic_balance(f);
	fx_expect(f, "A", 1, 0, 2, 4, -1);
	fx_expect(f, "B", 1, 1, 3, 5, -1);
	fx_expect(f, "B", 2, 4, -1);
	fx_expect(f, "C", 2, 0, 1, 2, 3, 5, -1);
	/* A new subscriber of topic 2 takes only from it, and the balancing
	 * moves what it must. */
	fx_subscribe(f, "D", 2, -1);
	int32_t moved = fx_run(f, ASSIGNOR_UNIFORM);
	check_topic_balance(f);
	assert_int_equal(fx_count(f, "D"), moved);
	/* B drops topic 1: A takes all of it, B keeps its topic 2 share. */
	fx_subscribe(f, "B", 2, -1);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_expect(f, "A", 1, 0, 1, 2, 3, 4, 5, -1);
	assert_int_equal(fx_count(f, "B") + fx_count(f, "C") + fx_count(f, "D"), 6);
	check_topic_balance(f);
	fx_free(f);
}

/* The same group given in another order gives the same assignment. */
static void test_deterministic_whatever_the_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(), *g = fx_new();
	const char *names[] = { "zed", "alpha", "Mid", "\xef\xbd\x81", "\xf0\x9f\x98\x80" };
	for (int i = 0; i < 5; i++) {
		fx_topic(f, i + 1, 3 + i);
		fx_topic(g, 5 - i, 7 - i);
	}
	for (int i = 0; i < 5; i++) {
		fx_subscribe(f, names[i], 1, 2, 3, i == 0 ? 4 : -1, -1);
		fx_subscribe(g, names[4 - i], 3, 2, 1, i == 4 ? 4 : -1, -1);
	}
	fx_give(f, "alpha", 2, 0, 3);
	fx_give(g, "alpha", 2, 0, 3);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_run(g, ASSIGNOR_UNIFORM);
	for (int i = 0; i < 5; i++) {
		const struct assignor_member_result *a = fx_result_of(f, names[i]);
		const struct assignor_member_result *b = fx_result_of(g, names[i]);
		assert_int_equal(a->topic_count, b->topic_count);
		for (int32_t k = 0; k < a->topic_count; k++) {
			assert_memory_equal(&a->topics[k].topic_id, &b->topics[k].topic_id, 16);
			assert_int_equal(a->topics[k].partition_count, b->topics[k].partition_count);
			assert_memory_equal(a->topics[k].partitions, b->topics[k].partitions,
					    (size_t)a->topics[k].partition_count * sizeof(int32_t));
		}
	}
	fx_free(f);
	fx_free(g);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void large_group(struct fx *f, bool heterogeneous)
{
	for (int t = 0; t < LARGE_TOPICS; t++)
		fx_topic(f, t, LARGE_PARTITIONS_PER_TOPIC);
	for (int i = 0; i < LARGE_MEMBERS; i++) {
		char name[FX_NAME_BYTES];
		snprintf(name, sizeof(name), "member-%04d", i);
		struct fx_member *m = fx_subscribe(f, name, -1);
		int count = heterogeneous ? 3 : LARGE_TOPICS;
		m->subs = malloc((size_t)count * sizeof(*m->subs));
		assert_non_null(m->subs);
		for (int t = 0; t < count; t++)
			m->subs[t] = fx_uuid(heterogeneous ? (i * (7 * t + 1) + 3 * t) % LARGE_TOPICS : t);
		m->sub_count = count;
	}
}

static void test_large_homogeneous(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	large_group(f, false);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fx_run(f, ASSIGNOR_UNIFORM);
	for (int32_t i = 0; i < f->member_count; i++)
		assert_int_equal(f->result.members[i].partition_count, 10);
	/* One more member: it takes 9, from the members that must give one up;
	 * nothing else moves. */
	struct fx_member *m = fx_subscribe(f, "member-9999", -1);
	m->subs = malloc(LARGE_TOPICS * sizeof(*m->subs));
	assert_non_null(m->subs);
	for (int t = 0; t < LARGE_TOPICS; t++)
		m->subs[t] = fx_uuid(t);
	m->sub_count = LARGE_TOPICS;
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 9);
	assert_int_equal(fx_count(f, "member-9999"), 9);
	assert_true(seconds_since(&t0) < LARGE_SECONDS_MAX);
	fx_free(f);
}

static void test_large_heterogeneous(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	large_group(f, true);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fx_run(f, ASSIGNOR_UNIFORM);
	fx_remove_member(f, "member-0500");
	fx_run(f, ASSIGNOR_UNIFORM);
	assert_int_equal(fx_run(f, ASSIGNOR_UNIFORM), 0);
	assert_true(seconds_since(&t0) < LARGE_SECONDS_MAX);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_orders),
		cmocka_unit_test(test_no_subscriptions),
		cmocka_unit_test(test_unknown_topic_is_kafka_error),
		cmocka_unit_test(test_inconsistent_input_is_an_error),
		cmocka_unit_test(test_first_assignment_two_members_two_topics),
		cmocka_unit_test(test_more_members_than_partitions),
		cmocka_unit_test(test_unbalanced_current_assignment),
		cmocka_unit_test(test_member_added_moves_the_minimum),
		cmocka_unit_test(test_member_removed_keeps_the_others),
		cmocka_unit_test(test_partitions_added),
		cmocka_unit_test(test_extra_partition_stays),
		cmocka_unit_test(test_stable_when_run_again),
		cmocka_unit_test(test_subscription_removed_and_topic_deleted),
		cmocka_unit_test(test_invalid_current_partitions_dropped),
		cmocka_unit_test(test_heterogeneous_member_without_subscription),
		cmocka_unit_test(test_heterogeneous_overlapping),
		cmocka_unit_test(test_deterministic_whatever_the_order),
		cmocka_unit_test(test_large_homogeneous),
		cmocka_unit_test(test_large_heterogeneous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
