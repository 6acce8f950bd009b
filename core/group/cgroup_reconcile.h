/* Reconciliation of one consumer-protocol (KIP-848) member: the step that
 * moves its current assignment towards its target assignment, as Kafka
 * 4.4's CurrentAssignmentBuilder does on each ConsumerGroupHeartbeat. A pure
 * function: no I/O, no shard state; the result is malloc-owned by the caller's
 * cg_member_assignment.
 *
 * The states (cg_member_state) and their exits:
 *  - STABLE at the target epoch: nothing to do, unless the subscription must
 *    be enforced (below).
 *  - Otherwise the next assignment is computed, per topic of the target or
 *    of the current assignment, a topic the member no longer subscribes to
 *    (or that was deleted) counting as an empty target:
 *      kept       = assigned ∩ target (their assignment epochs kept)
 *      revoking   = assigned - kept
 *      given      = target - kept - unreleased, where a partition is
 *                   unreleased while the group's epochs map says another
 *                   member holds it (one in the member's own pending
 *                   revocation does not count: it holds it itself).
 *    Then, in this order:
 *      1. revoking partitions the member still owns (owned == NULL: the
 *         heartbeat did not say, so it may): UNREVOKED_PARTITIONS at its own
 *         epoch, assigned = kept, pending_revocation = revoking. Nothing new
 *         is given until it reports them gone.
 *      2. partitions to give: the target epoch; assigned = kept ∪ given (their
 *         assignment epoch the target epoch), UNRELEASED_PARTITIONS if some
 *         were held back, else STABLE.
 *      3. held back only: UNRELEASED_PARTITIONS at the target epoch.
 *      4. else STABLE at the target epoch.
 *    Each moves previous_member_epoch to the epoch the member had (Kafka's
 *    updateMemberEpoch), also when the epoch stays.
 *  - UNREVOKED_PARTITIONS: while owned still shows a pending partition the
 *    member stays (or, with enforce_subscription, only drops unsubscribed
 *    topics); once none is left, the next assignment as above.
 *  - UNRELEASED_PARTITIONS: the next assignment as above, which gives the
 *    partitions released since.
 *  - UNKNOWN (a state byte from a newer Kafka): fenced unless the member
 *    reports that it owns nothing; then the next assignment with the target
 *    epoch as its own.
 * enforce_subscription (Kafka's withEnforceSubscriptionConsistency: the
 * coordinator sets it when the member's subscription or the resolved topics
 * changed) on a member that would otherwise stay: topics it no longer
 * subscribes to move from assigned to pending revocation, UNREVOKED_PARTITIONS
 * if it still owns some of them, else they are simply dropped.
 *
 * A member that is fenced (FENCED_MEMBER_EPOCH) or rejoins with epoch 0 is
 * replaced by the coordinator with a new one (cg_member_assignment_init) and
 * reconciled from nothing; one that leaves releases its partitions
 * (cg_epochs_update_member with new NULL). */
#ifndef SLUICE_CORE_GROUP_CGROUP_RECONCILE_H
#define SLUICE_CORE_GROUP_CGROUP_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/cgroup_assignment.h"
#include "core/group/cgroup_epochs.h"

enum {
	/* Topic ids in a member's resolved subscription. */
	CG_RECONCILE_TOPICS_MAX = ASSIGNOR_TOPICS_MAX,
};

enum cgroup_reconcile_result {
	CG_RECONCILE_OK = 0,
	CG_RECONCILE_NOMEM = -1,
	/* UNKNOWN state and partitions owned (or not said): answer
	 * FENCED_MEMBER_EPOCH; next is left empty. */
	CG_RECONCILE_FENCED = -2,
};

/* What the group knows besides the member. */
struct cgroup_reconcile_group {
	const struct cg_epochs *epochs;
	/* The member's subscription resolved against the metadata image (topic
	 * names and its regex's topics that exist), by Kafka's Uuid order, no
	 * duplicates: a deleted topic is absent, so its partitions are
	 * revoked. */
	const struct kuuid *subscribed;
	int32_t subscribed_count;
	bool enforce_subscription;
};

/* Computes next from cur (next: initialised, replaced; never cur). *changed
 * says whether next differs from cur in any field, i.e. whether a
 * CurrentMemberAssignment record must be written. owned: the partitions the
 * heartbeat reports, NULL when it did not carry them. */
enum cgroup_reconcile_result cgroup_reconcile(const struct cg_member_assignment *cur,
					      int32_t target_epoch, const struct cg_assignment *target,
					      const struct cg_assignment *owned,
					      const struct cgroup_reconcile_group *group,
					      struct cg_member_assignment *next, bool *changed);

/* KIP-1251's check of one partition of an OffsetCommit (or TxnOffsetCommit)
 * from a consumer-protocol member whose current state is m, made with
 * commit_epoch: accepted when the epoch is the member's, or older but not
 * older than the partition's assignment epoch while the member still holds
 * it (assigned or pending revocation); a newer epoch, a partition it does not
 * hold or one given after commit_epoch is STALE_MEMBER_EPOCH (false). */
bool cgroup_commit_epoch_valid(const struct cg_member_assignment *m, int32_t commit_epoch,
			       struct kuuid topic_id, int32_t partition);

#endif
