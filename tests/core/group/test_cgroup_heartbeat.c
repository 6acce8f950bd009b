/* ConsumerGroupHeartbeat on one group (core/group/cgroup_heartbeat.c), driven
 * as clients drive it: Kafka's validation messages; a first member joining;
 * a second one joining, which the first must revoke for before it gets
 * anything; stale, newer and unknown epochs; leaving; a static member leaving
 * for now and returning under a new id; the group's size limit; a subscribed
 * topic deleted and one created. The records each step lists are checked in
 * Kafka's order, and no partition is ever held by two members. */
#include "cgroup_hb_fixture.h"

#include <stdio.h>
#include <stdlib.h>


/* The records of the last step: types, 't' marking a tombstone. */
static void expect_records(const struct fx *x, const char *want)
{
	char got[128] = "";
	size_t o = 0;
	for (uint32_t i = 0; i < x->r.records.count && o + 8 < sizeof(got); i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%d%s", i ? " " : "",
				      x->r.records.refs[i].type, x->r.records.refs[i].tombstone ? "t" : "");
	assert_false(x->r.records.failed);
	assert_string_equal(got, want);
}

/* Sets owned to what the member is assigned (a client reporting truthfully). */
static void owns_assigned(struct fx *x, const struct cgroup_member *m)
{
	assert_int_equal(cg_assignment_copy(&x->owned, &m->current.assigned), 0);
}

/* No partition is assigned or pending revocation at two members. */
static void expect_single_ownership(const struct fx *x)
{
	for (const struct cgroup_member *a = x->cg.members; a; a = a->next)
		for (const struct cgroup_member *b = a->next; b; b = b->next) {
			struct cg_assignment ha, hb;
			cg_assignment_init(&ha);
			cg_assignment_init(&hb);
			assert_int_equal(cg_assignment_union(&ha, &a->current.assigned,
							     &a->current.pending_revocation), 0);
			assert_int_equal(cg_assignment_union(&hb, &b->current.assigned,
							     &b->current.pending_revocation), 0);
			assert_false(cg_assignment_intersects(&ha, &hb));
			cg_assignment_free(&ha);
			cg_assignment_free(&hb);
		}
}

static void expect_invalid(struct cgroup_heartbeat_args a, int16_t code, const char *msg)
{
	char got[CGROUP_MESSAGE_BYTES];
	assert_int_equal(cgroup_heartbeat_validate(GROUP, &a, &SETTINGS, got, sizeof(got)), code);
	assert_string_equal(got, msg);
}

static void test_validation_messages(void **state)
{
	(void)state;
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	expect_invalid(args(S(""), 5), KERR_INVALID_REQUEST, "MemberId can't be empty.");
	expect_invalid(args(S("  "), 0), KERR_INVALID_REQUEST, "MemberId can't be empty.");
	struct cgroup_heartbeat_args a = args(S("m"), 0);
	expect_invalid(a, KERR_INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request.");
	a.rebalance_timeout_ms = 100;
	expect_invalid(a, KERR_INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
	a.owned = &empty;
	expect_invalid(a, KERR_INVALID_REQUEST,
		       "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
		       "(re-)joining.");
	a.owned_topic_count = 1;
	a.topic_name_count = 0;
	expect_invalid(a, KERR_INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
	a.owned_topic_count = 0;
	char msg[CGROUP_MESSAGE_BYTES];
	assert_int_equal(cgroup_heartbeat_validate(GROUP, &a, &SETTINGS, msg, sizeof(msg)), KERR_NONE);
	assert_int_equal(cgroup_heartbeat_validate(S(" \t"), &a, &SETTINGS, msg, sizeof(msg)),
			 KERR_INVALID_REQUEST);
	assert_string_equal(msg, "GroupId can't be empty.");
	a.instance_id = S(" ");
	expect_invalid(a, KERR_INVALID_REQUEST, "InstanceId can't be empty.");
	a.instance_id = NIL;
	a.rack_id = S("");
	expect_invalid(a, KERR_INVALID_REQUEST, "RackId can't be empty.");
	a.rack_id = NIL;
	a.server_assignor = S("sticky");
	expect_invalid(a, KERR_UNSUPPORTED_ASSIGNOR,
		       "ServerAssignor sticky is not supported. Supported assignors: uniform, range.");
	a.server_assignor = S("range");
	assert_int_equal(cgroup_heartbeat_validate(GROUP, &a, &SETTINGS, msg, sizeof(msg)), KERR_NONE);
	expect_invalid(args(S("m"), -2), KERR_INVALID_REQUEST, "InstanceId can't be null.");
	expect_invalid(args(S("m"), -3), KERR_INVALID_REQUEST, "MemberEpoch is invalid.");
	struct cgroup_heartbeat_args v0 = join_args(S(""), T1, 1, &empty);
	v0.version = 0;
	assert_int_equal(cgroup_heartbeat_validate(GROUP, &v0, &SETTINGS, msg, sizeof(msg)), KERR_NONE);
	cg_assignment_free(&empty);
}

static void test_first_member_gets_everything(void **state)
{
	struct fx *x = *state;
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &x->owned);
	run(x, &a);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_non_null(x->r.member);
	/* member, group epoch, target member, target epoch, current assignment */
	expect_records(x, "5 3 7 6 8");
	assert_int_equal(x->cg.group_epoch, 1);
	assert_int_equal(x->cg.assignment_epoch, 1);
	assert_int_equal(x->r.member_epoch, 1);
	assert_true(x->r.with_assignment);
	cf_expect(&x->r.member->current.assigned, 1, 1, 0, 1, 2, 3, 4, 5, -1, -1);
	assert_int_equal(x->r.member->current.state, CG_MEMBER_STABLE);

	/* A steady heartbeat changes nothing and carries no assignment. */
	struct cgroup_heartbeat_args hb = args(S("A"), 1);
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	expect_records(x, "");
	assert_false(x->r.with_assignment);
	assert_int_equal(x->r.member_epoch, 1);
}

static void test_second_member_waits_for_the_revocation(void **state)
{
	struct fx *x = *state;
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &empty);
	run(x, &a);
	struct cgroup_member *ma = x->r.member;
	struct cgroup_heartbeat_args b = join_args(S("B"), T1, 1, &empty);
	run(x, &b);
	assert_int_equal(x->r.error, KERR_NONE);
	struct cgroup_member *mb = x->r.member;
	assert_int_equal(x->cg.group_epoch, 2);
	/* B's three partitions are still A's: it waits at the new epoch. */
	assert_int_equal(mb->current.member_epoch, 2);
	assert_int_equal(mb->current.state, CG_MEMBER_UNRELEASED_PARTITIONS);
	assert_int_equal(cg_assignment_count(&mb->current.assigned), 0);
	assert_int_equal(cg_assignment_count(&mb->target), 3);
	expect_single_ownership(x);

	/* A learns it must give three up; it keeps its epoch until it has. */
	struct cgroup_heartbeat_args ha = args(S("A"), 1);
	owns_assigned(x, ma);
	ha.owned = &x->owned;
	run(x, &ha);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->r.member_epoch, 1);
	assert_true(x->r.revoking);
	assert_true(x->r.with_assignment);
	assert_int_equal(cg_assignment_count(&ma->current.assigned), 3);
	assert_int_equal(cg_assignment_count(&ma->current.pending_revocation), 3);
	expect_records(x, "8");
	expect_single_ownership(x);

	/* B asks again before A is done: nothing yet. */
	struct cgroup_heartbeat_args hb = args(S("B"), 2);
	run(x, &hb);
	assert_int_equal(cg_assignment_count(&mb->current.assigned), 0);

	/* A reports the three gone and moves to epoch 2. */
	owns_assigned(x, ma);
	run(x, &ha);
	assert_int_equal(x->r.member_epoch, 2);
	assert_false(x->r.revoking);
	assert_int_equal(ma->current.state, CG_MEMBER_STABLE);
	expect_single_ownership(x);

	/* Now B gets them. */
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_true(x->r.with_assignment);
	assert_int_equal(cg_assignment_count(&mb->current.assigned), 3);
	assert_int_equal(mb->current.state, CG_MEMBER_STABLE);
	assert_true(cg_assignment_same_partitions(&mb->current.assigned, &mb->target));
	expect_single_ownership(x);
	cg_assignment_free(&empty);
}

static void test_epochs_fence_and_unknown_members(void **state)
{
	struct fx *x = *state;
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &x->owned);
	run(x, &a);
	struct cgroup_heartbeat_args hb = args(S("A"), 7);
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_FENCED_MEMBER_EPOCH);
	assert_null(x->r.member);
	assert_non_null(strstr(x->r.message, "greater member epoch (7)"));
	expect_records(x, "");

	/* B joins; A revokes and moves to epoch 2. */
	struct cgroup_member *ma = cgroup_member_find(&x->cg, S("A"));
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	struct cgroup_heartbeat_args b = join_args(S("B"), T1, 1, &empty);
	run(x, &b);
	hb = args(S("A"), 1);
	hb.owned = &x->owned;
	owns_assigned(x, ma);
	run(x, &hb);
	owns_assigned(x, ma);
	run(x, &hb);
	assert_int_equal(x->r.member_epoch, 2);

	/* The previous epoch with a subset of its partitions is a lost answer:
	 * accepted. */
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->r.member_epoch, 2);

	/* Without the owned partitions it is not. */
	hb.owned = NULL;
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_FENCED_MEMBER_EPOCH);
	assert_non_null(strstr(x->r.message, "smaller member epoch (1)"));

	/* Fenced, it rejoins with epoch 0 under its id and starts afresh. */
	struct cgroup_heartbeat_args rejoin = join_args(S("A"), T1, 1, &empty);
	run(x, &rejoin);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->r.member_epoch, 2);
	assert_true(x->r.with_assignment);
	assert_int_equal(cg_assignment_count(&ma->current.assigned), 3);
	expect_single_ownership(x);
	cg_assignment_free(&empty);

	hb = args(S("Z"), 3);
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_UNKNOWN_MEMBER_ID);
	assert_string_equal(x->r.message, "Member Z is not a member of group g.");
}

static void test_leave_bumps_and_writes_tombstones(void **state)
{
	struct fx *x = *state;
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &empty);
	run(x, &a);
	struct cgroup_heartbeat_args b = join_args(S("B"), T1, 1, &empty);
	run(x, &b);
	int32_t epoch = x->cg.group_epoch;
	struct cgroup_heartbeat_args leave = args(S("A"), -1);
	run(x, &leave);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->r.member_epoch, -1);
	assert_null(x->r.member);
	expect_records(x, "8t 7t 5t 3");
	assert_int_equal(x->cg.group_epoch, epoch + 1);
	assert_int_equal(x->cg.member_count, 1);

	/* B's next heartbeat gets the new target: all six, at once. */
	struct cgroup_heartbeat_args hb = args(S("B"), x->cg.members->current.member_epoch);
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(cg_assignment_count(&x->r.member->current.assigned), 6);
	assert_int_equal(x->r.member_epoch, epoch + 1);

	run(x, &leave);
	assert_int_equal(x->r.error, KERR_UNKNOWN_MEMBER_ID);
	cg_assignment_free(&empty);
}

static void test_static_member_leaves_and_returns(void **state)
{
	struct fx *x = *state;
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	struct cgroup_heartbeat_args a = join_args(S("A1"), T12, 2, &empty);
	a.instance_id = S("i");
	run(x, &a);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(cg_assignment_count(&x->r.member->current.assigned), 10);

	/* Another member id under the same instance while it is there. */
	struct cgroup_heartbeat_args other = join_args(S("A2"), T12, 2, &empty);
	other.instance_id = S("i");
	run(x, &other);
	assert_int_equal(x->r.error, KERR_UNRELEASED_INSTANCE_ID);

	struct cgroup_heartbeat_args hb = args(S("A2"), 1);
	hb.instance_id = S("i");
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_FENCED_INSTANCE_ID);

	struct cgroup_heartbeat_args leave = args(S("A1"), -2);
	leave.instance_id = S("i");
	run(x, &leave);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->r.member_epoch, -2);
	expect_records(x, "8");
	int32_t epoch = x->cg.group_epoch;

	/* It returns under a new id and gets its partitions straight back. */
	run(x, &other);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->cg.member_count, 1);
	assert_int_equal(x->cg.group_epoch, epoch);
	assert_int_equal(cg_assignment_count(&x->r.member->current.assigned), 10);
	assert_int_equal(x->r.member_epoch, epoch);
	/* the old id's tombstones, the new id's member, target and current
	 * records, then its reconciled current assignment */
	expect_records(x, "8t 7t 5t 5 7 8 8");
	assert_null(cgroup_member_find(&x->cg, S("A1")));
	cg_assignment_free(&empty);
}

static void test_group_size_limit(void **state)
{
	struct fx *x = *state;
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	const char *ids[] = { "A", "B", "C", "D" };
	for (int i = 0; i < 4; i++) {
		struct cgroup_heartbeat_args a =
			join_args((struct kstr){ ids[i], 1 }, T1, 1, &empty);
		run(x, &a);
		assert_int_equal(x->r.error, i < 3 ? KERR_NONE : KERR_GROUP_MAX_SIZE_REACHED);
	}
	assert_string_equal(x->r.message, "The consumer group has reached its maximum capacity of 3 members.");
	/* A member already in may rejoin. */
	struct cgroup_heartbeat_args again = join_args(S("A"), T1, 1, &empty);
	run(x, &again);
	assert_int_equal(x->r.error, KERR_NONE);
	cg_assignment_free(&empty);
}

static void test_topic_changes_bump_the_epoch(void **state)
{
	struct fx *x = *state;
	struct cg_assignment empty;
	cg_assignment_init(&empty);
	const struct kstr t13[] = { { "t1", 2 }, { "t3", 2 } };
	struct cgroup_heartbeat_args a = join_args(S("A"), t13, 2, &empty);
	run(x, &a);
	struct cgroup_member *m = x->r.member;
	assert_int_equal(cg_assignment_count(&m->current.assigned), 6);

	/* t3 is created with 2 partitions: the next heartbeat assigns them. */
	x->im.partitions[3] = 2;
	struct cgroup_heartbeat_args hb = args(S("A"), 1);
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->cg.group_epoch, 2);
	assert_int_equal(x->r.member_epoch, 2);
	assert_true(x->r.with_assignment);
	assert_int_equal(cg_assignment_count(&m->current.assigned), 8);

	/* t1 is deleted: its partitions are revoked. */
	x->im.partitions[1] = 0;
	hb = args(S("A"), 2);
	owns_assigned(x, m);
	hb.owned = &x->owned;
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->cg.group_epoch, 3);
	assert_int_equal(cg_assignment_count(&m->target), 2);
	owns_assigned(x, m);
	run(x, &hb);
	hb = args(S("A"), x->r.member_epoch);
	cg_assignment_clear(&x->owned);
	assert_int_equal(cg_assignment_insert(&x->owned, cf_topic(3), 0, 3), 0);
	assert_int_equal(cg_assignment_insert(&x->owned, cf_topic(3), 1, 3), 0);
	hb.owned = &x->owned;
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->r.member_epoch, 3);
	assert_int_equal(cg_assignment_count(&m->current.assigned), 2);
	assert_int_equal(m->current.state, CG_MEMBER_STABLE);
	cg_assignment_free(&empty);
}

/* Subscriptions are sets: repeats count once, order does not matter, and a
 * member naming CGROUP_SUBSCRIBED_NAMES_MAX topics costs a sort, not a
 * search per name (quadratic, it took minutes). */
static void test_subscriptions_are_sets(void **state)
{
	struct fx *x = *state;
	const struct kstr twice[] = { { "t2", 2 }, { "t1", 2 }, { "t2", 2 } };
	struct cgroup_heartbeat_args a = join_args(S("A"), twice, 3, &x->owned);
	run(x, &a);
	assert_int_equal(x->r.error, KERR_NONE);
	struct cgroup_member *m = x->r.member;
	assert_int_equal(m->topic_name_count, 2);
	assert_true(cgroup_member_names_equal(m, T12, 2));
	assert_int_equal(x->cg.name_count, 2);

	/* The same set again is no change: no record, no epoch. */
	int32_t epoch = x->cg.group_epoch;
	struct cgroup_heartbeat_args hb = args(S("A"), x->r.member_epoch);
	hb.topic_names = T12;
	hb.topic_name_count = 2;
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	expect_records(x, "");
	assert_int_equal(x->cg.group_epoch, epoch);

	enum { MANY = CGROUP_SUBSCRIBED_NAMES_MAX };
	struct kstr *names = calloc(MANY, sizeof(*names));
	char *text = calloc(MANY, 8);
	assert_non_null(names);
	assert_non_null(text);
	for (int i = 0; i < MANY; i++) {
		/* every name twice over the list; t1 among them */
		int n = snprintf(text + 8 * i, 8, i == 0 ? "t1" : "x%d", i % (MANY / 2));
		names[i] = (struct kstr){ text + 8 * i, n };
	}
	struct cgroup_heartbeat_args b = join_args(S("B"), names, MANY, &x->owned);
	run(x, &b);
	assert_int_equal(x->r.error, KERR_NONE);
	/* x0 is named once ("t1" took its first place), the others twice */
	assert_int_equal(x->r.member->topic_name_count, MANY / 2 + 1);
	assert_int_equal(x->cg.name_count, MANY / 2 + 2);
	for (int32_t i = 0; i < x->cg.name_count; i++)
		if (kstr_eq(x->cg.names[i].name, S("t1")))
			assert_int_equal(x->cg.names[i].count, 2);
	struct cgroup_heartbeat_args leave = args(S("B"), -1);
	run(x, &leave);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->cg.name_count, 2);
	free(names);
	free(text);
}

/* With a known image generation the hash is kept until the generation (or
 * a subscription) moves: a partition count that changed under the same
 * generation is not seen, one published with a new generation is. */
static void test_metadata_hash_follows_the_generation(void **state)
{
	struct fx *x = *state;
	x->topics.generation = 7;
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &x->owned);
	run(x, &a);
	assert_int_equal(x->cg.group_epoch, 1);
	x->im.partitions[1] = 9;
	struct cgroup_heartbeat_args hb = args(S("A"), 1);
	run(x, &hb);
	assert_int_equal(x->cg.group_epoch, 1);
	x->topics.generation = 8;
	run(x, &hb);
	assert_int_equal(x->r.error, KERR_NONE);
	assert_int_equal(x->cg.group_epoch, 2);
	assert_int_equal(cg_assignment_count(&x->r.member->current.assigned), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_messages),
		cmocka_unit_test_setup_teardown(test_first_member_gets_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_member_waits_for_the_revocation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_epochs_fence_and_unknown_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave_bumps_and_writes_tombstones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_member_leaves_and_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_changes_bump_the_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions_are_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_hash_follows_the_generation, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
