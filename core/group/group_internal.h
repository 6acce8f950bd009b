/* What the pieces of the group coordinator share inside core/group/ (nothing
 * outside it includes this): the coordinator's accessors, a member's
 * bookkeeping (group_member.c), the entry points of the rebalance state
 * machine (group_rebalance.c), the tombstones and retention timer of
 * committed offsets (group_offsets.c), and the pending offsets of open
 * transactions (group_txn.c). */
#ifndef SLUICE_CORE_GROUP_GROUP_INTERNAL_H
#define SLUICE_CORE_GROUP_GROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group.h"
#include "core/group/group_membership.h"
#include "core/group/group_store.h"
#include "proto/cursor.h"
#include "proto/kafka_errors.h"

struct broker_config;
struct reactor;

static const uint64_t NS_PER_MS = 1000000;

/* Whether a request's string names what the group holds (neither null). */
static inline bool kstr_is(struct kstr s, struct kstr held)
{
	return s.len >= 0 && held.len >= 0 && kstr_eq(s, held);
}

/* The error a client gets when a write to __consumer_offsets failed. */
static inline int16_t store_error_for_client(int16_t err)
{
	switch (err) {
	case KERR_NONE:
		return KERR_NONE;
	case KERR_MESSAGE_TOO_LARGE:
	case KERR_RECORD_LIST_TOO_LARGE:
		return KERR_UNKNOWN_SERVER_ERROR;
	default:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
}

/* ---- group_member.c --------------------------------------------------- */

/* A new member id (client id or instance id + '-' + UUID) in *out; false
 * without memory. */
bool member_id_new(struct kstr prefix, struct kstr *out);
/* A member taking the id (freed on failure), NULL when out of memory. */
struct group_member *member_new(struct group *g, struct kstr id, const struct group_join_args *a);
/* Replaces the member's protocols and timeouts; false when out of memory. */
bool member_set_protocols(struct group_member *m, const struct group_join_args *a);
bool member_protocols_match(const struct group_member *m, const struct group_join_args *a);
/* The member's protocol of that name, or NULL. */
const struct group_protocol *member_protocol(const struct group_member *m, struct kstr name);
/* member_id: null or empty when the member has none. */
void join_answer_error(struct group_join_waiter *w, int16_t err, struct kstr member_id);
void sync_answer_error(struct group_sync_waiter *w, int16_t err);
/* Answers the member's waiting JoinGroup and SyncGroup, if any, with err. */
void member_answer_waiters(struct group_member *m, int16_t err);
void list_append(struct group_member **head, struct group_member *m);
/* Takes a member out without touching the group's state; its waiting
 * requests get `err`. */
void member_remove_raw(struct group *g, struct group_member *m, int16_t err);

/* ---- group_rebalance.c ------------------------------------------------ */

void group_set_state(struct group *g, enum group_state s);
/* (Re)starts the member's session timeout; on expiry it leaves the group. */
void member_arm_session(struct group_member *m);
/* Drops every member's assignment; waiting SyncGroups get err. */
void group_reset_assignments(struct group *g, int16_t err);
/* Completes the join phase when every member has rejoined. */
void group_check_join_complete(struct group *g);
void group_prepare_rebalance(struct group *g, const char *reason);
/* Starts a rebalance unless one is being prepared already. */
void group_maybe_prepare_rebalance(struct group *g, const char *reason);
/* A member left or was evicted: the group reacts as Kafka's does. */
void group_member_gone(struct group *g, struct group_member *m, const char *reason);
/* The JoinGroup answer for a member of the current generation. */
void group_answer_join(struct group *g, struct group_member *m, struct group_join_waiter *w,
		       bool with_members);

/* ---- group_offsets.c -------------------------------------------------- */

/* Writes tombstones for the offsets `want` selects (all when NULL), with
 * `pending_too` for the selected partitions only open transactions hold,
 * and with `group_too` for the group itself. */
int16_t group_write_tombstones(struct group *g, bool group_too, bool pending_too,
			       bool (*want)(const struct group_offset *o, void *ctx),
			       void *want_ctx, group_store_done_fn done, void *ctx,
			       uint32_t *written);
/* Every offsets.retention.check.interval.ms: expires offsets and empty groups. */
void group_on_retention_timer(struct io_timer *t);

/* ---- group.c: offsets of open transactions, per producer --------------- */

/* Sets dst to v, its record at record_offset. Returns false (dst unchanged)
 * when out of memory. */
bool group_offset_set(struct group_offset *dst, const struct group_offset_value *v,
		      int64_t record_offset);
/* The pending offsets of producer_id in the group, or NULL. */
struct group_offset_table *group_txn_pending_offsets(struct group *g, int64_t producer_id);
/* Forgets producer_id's pending offsets (its transaction ended). */
void group_txn_pending_end(struct group *g, int64_t producer_id);

/* Keeps v (copied) as producer_id's pending offset of the partition, its
 * record at record_offset; replaces that producer's earlier one. Returns 0,
 * or -1 when out of memory. */
int group_txn_put(struct group *g, int64_t producer_id, struct kstr topic, int32_t partition,
		  const struct group_offset_value *v, int64_t record_offset);
/* A tombstone of the partition's offset: every producer's pending offset of
 * it goes too, as in Kafka. */
void group_txn_forget(struct group *g, struct kstr topic, int32_t partition);
/* Frees the group's pending offsets and takes it off its coordinator's list. */
void group_txn_drop_all(struct group *g);

#endif
