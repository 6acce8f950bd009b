/* The group coordinator: one per io shard, for the groups whose
 * __consumer_offsets partition the shard owns. It creates the groups' table
 * and replays it from __consumer_offsets at start (group_store.c), answers
 * waiting requests at shutdown, deletes groups (DeleteGroups), and tells which
 * shard coordinates a group (group_owner.c). The classic protocol's requests
 * are in group_membership.h, committed offsets in group_offsets.h, offsets
 * committed inside transactions in group_txn.h. */
#ifndef SLUICE_CORE_GROUP_GROUP_COORDINATOR_H
#define SLUICE_CORE_GROUP_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group.h"
#include "core/shard/shard.h"
#include "proto/cursor.h"

struct runtime;

/* The coordinator of an io shard's groups (SHARD_SLOT_GROUPS); NULL on
 * other shards. */
static inline struct group_coordinator *group_coordinator_of(const struct shard *s)
{
	return s->slots[SHARD_SLOT_GROUPS];
}

/* The groups' shard hooks: when the broker stops, waiting members answer. */
extern const struct shard_service group_shard_service;

/* Creates the io shard's coordinator, for the groups whose __consumer_offsets
 * partition the shard owns, and replays those partitions. Returns 0 or -1
 * after logging why. */
int group_coordinator_start(struct runtime *rt, struct shard *s);
/* At shutdown: answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR
 * and stops the timers. */
void group_coordinator_shutdown(struct shard *s);
/* After the shard's ring drained. */
void group_coordinator_free(struct shard *s);

/* The coordinator of a group (the control shard creates __consumer_offsets
 * when needed), with the group's partition. NULL with *err =
 * COORDINATOR_NOT_AVAILABLE when the topic cannot be had. */
struct group_coordinator *group_coordinator_route(struct runtime *rt, struct kstr group_id,
						  int32_t *partition, int16_t *err);
/* Any shard: the shard coordinating the group (the control shard while
 * __consumer_offsets does not exist). */
uint32_t group_coordinator_shard_of(struct runtime *rt, struct kstr group_id);

struct group *group_coordinator_find(struct group_coordinator *gc, struct kstr group_id);


/* DeleteGroups for one group: d->fn runs with NONE once the tombstones are
 * written, or with the error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...). */
void group_delete(struct group_coordinator *gc, struct kstr group_id, struct group_done *d);

#endif
