/* A consumer-protocol group's partition epochs: for each (topic id,
 * partition) held by a member, assigned or pending revocation, the member
 * epoch of that member and which member it is (Kafka 4.4's
 * ConsumerGroup.currentPartitionEpoch). Reconciliation (cgroup_reconcile.h)
 * asks it whether a partition of a member's target is still held by another
 * member; the coordinator updates it each time a member's current assignment
 * changes (cgroup_epochs_update_member), and that update is where single
 * ownership is enforced: a partition is never held by two members at once.
 * Kafka throws IllegalStateException there; here the update is refused as a
 * whole (nothing changes), with a message the coordinator logs before it
 * answers UNKNOWN_SERVER_ERROR. The checks run in every build.
 *
 * An open-addressing hash map (linear probing, backward-shift deletion, load
 * at most a half), O(1) lookups, at most CG_EPOCHS_MAX partitions. Owned by
 * the group's shard; no I/O. */
#ifndef SLUICE_CORE_GROUP_CGROUP_EPOCHS_H
#define SLUICE_CORE_GROUP_CGROUP_EPOCHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/cgroup_assignment.h"

enum {
	/* Partitions held in one group. */
	CG_EPOCHS_MAX = CG_ASSIGNMENT_PARTITIONS_MAX,
	/* Not held (Kafka's -1). */
	CG_EPOCHS_FREE = -1,
};

enum cg_epochs_result {
	CG_EPOCHS_OK = 0,
	CG_EPOCHS_NOMEM = -1,
	CG_EPOCHS_CONFLICT = -2, /* would break single ownership; see err */
	CG_EPOCHS_FULL = -3,     /* beyond CG_EPOCHS_MAX */
};

struct cg_epochs_slot;

struct cg_epochs {
	struct cg_epochs_slot *slots; /* cap entries, a power of two, malloc-owned */
	int32_t cap;
	int32_t count;
};

void cg_epochs_init(struct cg_epochs *m);
void cg_epochs_free(struct cg_epochs *m);
int32_t cg_epochs_count(const struct cg_epochs *m);

/* The member epoch of the partition's holder, or CG_EPOCHS_FREE; *owner (may
 * be NULL) gets the holder's owner id. */
int32_t cg_epochs_get(const struct cg_epochs *m, struct kuuid topic_id, int32_t partition,
		      int32_t *owner);

/* Records that member `owner` (any id >= 0 the coordinator keeps unique per
 * member) holds every partition of a at member epoch `epoch`; refused when one
 * is already held (by anyone). */
enum cg_epochs_result cg_epochs_add(struct cg_epochs *m, int32_t owner, int32_t epoch,
				    const struct cg_assignment *a, char *err, size_t err_len);
/* Releases a's partitions; refused unless each is held by owner at epoch. */
enum cg_epochs_result cg_epochs_remove(struct cg_epochs *m, int32_t owner, int32_t epoch,
				       const struct cg_assignment *a, char *err, size_t err_len);

/* A member's current assignment went from old to new (either NULL: the
 * member joined or left): its old assigned and pending partitions are
 * released at the old member epoch, the new ones taken at the new one, as
 * Kafka's ConsumerGroup.updateMember does. All or nothing. */
enum cg_epochs_result cg_epochs_update_member(struct cg_epochs *m, int32_t owner,
					      const struct cg_member_assignment *old_ma,
					      const struct cg_member_assignment *new_ma, char *err,
					      size_t err_len);

#endif
