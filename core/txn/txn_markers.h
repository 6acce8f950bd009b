/* Writing a transaction's COMMIT or ABORT markers (Kafka's control batches,
 * proto/control_batch.h) to its partitions: the transaction coordinator's
 * last step of EndTxn, timeouts and fencing, and WriteTxnMarkers (API 27).
 * The calling shard resolves the partitions and sends each io shard the
 * ones it owns (one shard call per shard); the owner checks each marker
 * against the partition's producer state and appends it; `done` runs on
 * the calling shard once every marker is written or failed. */
#ifndef SLUICE_CORE_TXN_TXN_MARKERS_H
#define SLUICE_CORE_TXN_TXN_MARKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/cursor.h"

struct runtime;
struct shard;
struct txn_markers_shard;
struct txn_marker_slot;

struct txn_marker_target {
	struct kstr topic;
	int32_t partition;
	int16_t error;            /* out: NONE, UNKNOWN_TOPIC_OR_PARTITION,
				     KAFKA_STORAGE_ERROR, NOT_LEADER_OR_FOLLOWER,
				     TRANSACTION_COORDINATOR_FENCED, ... */
};

struct txn_markers_write {
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t coordinator_epoch;
	bool commit;
	struct txn_marker_target *targets;  /* owned by the caller until done */
	uint32_t count;
	void (*done)(struct txn_markers_write *w); /* on the calling shard */
	/* private to txn_markers.c below (fan-out state) */
	struct runtime *rt;
	struct txn_markers_shard *shards;   /* per io shard */
	struct txn_marker_slot *slots;      /* per target */
	uint32_t pending;
};

/* Writes one COMMIT/ABORT control batch to each target on its owning io
 * shard; done runs once all are written (or failed), on `from`. A topic
 * name the target names must stay valid until done. */
void txn_markers_write_start(struct runtime *rt, struct shard *from,
			     struct txn_markers_write *w);

#endif
