/* Reconciliation of consumer-protocol members (core/group/cgroup_reconcile.c):
 * each transition of Kafka's CurrentAssignmentBuilder (our own cases, from
 * its rules), the subscription checks, the UNKNOWN state, KIP-1251's offset
 * commit check, and a random group simulation whose clients report their
 * owned partitions truthfully but late: no partition is ever held or owned by
 * two members, and every member reaches STABLE at the target epoch. */
#include "cgroup_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/group/cgroup_reconcile.h"

/* The group around the member under test: topics 1..3 subscribed unless
 * changed, and the partition epochs of the other members. */
struct rx {
	struct cg_epochs epochs;
	struct kuuid subs[8];
	struct cgroup_reconcile_group g;
	struct cg_member_assignment cur, next;
	struct cg_assignment target, owned, other;
	bool changed;
};

static struct rx *rx_new(void)
{
	struct rx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	cg_epochs_init(&x->epochs);
	cg_member_assignment_init(&x->cur);
	cg_member_assignment_init(&x->next);
	cg_assignment_init(&x->target);
	cg_assignment_init(&x->owned);
	cg_assignment_init(&x->other);
	for (int i = 0; i < 3; i++)
		x->subs[i] = cf_topic(i + 1);
	x->g = (struct cgroup_reconcile_group){ &x->epochs, x->subs, 3, false };
	return x;
}

static void rx_free(struct rx *x)
{
	cg_epochs_free(&x->epochs);
	cg_member_assignment_free(&x->cur);
	cg_member_assignment_free(&x->next);
	cg_assignment_free(&x->target);
	cg_assignment_free(&x->owned);
	cg_assignment_free(&x->other);
	free(x);
}

/* Another member (owner 9) holds x->other at epoch `epoch`. */
static void rx_other_holds(struct rx *x, int32_t epoch)
{
	char err[160];
	assert_int_equal(cg_epochs_add(&x->epochs, 9, epoch, &x->other, err, sizeof(err)),
			 CG_EPOCHS_OK);
}

static enum cgroup_reconcile_result rx_run(struct rx *x, int32_t target_epoch, bool owned_known)
{
	return cgroup_reconcile(&x->cur, target_epoch, &x->target, owned_known ? &x->owned : NULL,
				&x->g, &x->next, &x->changed);
}

static void rx_expect(struct rx *x, enum cg_member_state st, int32_t epoch, int32_t previous)
{
	assert_int_equal(x->next.state, st);
	assert_int_equal(x->next.member_epoch, epoch);
	assert_int_equal(x->next.previous_member_epoch, previous);
}

static void test_stable_at_target_stays(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 8, 0, 1, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 2, -1, -1);
	assert_int_equal(rx_run(x, 10, false), CG_RECONCILE_OK);
	assert_false(x->changed);
	assert_true(cg_member_assignment_equal(&x->cur, &x->next));
	rx_free(x);
}

static void test_stable_to_stable_new_epoch_keeps_epochs(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 8, 0, 1, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 1, -1, 2, CG_EPOCH_NONE, 3, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	assert_true(x->changed);
	rx_expect(x, CG_MEMBER_STABLE, 11, 10);
	/* Kept partitions keep the epoch they were given at; new ones the target's. */
	cf_expect(&x->next.assigned, 1, 8, 0, 1, -1, 2, 11, 3, -1, -1);
	assert_int_equal(x->next.pending_revocation.count, 0);
	rx_free(x);
}

static void test_stable_to_unrevoked(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, 1, -1, 2, 9, 4, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 2, -1, 2, CG_EPOCH_NONE, 5, -1, -1);
	cf_set(&x->owned, 1, 0, 0, 1, -1, 2, 0, 4, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	/* The member keeps its epoch and gets nothing new while it revokes. */
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, -1);
	cf_expect(&x->next.pending_revocation, 1, 10, 1, -1, 2, 9, 4, -1, -1);
	assert_true(x->changed);
	rx_free(x);
}

static void test_revocation_without_owned_waits(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, 1, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, -1, -1);
	assert_int_equal(rx_run(x, 11, false), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_expect(&x->next.pending_revocation, 1, 10, 1, -1, -1);
	rx_free(x);
}

static void test_already_revoked_goes_straight_to_target(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, 1, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 2, -1, -1);
	/* The client already gave partition 1 up. */
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 11, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 11, 2, -1, -1);
	assert_int_equal(x->next.pending_revocation.count, 0);
	rx_free(x);
}

static void test_stable_to_unreleased(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 1, 2, -1, -1);
	cf_set(&x->other, 1, 0, 2, -1, -1);
	rx_other_holds(x, 10);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	/* 1 is free and given; 2 waits for its holder. */
	rx_expect(x, CG_MEMBER_UNRELEASED_PARTITIONS, 11, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 11, 1, -1, -1);
	rx_free(x);
}

static void test_stable_to_unreleased_nothing_given(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 2, -1, -1);
	cf_set(&x->other, 1, 0, 2, -1, -1);
	rx_other_holds(x, 10);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNRELEASED_PARTITIONS, 11, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, -1);
	rx_free(x);
}

static void test_unrevoked_stays_while_owned(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->cur.pending_revocation, 1, 10, 1, 2, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 3, -1, -1);
	cf_set(&x->owned, 1, 0, 0, 2, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	assert_false(x->changed);
	assert_true(cg_member_assignment_equal(&x->cur, &x->next));
	assert_int_equal(rx_run(x, 11, false), CG_RECONCILE_OK);
	assert_false(x->changed);
	rx_free(x);
}

static void test_unrevoked_to_stable_once_revoked(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->cur.pending_revocation, 1, 10, 1, 2, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 3, -1, -1);
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 11, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 11, 3, -1, -1);
	assert_int_equal(x->next.pending_revocation.count, 0);
	rx_free(x);
}

static void test_unrevoked_to_unreleased_once_revoked(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->cur.pending_revocation, 1, 10, 1, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 3, 4, -1, -1);
	cf_set(&x->other, 1, 0, 4, -1, -1);
	rx_other_holds(x, 10);
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNRELEASED_PARTITIONS, 11, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 11, 3, -1, -1);
	rx_free(x);
}

/* A partition the member is revoking comes back in a newer target: the
 * member's own hold (in the epochs map) does not make it unreleased. */
static void test_own_pending_partition_is_not_unreleased(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->cur.pending_revocation, 1, 10, 1, -1, -1);
	char err[160];
	assert_int_equal(cg_epochs_update_member(&x->epochs, 0, NULL, &x->cur, err, sizeof(err)),
			 CG_EPOCHS_OK);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 1, -1, -1);
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 12, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 12, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 12, 1, -1, -1);
	rx_free(x);
}

static void test_unreleased_to_stable_when_released(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNRELEASED_PARTITIONS, 11, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 2, -1, -1);
	cf_set(&x->other, 1, 0, 2, -1, -1);
	rx_other_holds(x, 10);
	/* Still held: the same state, but previous moves to the epoch it had. */
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNRELEASED_PARTITIONS, 11, 11);
	assert_true(x->changed);
	char err[160];
	assert_int_equal(cg_epochs_remove(&x->epochs, 9, 10, &x->other, err, sizeof(err)),
			 CG_EPOCHS_OK);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 11, 11);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 11, 2, -1, -1);
	rx_free(x);
}

static void test_unreleased_to_unrevoked_on_new_target(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNRELEASED_PARTITIONS, 11, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, 1, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 1, -1, -1);
	cf_set(&x->owned, 1, 0, 0, 1, -1, -1);
	assert_int_equal(rx_run(x, 12, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 11, 11);
	cf_expect(&x->next.pending_revocation, 1, 10, 0, -1, -1);
	rx_free(x);
}

static void test_new_member_gets_free_partitions(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 1, -1, 3, CG_EPOCH_NONE, 0, -1, -1);
	assert_int_equal(rx_run(x, 5, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 5, 0);
	cf_expect(&x->next.assigned, 1, 5, 0, 1, -1, 3, 5, 0, -1, -1);
	rx_free(x);
}

static void test_unknown_state_is_fenced_unless_empty(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNKNOWN, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, 1, -1, -1);
	assert_int_equal(rx_run(x, 11, false), CG_RECONCILE_FENCED);
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_FENCED);
	cg_assignment_clear(&x->owned);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 11, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, 1, 11, 1, -1, -1);
	/* Revocations take the target epoch at once (Kafka passes it). */
	cf_set(&x->target, 1, CG_EPOCH_NONE, 1, -1, -1);
	assert_int_equal(rx_run(x, 11, false), CG_RECONCILE_FENCED);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 11, 10);
	cf_expect(&x->next.assigned, 1, 11, 1, -1, -1);
	rx_free(x);
}

static void test_unsubscribed_topic_is_revoked(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, 2, 10, 0, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, -1, 2, CG_EPOCH_NONE, 0, 1, -1, -1);
	/* Topic 2 was deleted: only 1 and 3 remain subscribed. */
	x->subs[1] = cf_topic(3);
	x->g.subscribed_count = 2;
	cf_set(&x->owned, 1, 0, 0, -1, 2, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, -1);
	cf_expect(&x->next.pending_revocation, 2, 10, 0, -1, -1);
	rx_free(x);
}

static void test_enforce_subscription_at_target_epoch(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 8, 0, -1, 2, 10, 0, -1, -1);
	cf_set(&x->target, 1, CG_EPOCH_NONE, 0, -1, 2, CG_EPOCH_NONE, 0, -1, -1);
	x->subs[1] = cf_topic(3);
	x->g.subscribed_count = 2;
	/* Without enforcement, a STABLE member at the target epoch stays. */
	assert_int_equal(rx_run(x, 10, true), CG_RECONCILE_OK);
	assert_false(x->changed);
	x->g.enforce_subscription = true;
	cf_set(&x->owned, 1, 0, 0, -1, 2, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 10, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_expect(&x->next.assigned, 1, 8, 0, -1, -1);
	cf_expect(&x->next.pending_revocation, 2, 10, 0, -1, -1);
	/* Already given up: dropped, the state stays. */
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 10, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_STABLE, 10, 10);
	cf_expect(&x->next.assigned, 1, 8, 0, -1, -1);
	assert_int_equal(x->next.pending_revocation.count, 0);
	/* Every topic subscribed: nothing to drop, no change. */
	x->subs[1] = cf_topic(2);
	x->g.subscribed_count = 3;
	assert_int_equal(rx_run(x, 10, true), CG_RECONCILE_OK);
	assert_false(x->changed);
	rx_free(x);
}

static void test_enforce_with_no_subscription_drops_all(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_STABLE, 10, 9);
	cf_set(&x->cur.assigned, 1, 8, 0, -1, -1);
	x->g.subscribed_count = 0;
	x->g.enforce_subscription = true;
	cf_set(&x->owned, 1, 0, 0, -1, -1);
	assert_int_equal(rx_run(x, 10, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	assert_int_equal(x->next.assigned.count, 0);
	cf_expect(&x->next.pending_revocation, 1, 8, 0, -1, -1);
	rx_free(x);
}

static void test_enforce_while_unrevoked(void **state)
{
	(void)state;
	struct rx *x = rx_new();
	cf_member(&x->cur, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_set(&x->cur.assigned, 1, 10, 0, -1, 2, 10, 5, -1, -1);
	cf_set(&x->cur.pending_revocation, 1, 10, 1, -1, -1);
	x->subs[1] = cf_topic(3);
	x->g.subscribed_count = 2;
	x->g.enforce_subscription = true;
	cf_set(&x->owned, 1, 0, 0, 1, -1, 2, 0, 5, -1, -1);
	assert_int_equal(rx_run(x, 11, true), CG_RECONCILE_OK);
	rx_expect(x, CG_MEMBER_UNREVOKED_PARTITIONS, 10, 10);
	cf_expect(&x->next.assigned, 1, 10, 0, -1, -1);
	cf_expect(&x->next.pending_revocation, 1, 10, 1, -1, 2, 10, 5, -1, -1);
	rx_free(x);
}

static void test_commit_epoch_check(void **state)
{
	(void)state;
	struct cg_member_assignment m;
	cg_member_assignment_init(&m);
	cf_member(&m, CG_MEMBER_STABLE, 12, 11);
	cf_set(&m.assigned, 1, 8, 0, -1, 1, 12, 1, -1, -1);
	/* The member's own epoch: every partition, as before KIP-1251. */
	assert_true(cgroup_commit_epoch_valid(&m, 12, cf_topic(2), 0));
	assert_false(cgroup_commit_epoch_valid(&m, 13, cf_topic(1), 0));
	/* Older: only partitions held since then. */
	assert_true(cgroup_commit_epoch_valid(&m, 11, cf_topic(1), 0));
	assert_true(cgroup_commit_epoch_valid(&m, 8, cf_topic(1), 0));
	assert_false(cgroup_commit_epoch_valid(&m, 7, cf_topic(1), 0));
	assert_false(cgroup_commit_epoch_valid(&m, 11, cf_topic(1), 1));
	assert_false(cgroup_commit_epoch_valid(&m, 11, cf_topic(1), 2));
	cf_set(&m.pending_revocation, 1, 9, 5, -1, -1);
	assert_true(cgroup_commit_epoch_valid(&m, 10, cf_topic(1), 5));
	cg_member_assignment_free(&m);
}

enum {
	SIM_MEMBERS = 5,
	SIM_TOPICS = 3,
	SIM_PARTITIONS = 7,
	SIM_ROUNDS = 400,
	SIM_SETTLE_ROUNDS = 64,
	SIM_RUNS = 40,
};

/* A client: what it really owns (reported on each heartbeat); it applies
 * the assignment a response gave it on a later heartbeat, or at once. */
struct sim_member {
	struct cg_member_assignment cur;
	struct cg_assignment owned, given;
	bool lagging;
};

struct sim {
	struct sim_member m[SIM_MEMBERS];
	struct cg_assignment target[SIM_MEMBERS];
	struct cg_epochs epochs;
	struct kuuid subs[SIM_TOPICS];
	int32_t epoch;
	uint64_t rng;
};

static uint64_t sim_rand(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

/* Every partition to a random member (or, sometimes, to none). */
static void sim_new_target(struct sim *s)
{
	s->epoch++;
	for (int i = 0; i < SIM_MEMBERS; i++)
		cg_assignment_clear(&s->target[i]);
	for (int t = 0; t < SIM_TOPICS; t++)
		for (int p = 0; p < SIM_PARTITIONS; p++) {
			int who = (int)(sim_rand(s) % (SIM_MEMBERS + 1));
			if (who < SIM_MEMBERS)
				assert_int_equal(cg_assignment_insert(&s->target[who], cf_topic(t + 1), p,
								      CG_EPOCH_NONE),
						 0);
		}
}

/* One heartbeat of member i: the client first applies what it was given
 * unless it lags, reports what it owns, and the coordinator reconciles and
 * updates the epochs map (which refuses any double ownership). */
static void sim_heartbeat(struct sim *s, int i, bool may_lag)
{
	struct sim_member *m = &s->m[i];
	m->lagging = may_lag && sim_rand(s) % 3 == 0;
	if (!m->lagging)
		assert_int_equal(cg_assignment_copy(&m->owned, &m->given), 0);
	struct cgroup_reconcile_group g = { &s->epochs, s->subs, SIM_TOPICS, false };
	struct cg_member_assignment next;
	cg_member_assignment_init(&next);
	bool changed = false;
	assert_int_equal(cgroup_reconcile(&m->cur, s->epoch, &s->target[i], &m->owned, &g, &next,
					  &changed),
			 CG_RECONCILE_OK);
	assert_int_equal(changed, !cg_member_assignment_equal(&m->cur, &next));
	char err[200] = "";
	enum cg_epochs_result r = cg_epochs_update_member(&s->epochs, i, &m->cur, &next, err,
							  sizeof(err));
	if (r != CG_EPOCHS_OK)
		fail_msg("member %d: %s", i, err);
	/* The response: the assigned partitions plus those it must still give up. */
	assert_int_equal(cg_assignment_copy(&m->given, &next.assigned), 0);
	cg_member_assignment_free(&m->cur);
	m->cur = next;
}

/* What clients own and what the coordinator says they hold never overlap
 * between two members. */
static void sim_check_single_ownership(const struct sim *s)
{
	for (int i = 0; i < SIM_MEMBERS; i++)
		for (int j = 0; j < SIM_MEMBERS; j++) {
			if (i == j)
				continue;
			const struct sim_member *a = &s->m[i], *b = &s->m[j];
			assert_false(cg_assignment_intersects(&a->owned, &b->owned));
			assert_false(cg_assignment_intersects(&a->cur.assigned, &b->cur.assigned));
			assert_false(cg_assignment_intersects(&a->cur.assigned,
							      &b->cur.pending_revocation));
			assert_false(cg_assignment_intersects(&a->owned, &b->cur.assigned));
		}
}

static void sim_run(uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->rng = seed;
	cg_epochs_init(&s->epochs);
	for (int t = 0; t < SIM_TOPICS; t++)
		s->subs[t] = cf_topic(t + 1);
	for (int i = 0; i < SIM_MEMBERS; i++) {
		cg_member_assignment_init(&s->m[i].cur);
		cg_assignment_init(&s->m[i].owned);
		cg_assignment_init(&s->m[i].given);
		cg_assignment_init(&s->target[i]);
	}
	sim_new_target(s);
	for (int round = 0; round < SIM_ROUNDS; round++) {
		if (sim_rand(s) % 8 == 0)
			sim_new_target(s);
		sim_heartbeat(s, (int)(sim_rand(s) % SIM_MEMBERS), true);
		sim_check_single_ownership(s);
	}
	/* Settle: clients now apply every response at once. */
	for (int round = 0; round < SIM_SETTLE_ROUNDS; round++)
		for (int i = 0; i < SIM_MEMBERS; i++) {
			sim_heartbeat(s, i, false);
			sim_check_single_ownership(s);
		}
	for (int i = 0; i < SIM_MEMBERS; i++) {
		assert_int_equal(s->m[i].cur.state, CG_MEMBER_STABLE);
		assert_int_equal(s->m[i].cur.member_epoch, s->epoch);
		assert_true(cg_assignment_same_partitions(&s->m[i].cur.assigned, &s->target[i]));
	}
	for (int i = 0; i < SIM_MEMBERS; i++) {
		cg_member_assignment_free(&s->m[i].cur);
		cg_assignment_free(&s->m[i].owned);
		cg_assignment_free(&s->m[i].given);
		cg_assignment_free(&s->target[i]);
	}
	cg_epochs_free(&s->epochs);
	free(s);
}

static void test_simulated_group_converges_without_double_ownership(void **state)
{
	(void)state;
	for (uint64_t run = 0; run < SIM_RUNS; run++)
		sim_run(0x243f6a8885a308d3ULL + run * 0x9e3779b97f4a7c15ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stable_at_target_stays),
		cmocka_unit_test(test_stable_to_stable_new_epoch_keeps_epochs),
		cmocka_unit_test(test_stable_to_unrevoked),
		cmocka_unit_test(test_revocation_without_owned_waits),
		cmocka_unit_test(test_already_revoked_goes_straight_to_target),
		cmocka_unit_test(test_stable_to_unreleased),
		cmocka_unit_test(test_stable_to_unreleased_nothing_given),
		cmocka_unit_test(test_unrevoked_stays_while_owned),
		cmocka_unit_test(test_unrevoked_to_stable_once_revoked),
		cmocka_unit_test(test_unrevoked_to_unreleased_once_revoked),
		cmocka_unit_test(test_own_pending_partition_is_not_unreleased),
		cmocka_unit_test(test_unreleased_to_stable_when_released),
		cmocka_unit_test(test_unreleased_to_unrevoked_on_new_target),
		cmocka_unit_test(test_new_member_gets_free_partitions),
		cmocka_unit_test(test_unknown_state_is_fenced_unless_empty),
		cmocka_unit_test(test_unsubscribed_topic_is_revoked),
		cmocka_unit_test(test_enforce_subscription_at_target_epoch),
		cmocka_unit_test(test_enforce_with_no_subscription_drops_all),
		cmocka_unit_test(test_enforce_while_unrevoked),
		cmocka_unit_test(test_commit_epoch_check),
		cmocka_unit_test(test_simulated_group_converges_without_double_ownership),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
