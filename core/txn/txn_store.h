/* Transaction state persistence in __transaction_state: which partition
 * holds a transactional id, the topic's creation, the append of an id's
 * state (or its tombstone), and the replay of a shard's partitions at start.
 *
 * The topic is created on first use with transaction.state.log.num.partitions
 * partitions and cleanup.policy=compact. An id lives in partition
 * abs(javaHashCode(id)) % partitions, as in Kafka, so that a data directory
 * moves between the two without re-homing ids. */
#ifndef SLUICE_CORE_TXN_TXN_STORE_H
#define SLUICE_CORE_TXN_TXN_STORE_H

#include <stdint.h>

#include "core/txn/txn_state.h"
#include "proto/cursor.h"

struct runtime;
struct topic;
struct txn_coordinator;

extern const char TXN_STORE_TOPIC[];

int32_t txn_store_partition_of(struct kstr transactional_id, int32_t partitions);
/* The topic, created when missing (control shard only). NULL (logged) when
 * it cannot be. */
struct topic *txn_store_topic(struct runtime *rt);

typedef void (*txn_store_done_fn)(void *ctx, int16_t error_code);

/* Appends the id's state `t` (NULL: its tombstone) to its partition; `done`
 * runs once the write completed (error 0) or failed. Returns NONE, or an
 * error code without calling done: NOT_COORDINATOR when the calling shard
 * does not own the partition (logged), MESSAGE_TOO_LARGE, INVALID_REQUEST
 * for a string too long for the format, COORDINATOR_NOT_AVAILABLE. */
int16_t txn_store_append(struct txn_coordinator *tc, const struct txn_meta *m,
			 const struct txn_transit *t, txn_store_done_fn done, void *ctx);

/* Replays the coordinator's partitions into its table. Malformed records are
 * logged with partition and offset and skipped. Returns 0, or -1 when a
 * partition cannot be read. */
int txn_store_load(struct txn_coordinator *tc);

#endif
