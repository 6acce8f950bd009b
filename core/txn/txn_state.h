/* One transactional id's state, as Kafka's TransactionMetadata keeps it, and
 * the table of them that one coordinator owns.
 *
 * A change is prepared as a struct txn_transit (the state it leads to),
 * written to __transaction_state, and only applied once the write is
 * durable (txn_state_apply); while one is in flight the id is `pending` and
 * every other request on it gets CONCURRENT_TRANSACTIONS, as in Kafka. */
#ifndef SLUICE_CORE_TXN_TXN_STATE_H
#define SLUICE_CORE_TXN_TXN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"
#include "proto/txn_records.h"

enum {
	TXN_NO_PRODUCER_ID = -1,
	TXN_NO_PRODUCER_EPOCH = -1,
	/* An epoch at which the next bump would overflow: a new producer id
	 * then (Kafka's Short.MaxValue - 1 rule). */
	TXN_EPOCH_EXHAUSTED = INT16_MAX - 1,
	/* Partitions of one transaction: membership is checked by a scan, so
	 * the bound keeps an AddPartitionsToTxn's cost bounded too. */
	TXN_PARTITIONS_MAX = 10000,
};

struct txn_partition {
	struct kstr topic;            /* an owned copy (kstr_copy) */
	int32_t partition;
};

/* A set of partitions, in the order they were added. */
struct txn_partitions {
	struct txn_partition *items;
	uint32_t count;
	uint32_t cap;
};

/* What a transition leads to (the fields written to the log). */
struct txn_transit {
	enum txn_status state;
	int64_t producer_id;
	int64_t last_producer_id;
	int64_t next_producer_id;
	int16_t epoch;
	int16_t last_epoch;
	int32_t timeout_ms;
	int64_t start_ms;
	int64_t last_update_ms;
	int16_t client_txn_version;
	struct txn_partitions partitions; /* owned */
};

struct txn_meta {
	struct kstr id;           /* an owned copy: every byte, NULs too */
	int32_t state_partition;  /* of __transaction_state */
	struct txn_transit cur;   /* as last written */
	bool pending;             /* a write or the markers are in flight */
	struct txn_meta *next;    /* hash chain */
};

struct txn_table {
	struct txn_meta **buckets;
	size_t bucket_count;
	size_t count;
};

/* Kafka's names, as DescribeTransactions and ListTransactions give them. */
const char *txn_state_name(enum txn_status s);
/* Parses a name of ListTransactions' state filter; -1 when unknown. */
int txn_state_parse(struct kstr name);

int64_t txn_now_ms(void);

bool txn_partitions_has(const struct txn_partitions *ps, struct kstr topic, int32_t partition);
/* Adds unless present; false when out of memory or past TXN_PARTITIONS_MAX. */
bool txn_partitions_add(struct txn_partitions *ps, struct kstr topic, int32_t partition);
/* A deep copy; false when out of memory. */
bool txn_partitions_copy(struct txn_partitions *dst, const struct txn_partitions *src);
void txn_partitions_free(struct txn_partitions *ps);

/* A copy of the current state to change (partitions copied when `keep`,
 * else empty); false when out of memory. */
bool txn_transit_from(struct txn_transit *t, const struct txn_meta *m, bool keep_partitions);
/* Makes t the current state (taking its partitions). */
void txn_state_apply(struct txn_meta *m, struct txn_transit *t);

/* Whether the state is one of Kafka's PrepareCommit / PrepareAbort. */
bool txn_state_preparing(enum txn_status s);
/* Whether a transaction is open or ending (its partitions matter). */
bool txn_state_has_partitions(enum txn_status s);

int txn_table_init(struct txn_table *t);
struct txn_meta *txn_table_find(const struct txn_table *t, struct kstr id);
/* A new Empty entry with no producer; NULL when out of memory. */
struct txn_meta *txn_table_add(struct txn_table *t, struct kstr id, int32_t state_partition);
/* Unlinks and frees; never while pending (whoever holds it would be left
 * with freed memory). */
void txn_table_remove(struct txn_table *t, struct txn_meta *m);
void txn_meta_free(struct txn_meta *m);
void txn_table_for_each(struct txn_table *t, void (*fn)(struct txn_meta *m, void *ctx), void *ctx);
void txn_table_free(struct txn_table *t);

#endif
