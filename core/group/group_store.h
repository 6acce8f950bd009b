/* Group persistence in __consumer_offsets: which partition holds a group, the
 * topic's creation, appends of offset and group-metadata records (and their
 * tombstones); the replay at start is group_load.h.
 *
 * The topic is created on first use with offsets.topic.num.partitions
 * partitions and cleanup.policy=compact. A group lives in partition
 * abs(javaHashCode(group id)) % partitions, as in Kafka, so that a data
 * directory moves between the two without re-homing groups. */
#ifndef SLUICE_CORE_GROUP_GROUP_STORE_H
#define SLUICE_CORE_GROUP_GROUP_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group.h"
#include "proto/group_records.h"

struct runtime;
struct topic;

extern const char GROUP_STORE_TOPIC[];

/* Kafka's String.hashCode over the id's UTF-16 code units, made non-negative
 * and reduced modulo the partition count. */
int32_t group_store_partition_of(struct kstr group_id, int32_t partitions);

/* The topic, created when missing. NULL (logged) when it cannot be. */
struct topic *group_store_topic(struct runtime *rt);

/* One record of a write: an offset (value NULL: its tombstone) or the group's
 * metadata (tombstone: the group is gone). */
struct group_store_record {
	bool is_metadata;
	bool tombstone;
	struct kstr topic;
	int32_t partition;
	const struct group_offset_value *offset;
};

typedef void (*group_store_done_fn)(void *ctx, int16_t error_code);
/* As done, with the log offset of the batch's first record (record i is at
 * base_offset + i) when error_code is 0. */
typedef void (*group_store_placed_fn)(void *ctx, int16_t error_code, int64_t base_offset);

/* The transactional producer a batch is written for (TxnOffsetCommit). */
struct group_store_producer {
	int64_t producer_id;
	int16_t producer_epoch;
};

/* Appends the records as one batch to the group's partition; the group's
 * metadata records are encoded from g's current state. `done` runs once the
 * write completed (error 0) or failed. Returns 0, or an error code without
 * calling done: MESSAGE_TOO_LARGE when the batch exceeds message.max.bytes,
 * KAFKA_STORAGE_ERROR for an offline partition, NOT_COORDINATOR when the
 * calling shard does not own the group's partition (logged; nothing is
 * written), INVALID_REQUEST when a string is too long for the records'
 * format (logged; nothing is written), or COORDINATOR_NOT_AVAILABLE. */
int16_t group_store_append(struct group *g, const struct group_store_record *recs, uint32_t count,
			   group_store_done_fn done, void *ctx);
/* group_store_append whose callback learns where the records were placed.
 * With txn, the batch is a transactional one of that producer, written as
 * Kafka's coordinator writes it (attributes TRANSACTIONAL, the producer's id
 * and epoch, base sequence 0): its offsets wait for the producer's marker. */
int16_t group_store_append_placed(struct group *g, const struct group_store_record *recs,
				  uint32_t count, const struct group_store_producer *txn,
				  group_store_placed_fn placed, void *ctx);

/* Appends records already encoded (a value of length -1 is a tombstone) as
 * one batch, with group_store_append's checks and errors: what the
 * consumer-protocol groups write (cgroup_store.h). */
struct record_kv;
int16_t group_store_append_kv(struct group *g, const struct record_kv *kv, uint32_t count,
			      group_store_done_fn done, void *ctx);

/* On the shard owning the partition: whether producer_id, at
 * producer_epoch, has a transaction open in __consumer_offsets partition
 * `partition`. Its later offsets in that transaction need no word from the
 * transaction coordinator: Kafka's leader asks only before the first. */
bool group_store_txn_open(struct runtime *rt, int32_t partition, int64_t producer_id,
			  int16_t producer_epoch);

#endif
