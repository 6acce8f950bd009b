/* A consumer-protocol (KIP-848) member's partitions as a set: what the
 * coordinator's reconciliation (cgroup_reconcile.h) moves from the current
 * towards the target assignment, and what the CurrentMemberAssignment and
 * TargetAssignmentMember records of __consumer_offsets hold
 * (proto/consumer_group_records.h).
 *
 * The set is one malloc-owned array of (topic id, partition, epoch), sorted by
 * topic id in Kafka's Uuid order (assignor_uuid_compare) and then partition
 * ascending, without duplicates; a topic is present only through its
 * partitions, so there are no empty topics. Each partition carries its
 * assignment epoch (KIP-1251, Kafka 4.3+): the target assignment epoch at
 * which the member was given it, kept while the member holds it; offset
 * commits with an older member epoch are accepted for a partition whose
 * assignment epoch is not newer than the commit's (cgroup_reconcile.h).
 * Target assignments have none: CG_EPOCH_NONE.
 *
 * Every function that fills an output takes an initialised set that it
 * replaces; outputs never alias inputs. Out of memory returns -1 and leaves
 * the output empty, never aborts. */
#ifndef SLUICE_CORE_GROUP_CGROUP_ASSIGNMENT_H
#define SLUICE_CORE_GROUP_CGROUP_ASSIGNMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/assignor.h"
#include "proto/arena.h"
#include "proto/consumer_group_records.h"
#include "proto/cursor.h"

enum {
	/* Partitions in one set: the assignors' bound over a whole group. */
	CG_ASSIGNMENT_PARTITIONS_MAX = ASSIGNOR_PARTITIONS_MAX,
	/* No assignment epoch (a target assignment's partitions). */
	CG_EPOCH_NONE = -1,
};

struct cg_tp {
	struct kuuid topic_id;
	int32_t partition;
	int32_t epoch; /* assignment epoch, or CG_EPOCH_NONE */
};

struct cg_assignment {
	struct cg_tp *tps; /* count entries in set order; malloc-owned */
	int32_t count;
	int32_t cap;
};

/* Why a record's partitions were refused (cg_assignment_from_records). */
enum cg_assignment_load {
	CG_LOAD_OK = 0,
	CG_LOAD_NOMEM = -1,
	CG_LOAD_INVALID = -2,
};

void cg_assignment_init(struct cg_assignment *a);
void cg_assignment_free(struct cg_assignment *a);
/* Empties the set, keeping its memory. */
void cg_assignment_clear(struct cg_assignment *a);

/* The set order: topic id (Kafka's Uuid order), then partition. */
int cg_tp_compare(const struct cg_tp *a, const struct cg_tp *b);
/* Kafka's Uuid order over two struct kuuid, for qsort and bsearch. */
int cg_topic_id_compare(const void *a, const void *b);

int cg_assignment_copy(struct cg_assignment *dst, const struct cg_assignment *src);

/* Adds (topic, partition) at its place, or sets the epoch of the one already
 * there. O(count); for building small sets and tests. 0 or -1. */
int cg_assignment_insert(struct cg_assignment *a, struct kuuid topic_id, int32_t partition,
			 int32_t epoch);

/* A set from partitions in any order, duplicates merged (the first one's
 * epoch is kept): what a heartbeat's owned partitions become. Entries with a
 * negative partition are dropped. 0 or -1. */
int cg_assignment_from_unsorted(struct cg_assignment *out, const struct cg_tp *tps, int32_t n);

/* A member's new target from the assignors' result (no epochs). 0 or -1
 * (also for a result beyond CG_ASSIGNMENT_PARTITIONS_MAX, which the
 * assignors never make). */
int cg_assignment_from_result(struct cg_assignment *out, const struct assignor_member_result *r);

/* Partitions read from a record (from disk, so checked): a duplicate topic
 * or partition, a negative partition or more than
 * CG_ASSIGNMENT_PARTITIONS_MAX partitions is CG_LOAD_INVALID with *reason.
 * Epochs as Kafka 4.4's Utils.assignmentFromTopicPartitions reads them: the
 * topic's assignment_epochs when it has one per partition, else every
 * partition of the topic gets default_epoch (the record's member epoch; a
 * negative one, such as a static member's -2, reads as 0); a topic whose
 * epoch count is neither 0 nor its partition count (Kafka logs an error and
 * falls back) sets *epochs_mismatch for the caller's log line. Topics
 * without partitions are dropped. */
enum cg_assignment_load cg_assignment_from_records(struct cg_assignment *out,
						   const struct cg_topic_partitions *topics,
						   int32_t topic_count, int32_t default_epoch,
						   bool *epochs_mismatch, const char **reason);

/* The record form, one entry per topic in set order, arrays from the
 * caller's arena; with_epochs adds assignment_epochs (CurrentMemberAssignment
 * in Kafka 4.4) and needs every partition to have one. 0, or -1 when the
 * arena is full. */
int cg_assignment_to_records(const struct cg_assignment *a, bool with_epochs, struct arena *ar,
			     struct cg_topic_partitions **topics, int32_t *topic_count);

/* Same partitions and same epochs. */
bool cg_assignment_equal(const struct cg_assignment *a, const struct cg_assignment *b);
/* Same partitions, epochs ignored. */
bool cg_assignment_same_partitions(const struct cg_assignment *a, const struct cg_assignment *b);
const struct cg_tp *cg_assignment_find(const struct cg_assignment *a, struct kuuid topic_id,
				       int32_t partition);
bool cg_assignment_contains(const struct cg_assignment *a, struct kuuid topic_id, int32_t partition);
bool cg_assignment_has_topic(const struct cg_assignment *a, struct kuuid topic_id);
int32_t cg_assignment_count(const struct cg_assignment *a);
/* Whether a and b share a partition. */
bool cg_assignment_intersects(const struct cg_assignment *a, const struct cg_assignment *b);

/* a - b, a ∩ b (a's epochs), a ∪ b (a's epoch where both have it). 0 or -1. */
int cg_assignment_difference(struct cg_assignment *out, const struct cg_assignment *a,
			     const struct cg_assignment *b);
int cg_assignment_intersection(struct cg_assignment *out, const struct cg_assignment *a,
			       const struct cg_assignment *b);
int cg_assignment_union(struct cg_assignment *out, const struct cg_assignment *a,
			const struct cg_assignment *b);

/* Calls visit on each partition in set order until it returns false;
 * returns false when stopped early. */
typedef bool (*cg_assignment_visit_fn)(void *ctx, const struct cg_tp *tp);
bool cg_assignment_for_each(const struct cg_assignment *a, cg_assignment_visit_fn visit, void *ctx);

/* Kafka's MemberState, by the byte the CurrentMemberAssignment record
 * stores. */
enum cg_member_state {
	CG_MEMBER_STABLE = 0,
	CG_MEMBER_UNREVOKED_PARTITIONS = 1,
	CG_MEMBER_UNRELEASED_PARTITIONS = 2,
	CG_MEMBER_UNKNOWN = 127,
};

/* A member's current assignment: what the CurrentMemberAssignment record
 * holds. assigned carries the assignment epochs; pending_revocation the
 * epochs the partitions had while assigned. */
struct cg_member_assignment {
	int32_t member_epoch;
	int32_t previous_member_epoch;
	enum cg_member_state state;
	struct cg_assignment assigned;
	struct cg_assignment pending_revocation;
};

/* A new member's: epoch 0, previous -1, STABLE, nothing (Kafka's builder
 * defaults). */
void cg_member_assignment_init(struct cg_member_assignment *m);
void cg_member_assignment_free(struct cg_member_assignment *m);
int cg_member_assignment_copy(struct cg_member_assignment *dst,
			      const struct cg_member_assignment *src);
/* Every field equal, epochs included (Kafka's ConsumerGroupMember.equals
 * over these fields): when not, the coordinator writes a record. */
bool cg_member_assignment_equal(const struct cg_member_assignment *a,
				const struct cg_member_assignment *b);
/* A state byte from a record: one Kafka does not know reads as
 * CG_MEMBER_UNKNOWN, as MemberState.fromValue does. */
enum cg_member_state cg_member_state_from_byte(int8_t b);

/* From a CurrentMemberAssignment value read from disk (checked as
 * cg_assignment_from_records does, the member epoch as default epoch). */
enum cg_assignment_load cg_member_assignment_from_record(struct cg_member_assignment *out,
							 const struct cg_current_assignment_value *v,
							 bool *epochs_mismatch, const char **reason);
/* The value Kafka 4.4 writes: epochs on both lists. 0 or -1 (arena full). */
int cg_member_assignment_to_record(const struct cg_member_assignment *m, struct arena *ar,
				   struct cg_current_assignment_value *v);

#endif
