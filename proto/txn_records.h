/* The records of __transaction_state in Kafka's own format, so that Kafka's
 * tools can read sluice's log and sluice can load one Kafka wrote.
 *
 * Key: TransactionLogKey version 0 (int16 version, string transactional id).
 * Value: TransactionLogValue version 0, or version 1 (flexible: compact
 * strings and arrays, tagged fields) which adds KIP-890's tagged fields
 * PreviousProducerId (tag 0), NextProducerId (tag 1) and
 * ClientTransactionVersion (tag 2). A null value is a tombstone: the
 * transactional id expired. Strings are views into the record. */
#ifndef SLUICE_PROTO_TXN_RECORDS_H
#define SLUICE_PROTO_TXN_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

/* Kafka's TransactionState ids, as the value's TransactionStatus stores them. */
enum txn_status {
	TXN_STATUS_EMPTY = 0,
	TXN_STATUS_ONGOING = 1,
	TXN_STATUS_PREPARE_COMMIT = 2,
	TXN_STATUS_PREPARE_ABORT = 3,
	TXN_STATUS_COMPLETE_COMMIT = 4,
	TXN_STATUS_COMPLETE_ABORT = 5,
	TXN_STATUS_DEAD = 6,
	TXN_STATUS_PREPARE_EPOCH_FENCE = 7,
	TXN_STATUS_COUNT,
};

enum {
	TXN_KEY_VERSION = 0,
	TXN_VALUE_VERSION_MAX = 1,
	TXN_VALUE_FLEXIBLE_FROM = 1,
	TXN_RECORD_TOPICS_MAX = 100000,
	TXN_RECORD_PARTITIONS_MAX = 1000000,
};

/* Returns 0 with the id, or -1 for a malformed key or another version. */
int txn_log_key_read(struct kbytes key, struct kstr *transactional_id);
size_t txn_log_key_size(struct kstr transactional_id);
void txn_log_key_write(struct wcursor *w, struct kstr transactional_id);

struct txn_log_topic {
	struct kstr topic;
	int32_t partition_count;
	const int32_t *partitions;
};

struct txn_log_value {
	int16_t version;                    /* read: the record's; write: see below */
	int64_t producer_id;
	int64_t previous_producer_id;       /* -1: none */
	int64_t next_producer_id;           /* -1: none */
	int16_t producer_epoch;
	int32_t timeout_ms;
	int8_t status;                      /* enum txn_status */
	int32_t topic_count;                /* -1: null */
	const struct txn_log_topic *topics; /* write only */
	int64_t last_update_ms;
	int64_t start_ms;
	int16_t client_transaction_version; /* 0 unless the client speaks KIP-890 part 2 */
};

/* Called for each partition of the value as it is read; returns false to
 * stop (the read then fails). */
typedef bool (*txn_log_partition_fn)(void *ctx, struct kstr topic, int32_t partition);

/* Reads a value; each partition of TransactionPartitions goes to fn (may be
 * NULL). Returns 0, or -1 for a malformed value or an unknown version; on -1
 * fn may already have seen some partitions. */
int txn_log_value_read(struct kbytes value, struct txn_log_value *out, txn_log_partition_fn fn,
		       void *ctx);
/* Whether the value's strings fit the format (the version chosen decides). */
bool txn_log_value_fits(const struct txn_log_value *v);
/* Written as v->version (0 or 1); in version 0 the tagged fields are not
 * written. */
size_t txn_log_value_size(const struct txn_log_value *v);
void txn_log_value_write(struct wcursor *w, const struct txn_log_value *v);

#endif
