/* What the cleaner knows of transactions and producers while it walks a
 * range of the log in offset order, as Kafka's CleanedTransactionMetadata
 * and the cleaner's lastRecordsOfActiveProducers:
 *   - the aborted transactions overlapping the range (the segments'
 *     .txnindex entries, copied by the owner): a transactional batch of a
 *     producer at or past the first offset of one of its aborted
 *     transactions, before that transaction's ABORT marker, is aborted data:
 *     all of it goes, and its keys never enter the key map;
 *   - a COMMIT or ABORT marker whose transaction has no batch left in the
 *     range walked (an earlier pass removed them, or compaction emptied them)
 *     is done: it takes a delete horizon, and goes after it as a tombstone
 *     does (KIP-534). An ABORT marker whose data this walk met stays, and
 *     so does its .txnindex entry (the cleaned segment's index);
 *   - the last batch of every producer in the producer state is kept, with
 *     no records if need be, so that its epoch and sequence are in the log
 *     for the producer state rebuilt from it (de-duplication of a retried
 *     batch); for a producer whose last entry is a marker, its markers of
 *     the current epoch.
 * Runs on the cleaner's thread; owns only copies. */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_TXN_H
#define SLUICE_CORE_LOG_LOG_CLEANER_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log/txn_index.h"
#include "proto/record_batch.h"

/* A producer in the producer state when the pass was prepared. */
struct log_cleaner_producer {
	int64_t producer_id;
	int64_t last_data_offset;   /* its last batch's last offset; -1: its last was a marker */
	int16_t epoch;
};

/* Producers by id, for lookups. */
struct log_cleaner_producers {
	struct log_cleaner_producer *v;
	uint32_t len;
};

/* An aborted transaction the walk has reached and not yet seen the ABORT
 * marker of. */
struct log_cleaner_aborted {
	struct aborted_txn txn;
	bool observed;              /* a batch of it was met */
};

struct log_cleaner_txns {
	struct aborted_txn *pending;        /* by first offset, not yet reached */
	uint32_t npending, next;
	struct log_cleaner_aborted *ongoing; /* at most one per producer */
	uint32_t nongoing, cap_ongoing;
	int64_t *committing;                /* producers with a transaction met, not aborted */
	uint32_t ncommitting, cap_committing;
	struct aborted_txn *kept;           /* entries of the ABORT markers kept with their data */
	uint32_t nkept, cap_kept;
};

/* Starts a walk over [start, upper): the entries of `all` overlapping it.
 * Returns 0 or -ENOMEM. */
int log_cleaner_txns_begin(struct log_cleaner_txns *t, const struct aborted_txn *all, uint32_t n,
			   int64_t start, int64_t upper);
/* A data batch (header checked): *aborted when it belongs to an aborted
 * transaction. Returns 0 or -ENOMEM. */
int log_cleaner_txns_on_data(struct log_cleaner_txns *t, const struct record_batch_header *h,
			     bool *aborted);
/* A control batch, its whole bytes: *done when its transaction has no data
 * left in the walk (it may take a delete horizon and go after it). Returns
 * 0 or -ENOMEM. */
int log_cleaner_txns_on_control(struct log_cleaner_txns *t, const uint8_t *batch, size_t len,
				const struct record_batch_header *h, bool *done);
void log_cleaner_txns_free(struct log_cleaner_txns *t);

/* Sorts the producers by id (after they were collected). */
void log_cleaner_producers_sort(struct log_cleaner_producers *ps);
/* Whether the batch is the last of a producer in the producer state, which
 * the cleaner keeps (emptied if none of its records stay). */
bool log_cleaner_producers_last(const struct log_cleaner_producers *ps,
				const struct record_batch_header *h);

#endif
