/* Offsets committed inside transactions (TxnOffsetCommit): written to the
 * group's __consumer_offsets partition as a transactional batch of the
 * producer, then kept pending per (group, producer id), invisible to
 * OffsetFetch, until the producer's marker lands in that partition: COMMIT
 * makes them the group's committed offsets (each unless a commit written
 * later in the log holds the partition, as in Kafka), ABORT drops them. */
#ifndef SLUICE_CORE_GROUP_GROUP_TXN_H
#define SLUICE_CORE_GROUP_GROUP_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group_coordinator.h"
#include "core/group/group_offsets.h"
#include "proto/cursor.h"

struct group_txn_commit_args {
	struct kstr group_id;
	int64_t producer_id;
	int16_t producer_epoch;
	struct kstr member_id;        /* "" before v3 */
	struct kstr instance_id;      /* len -1: none */
	int32_t generation;           /* < 0: a commit outside group management */
	uint32_t count;
	struct group_commit_partition *parts; /* commit_timestamp unused */
};

/* Marks the partitions that do not exist UNKNOWN_TOPIC_OR_PARTITION and the
 * others NONE; returns how many exist. Any shard. */
uint32_t group_txn_commit_known(struct runtime *rt, struct group_txn_commit_args *a);

/* TxnOffsetCommit on the group's coordinator: checks the partitions and the
 * committer as Kafka's group coordinator does for a transactional commit,
 * writes the offsets as one transactional batch of the producer and keeps
 * them pending. Per-partition errors are in a->parts[i].error when d->fn
 * runs (now or after the write); d->fn's own error is always NONE. */
void group_txn_commit(struct group_coordinator *gc, int32_t partition,
		      struct group_txn_commit_args *a, struct group_done *d);

/* A marker for producer_id landed on __consumer_offsets partition `partition`
 * (owned by gc's shard): that producer's pending transactional offsets in the
 * partition's groups become committed (commit) or are dropped. */
void group_txn_complete(struct group_coordinator *gc, int32_t partition,
			int64_t producer_id, bool commit);

#endif
