/* One partition's producer state, as Kafka's ProducerStateManager keeps it:
 * per producer id the epoch, the last PRODUCER_BATCHES_KEPT batches'
 * sequence ranges, offsets and timestamps, the last timestamp, the
 * coordinator epoch and the ongoing transaction's first offset. Owned by
 * the partition's io shard, checked and updated in offset order with the
 * appends (partition_log.h).
 *
 * Transactions, as Kafka's ProducerStateManager: a transactional batch
 * opens its producer's transaction on the partition (its first offset); a
 * control batch (a COMMIT or ABORT marker) ends it. Open transactions are
 * kept ordered by first offset and those ended by a marker not yet written
 * in append order, so that the first unstable offset (what the last stable
 * offset is bounded by) is the head of one and a short scan of the other.
 *
 * The rules are Kafka's (ProducerAppendInfo.checkSequence/checkProducerEpoch,
 * ProducerStateEntry.findDuplicateBatch): a batch equal to one of the last
 * five of its epoch is a duplicate; an older epoch is refused
 * INVALID_PRODUCER_EPOCH; a newer epoch must start at sequence 0; the same
 * epoch must go on at last sequence + 1 (INT32_MAX wraps to 0); a producer
 * the partition does not know may start at any sequence (its batches may
 * have been removed by retention), as Kafka 4 accepts it. */
#ifndef SLUICE_CORE_LOG_PRODUCER_STATE_H
#define SLUICE_CORE_LOG_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/record_batch.h"

enum {
	PRODUCER_BATCHES_KEPT = 5,       /* Kafka's NUM_BATCHES_TO_RETAIN */
	PRODUCER_NO_EPOCH = -1,
	PRODUCER_MESSAGE_BYTES = 256,
};

/* One appended batch of a producer. */
struct producer_batch {
	int32_t first_seq, last_seq;
	int64_t first_offset, last_offset;
	int64_t timestamp; /* the batch's max timestamp, or its log append time */
};

struct producer_entry {
	int64_t producer_id;             /* -1: a free slot */
	int16_t epoch;
	int32_t coordinator_epoch;       /* -1 until transaction markers exist */
	int64_t last_timestamp;
	int64_t current_txn_first_offset; /* -1: no ongoing transaction */
	/* Markers that ended its transactions since the state was loaded (in
	 * memory only): a produce that waited on the coordinator to verify
	 * its transaction checks that none came meanwhile (Kafka's
	 * verification guard). */
	uint32_t txn_ends;
	uint8_t batch_count;             /* batches[0..batch_count), oldest first */
	struct producer_batch batches[PRODUCER_BATCHES_KEPT];
};

/* A transaction on the partition: open (marker_offset -1), or ended by a
 * marker at marker_offset that is not yet below the high watermark. */
struct producer_txn {
	int64_t producer_id;
	int64_t first_offset;
	int64_t marker_offset;
};

struct producer_txn_list {
	struct producer_txn *v;
	uint32_t len, cap;
};

struct producer_state {
	struct producer_entry *slots;    /* open addressing, linear probing */
	uint32_t cap;                    /* a power of two, or 0 */
	uint32_t count;
	struct producer_txn_list open;    /* by first offset */
	struct producer_txn_list unsettled; /* ended, by marker offset */
};

enum producer_verdict {
	PRODUCER_APPEND,    /* write it (record it once placed) */
	PRODUCER_DUPLICATE, /* answer with `dup`, write nothing */
	PRODUCER_REFUSED,   /* answer `error` (message in `message`) */
};

struct producer_check {
	int16_t error;
	struct producer_batch dup;
	char message[PRODUCER_MESSAGE_BYTES];
};

/* Whether the batch carries producer fields to check (v2, producer id >= 0). */
bool producer_batch_idempotent(const struct record_batch_header *h);

/* The partition a check names in its messages (formatted only then). */
struct producer_where {
	const char *topic;
	int32_t partition;
};

/* Checks a client's batch (idempotent, header validated) against the state;
 * `offset` is the offset it would be written at. */
enum producer_verdict producer_state_check(const struct producer_state *ps,
					   const struct record_batch_header *h,
					   struct producer_where where, int64_t offset,
					   struct producer_check *out);

/* Records a batch placed at first_offset (its max timestamp `timestamp`),
 * checked or read back from the log. Returns 0 or -ENOMEM. */
int producer_state_record(struct producer_state *ps, const struct record_batch_header *h,
			  int64_t first_offset, int64_t timestamp);

/* Checks a COMMIT/ABORT marker for producer_id (Kafka's
 * appendEndTxnMarker): KERR_NONE, INVALID_PRODUCER_EPOCH for an epoch older
 * than the producer's, TRANSACTION_COORDINATOR_FENCED for a coordinator
 * epoch older than the last marker's. */
int16_t producer_state_check_marker(const struct producer_state *ps, int64_t producer_id,
				    int16_t producer_epoch, int32_t coordinator_epoch);

/* A transaction a marker ended: from first_offset (the marker's own when
 * none was open) to the marker at marker_offset. */
struct producer_txn_end {
	int64_t first_offset;
	int64_t marker_offset;
	/* Kafka's lastStableOffset for the .txnindex: the first offset of
	 * another producer's open transaction, or marker_offset + 1. */
	int64_t last_stable_offset;
};

/* Records a marker (checked, or read back from the log) placed at offset:
 * the producer takes its epoch and coordinator epoch, and its transaction
 * ends (unsettled until the high watermark passes the marker). Returns 0 or
 * -ENOMEM. */
int producer_state_end_txn(struct producer_state *ps, int64_t producer_id, int16_t producer_epoch,
			   int32_t coordinator_epoch, int64_t offset, int64_t timestamp,
			   struct producer_txn_end *out);

/* The first offset at or above which a read_committed reader may not read
 * yet, given the high watermark: the first offset of the earliest
 * transaction open or ended by a marker at or above hw; -1 when none. */
int64_t producer_state_first_unstable(const struct producer_state *ps, int64_t hw);
/* Forgets the ended transactions whose markers are below hw. */
void producer_state_settle(struct producer_state *ps, int64_t hw);

/* Adds a whole entry (from a snapshot); replaces one with the same id. */
int producer_state_put(struct producer_state *ps, const struct producer_entry *e);

/* The log went back to end_offset: forgets the batches at or past it, and
 * the producers left with none. */
void producer_state_truncate(struct producer_state *ps, int64_t end_offset);

/* Removes producers with no ongoing transaction whose last timestamp is
 * expiration_ms or more before now_ms (producer.id.expiration.ms). Returns
 * how many. */
uint32_t producer_state_expire(struct producer_state *ps, int64_t now_ms, int64_t expiration_ms);

const struct producer_entry *producer_state_find(const struct producer_state *ps,
						 int64_t producer_id);
/* Whether the producer has a transaction open on the partition at exactly
 * this epoch: then the coordinator has verified it already (KIP-890), and
 * appends of that transaction need not ask again. */
bool producer_state_txn_open(const struct producer_state *ps, int64_t producer_id,
			     int16_t producer_epoch);
/* Calls fn for every producer (order unspecified). */
void producer_state_for_each(const struct producer_state *ps,
			     void (*fn)(const struct producer_entry *e, void *ctx), void *ctx);
void producer_state_clear(struct producer_state *ps);

/* Whether a producer last seen at last_ms has been idle for expiration_ms by
 * now_ms. last_ms may come from a snapshot on disk, so it may be anything:
 * the difference is computed without overflowing (a time far in the past is
 * long expired, one far in the future is not). */
static inline bool producer_idle_expired(int64_t now_ms, int64_t last_ms, int64_t expiration_ms)
{
	int64_t idle;
	if (__builtin_sub_overflow(now_ms, last_ms, &idle))
		return last_ms < now_ms;
	return idle >= expiration_ms;
}

/* The last batch of an entry that has one. */
static inline const struct producer_batch *producer_entry_last(const struct producer_entry *e)
{
	return e->batch_count ? &e->batches[e->batch_count - 1] : NULL;
}

#endif
