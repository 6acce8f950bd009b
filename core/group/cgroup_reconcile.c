/* One reconciliation step of a consumer-protocol member (cgroup_reconcile.h):
 * the state switch of Kafka 4.4's CurrentAssignmentBuilder.build, its full
 * step (computeNextAssignment) as one merge walk over the sorted current and
 * target sets, and its subscription-only step (updateCurrentAssignment). */
#include "core/group/cgroup_reconcile.h"

#include <assert.h>
#include <stdlib.h>

#include "core/group/assignor_internal.h"

/* The sets one step builds; freed together. */
struct step {
	struct cg_assignment kept, revoking, given;
	bool unreleased;
};

static void step_init(struct step *s)
{
	cg_assignment_init(&s->kept);
	cg_assignment_init(&s->revoking);
	cg_assignment_init(&s->given);
	s->unreleased = false;
}

static void step_free(struct step *s)
{
	cg_assignment_free(&s->kept);
	cg_assignment_free(&s->revoking);
	cg_assignment_free(&s->given);
}

static bool subscribed(const struct cgroup_reconcile_group *g, struct kuuid t)
{
	return g->subscribed_count > 0 && bsearch(&t, g->subscribed, (size_t)g->subscribed_count,
						  sizeof(t), cg_topic_id_compare);
}

/* Kafka's ownsRevokedPartitions: a heartbeat that did not list its
 * partitions may still own any of them. */
static bool owns_revoked(const struct cg_assignment *owned, const struct cg_assignment *pending)
{
	return !owned || cg_assignment_intersects(owned, pending);
}

static int add(struct cg_assignment *a, const struct cg_tp *tp, int32_t epoch)
{
	return cg_assignment_insert(a, tp->topic_id, tp->partition, epoch);
}

/* A target partition the member does not have yet: given now, or held back
 * while another member holds it. */
static int consider(struct step *s, const struct cg_member_assignment *cur, const struct cg_tp *tp,
		    int32_t target_epoch, const struct cgroup_reconcile_group *g)
{
	bool held = cg_epochs_get(g->epochs, tp->topic_id, tp->partition, NULL) != CG_EPOCHS_FREE;
	if (held && !cg_assignment_contains(&cur->pending_revocation, tp->topic_id, tp->partition)) {
		s->unreleased = true;
		return 0;
	}
	return add(&s->given, tp, target_epoch);
}

/* Splits assigned and target into kept, revoking and given in one walk over
 * both sorted sets (insertions are appends, in order). */
static int split(struct step *s, const struct cg_member_assignment *cur, int32_t target_epoch,
		 const struct cg_assignment *target, const struct cgroup_reconcile_group *g)
{
	const struct cg_assignment *a = &cur->assigned;
	int32_t i = 0, j = 0;
	while (i < a->count || j < target->count) {
		int c = i == a->count	    ? 1
			: j == target->count ? -1
					     : cg_tp_compare(&a->tps[i], &target->tps[j]);
		const struct cg_tp *tp = c <= 0 ? &a->tps[i] : &target->tps[j];
		bool sub = subscribed(g, tp->topic_id);
		int r = 0;
		if (c < 0 || (c == 0 && !sub))
			r = add(&s->revoking, tp, tp->epoch);
		else if (c == 0)
			r = add(&s->kept, tp, tp->epoch);
		else if (sub)
			r = consider(s, cur, tp, target_epoch, g);
		if (r < 0)
			return -1;
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

static void set_epochs(struct cg_member_assignment *next, const struct cg_member_assignment *cur,
		       enum cg_member_state state, int32_t epoch)
{
	next->state = state;
	next->previous_member_epoch = cur->member_epoch;
	next->member_epoch = epoch;
}

/* Kafka's computeNextAssignment; member_epoch is the epoch the member keeps
 * while it revokes (its own, or the target's for an UNKNOWN one). */
static int compute_next(const struct cg_member_assignment *cur, int32_t member_epoch,
			int32_t target_epoch, const struct cg_assignment *target,
			const struct cg_assignment *owned, const struct cgroup_reconcile_group *g,
			struct cg_member_assignment *next)
{
	struct step s;
	step_init(&s);
	int r = split(&s, cur, target_epoch, target, g);
	cg_assignment_clear(&next->pending_revocation);
	if (r == 0 && s.revoking.count > 0 && owns_revoked(owned, &s.revoking)) {
		set_epochs(next, cur, CG_MEMBER_UNREVOKED_PARTITIONS, member_epoch);
		r = cg_assignment_copy(&next->assigned, &s.kept);
		if (r == 0)
			r = cg_assignment_copy(&next->pending_revocation, &s.revoking);
	} else if (r == 0) {
		enum cg_member_state st = s.unreleased ? CG_MEMBER_UNRELEASED_PARTITIONS
						       : CG_MEMBER_STABLE;
		set_epochs(next, cur, st, target_epoch);
		r = cg_assignment_union(&next->assigned, &s.kept, &s.given);
	}
	step_free(&s);
	return r;
}

/* Kafka's updateCurrentAssignment: only drops topics the member no longer
 * subscribes to. Returns 1 when nothing was dropped (next untouched). */
static int update_current(const struct cg_member_assignment *cur,
			  const struct cg_assignment *owned, const struct cgroup_reconcile_group *g,
			  struct cg_member_assignment *next)
{
	struct step s;
	step_init(&s);
	int r = 0;
	bool all = g->subscribed_count == 0 && cur->pending_revocation.count == 0;
	for (int32_t i = 0; i < cur->assigned.count && r == 0; i++) {
		const struct cg_tp *tp = &cur->assigned.tps[i];
		bool drop = all || !subscribed(g, tp->topic_id);
		r = add(drop ? &s.revoking : &s.kept, tp, tp->epoch);
	}
	/* Kafka always takes the first branch as a change; the second only when
	 * a topic went. */
	if (r == 0 && !all && s.revoking.count == 0) {
		step_free(&s);
		return 1;
	}
	if (r == 0)
		r = cg_assignment_union(&s.given, &s.revoking, &cur->pending_revocation);
	if (r == 0 && s.given.count > 0 && owns_revoked(owned, &s.given)) {
		set_epochs(next, cur, CG_MEMBER_UNREVOKED_PARTITIONS, cur->member_epoch);
		r = cg_assignment_copy(&next->pending_revocation, &s.given);
	} else if (r == 0) {
		set_epochs(next, cur, cur->state, cur->member_epoch);
		r = cg_assignment_copy(&next->pending_revocation, &cur->pending_revocation);
	}
	if (r == 0)
		r = cg_assignment_copy(&next->assigned, &s.kept);
	step_free(&s);
	return r;
}

/* The member stays as it is, or only drops unsubscribed topics. */
static int stay(const struct cg_member_assignment *cur, const struct cg_assignment *owned,
		const struct cgroup_reconcile_group *g, struct cg_member_assignment *next)
{
	int r = g->enforce_subscription ? update_current(cur, owned, g, next) : 1;
	return r == 1 ? cg_member_assignment_copy(next, cur) : r;
}

static void check_input(const struct cg_member_assignment *cur, const struct cg_assignment *target,
			const struct cgroup_reconcile_group *g, const struct cg_member_assignment *next)
{
	assert(cur && target && g && g->epochs && next && next != cur);
	assert(g->subscribed_count >= 0 && g->subscribed_count <= CG_RECONCILE_TOPICS_MAX);
	assert(g->subscribed_count == 0 || g->subscribed);
	for (int32_t i = 1; i < g->subscribed_count; i++)
		assert(assignor_uuid_compare(g->subscribed[i - 1], g->subscribed[i]) < 0);
	assert(!cg_assignment_intersects(&cur->assigned, &cur->pending_revocation));
	(void)cur, (void)target, (void)g, (void)next;
}

enum cgroup_reconcile_result cgroup_reconcile(const struct cg_member_assignment *cur,
					      int32_t target_epoch, const struct cg_assignment *target,
					      const struct cg_assignment *owned,
					      const struct cgroup_reconcile_group *group,
					      struct cg_member_assignment *next, bool *changed)
{
	check_input(cur, target, group, next);
	assert(changed);
	int r = 0;
	*changed = false;
	switch (cur->state) {
	case CG_MEMBER_STABLE:
		if (cur->member_epoch != target_epoch)
			r = compute_next(cur, cur->member_epoch, target_epoch, target, owned, group, next);
		else
			r = stay(cur, owned, group, next);
		break;
	case CG_MEMBER_UNREVOKED_PARTITIONS:
		if (owns_revoked(owned, &cur->pending_revocation))
			r = stay(cur, owned, group, next);
		else
			r = compute_next(cur, cur->member_epoch, target_epoch, target, owned, group, next);
		break;
	case CG_MEMBER_UNRELEASED_PARTITIONS:
		r = compute_next(cur, cur->member_epoch, target_epoch, target, owned, group, next);
		break;
	case CG_MEMBER_UNKNOWN:
		if (!owned || owned->count > 0) {
			cg_assignment_clear(&next->assigned);
			cg_assignment_clear(&next->pending_revocation);
			return CG_RECONCILE_FENCED;
		}
		r = compute_next(cur, target_epoch, target_epoch, target, owned, group, next);
		break;
	}
	if (r < 0) {
		cg_assignment_clear(&next->assigned);
		cg_assignment_clear(&next->pending_revocation);
		return CG_RECONCILE_NOMEM;
	}
	assert(!cg_assignment_intersects(&next->assigned, &next->pending_revocation));
	*changed = !cg_member_assignment_equal(cur, next);
	return CG_RECONCILE_OK;
}

bool cgroup_commit_epoch_valid(const struct cg_member_assignment *m, int32_t commit_epoch,
			       struct kuuid topic_id, int32_t partition)
{
	assert(m);
	if (commit_epoch == m->member_epoch)
		return true;
	if (commit_epoch > m->member_epoch)
		return false;
	const struct cg_tp *tp = cg_assignment_find(&m->assigned, topic_id, partition);
	if (!tp)
		tp = cg_assignment_find(&m->pending_revocation, topic_id, partition);
	return tp && tp->epoch != CG_EPOCH_NONE && tp->epoch <= commit_epoch;
}
