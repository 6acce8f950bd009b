/* The transaction coordinator: one per io shard, for the transactional ids
 * whose __transaction_state partition the shard owns (SHARD_SLOT_TXN). It
 * replays those partitions at start, before the listener opens (so it never
 * answers COORDINATOR_LOAD_IN_PROGRESS), and serves InitProducerId with a
 * transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, the
 * partition leaders' verification (KIP-890 part 1), the abort of timed-out
 * transactions and the expiry of idle transactional ids. Every change of an
 * id's state is written to the log before it takes effect or is answered.
 *
 * The coordinator epoch is 0: a single node leads every partition of
 * __transaction_state at leader epoch 0. */
#ifndef SLUICE_CORE_TXN_TXN_COORDINATOR_H
#define SLUICE_CORE_TXN_TXN_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/shard/runtime.h"
#include "core/shard/shard_call.h"
#include "core/txn/txn_state.h"
#include "proto/cursor.h"

enum { TXN_COORDINATOR_EPOCH = 0 };

struct txn_coordinator {
	struct runtime *rt;
	struct shard *shard;
	struct txn_table ids;
	struct io_timer abort_timer;   /* transaction.abort.timed.out.transaction.cleanup.interval.ms */
	struct io_timer expire_timer;  /* transaction.remove.expired.transaction.cleanup.interval.ms */
	uint32_t in_flight;            /* writes and marker rounds not yet done */
	bool stopping;
	/* Counters (single writer: this shard; metrics read them relaxed). */
	uint64_t ongoing;              /* ids in Ongoing or ending now (gauge) */
	uint64_t aborted_by_timeout;
	uint64_t committed;
	uint64_t aborted;
	uint64_t ids_expired;
	uint64_t fenced;               /* epoch bumps that fenced a producer */
};

static inline struct txn_coordinator *txn_coordinator_of(const struct shard *s)
{
	return s->slots[SHARD_SLOT_TXN];
}

extern const struct shard_service txn_shard_service;

/* Creates the io shard's coordinator and replays its partitions of
 * __transaction_state; transactions found mid-way through their markers
 * resume them. Returns 0 or -1 after logging why. */
int txn_coordinator_start(struct runtime *rt, struct shard *s);
void txn_coordinator_free(struct shard *s);

/* The coordinator of a transactional id; on the control shard the topic is
 * created when missing. NULL with *err = COORDINATOR_NOT_AVAILABLE when the
 * topic cannot be had. */
struct txn_coordinator *txn_coordinator_route(struct runtime *rt, struct kstr transactional_id,
					      int16_t *err);

/* Any shard: the coordinator of an id, NULL while __transaction_state does
 * not exist (then no id has a state). */
struct txn_coordinator *txn_coordinator_lookup(struct runtime *rt, struct kstr transactional_id);

/* ---- interface 2: the partition leader asks (KIP-890 part 1) ---------- */

struct txn_verify {
	struct kstr transactional_id;   /* valid until done */
	int64_t producer_id;
	int16_t producer_epoch;
	struct kstr topic;
	int32_t partition;
	int16_t error;                  /* out: NONE, INVALID_TXN_STATE,
					   INVALID_PRODUCER_ID_MAPPING,
					   INVALID_PRODUCER_EPOCH, PRODUCER_FENCED,
					   NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
					   COORDINATOR_NOT_AVAILABLE */
	void (*done)(struct txn_verify *v); /* on the calling shard */
	/* private */
	struct shard_call call;
};

/* Asks the id's coordinator whether topic-partition is in the producer's
 * ongoing transaction: NONE when it is; INVALID_TXN_STATE when it is not;
 * INVALID_PRODUCER_ID_MAPPING when the id is unknown or another producer id
 * holds it (as Kafka answers both Produce and TxnOffsetCommit); PRODUCER_FENCED when
 * the epoch is older than the coordinator's (INVALID_PRODUCER_EPOCH when
 * newer, which no coordinator handed out). v->done runs on `from` (maybe
 * before this returns, when the coordinator is on `from`). */
void txn_verify_start(struct runtime *rt, struct shard *from, struct txn_verify *v);

/* ---- the client's requests, on the coordinator's shard ---------------- */

/* A request's completion: err, and for InitProducerId/EndTxn the producer. */
struct txn_reply {
	int16_t error;
	int64_t producer_id;
	int16_t producer_epoch;
	void (*done)(struct txn_reply *r);
};

struct txn_init_args {
	struct kstr transactional_id;
	int32_t timeout_ms;
	int64_t producer_id;     /* KIP-360: -1, or the producer's current id */
	int16_t producer_epoch;
	int64_t fresh_producer_id; /* taken by the caller, used when a new id is due */
};
void txn_init_producer_id(struct txn_coordinator *tc, const struct txn_init_args *a,
			  struct txn_reply *r);

/* One partition to add (AddPartitionsToTxn, AddOffsetsToTxn). */
struct txn_add_partition {
	struct kstr topic;
	int32_t partition;
	int16_t error; /* out: per partition for verify-only */
};
struct txn_add_args {
	struct kstr transactional_id;
	int64_t producer_id;
	int16_t producer_epoch;
	bool verify_only;
	struct txn_add_partition *partitions; /* valid until done */
	uint32_t count;
};
/* r->error applies to every partition, unless verify-only (then each
 * partition carries its own: NONE, or TRANSACTION_ABORTABLE when it is not
 * in the ongoing transaction, as Kafka 4 answers). */
void txn_add_partitions(struct txn_coordinator *tc, const struct txn_add_args *a,
			struct txn_reply *r);

struct txn_end_args {
	struct kstr transactional_id;
	int64_t producer_id;
	int16_t producer_epoch;
	bool commit;
	bool bump_epoch; /* EndTxn v5+ (KIP-890 part 2) */
	int64_t fresh_producer_id; /* bump_epoch: used when the epoch is exhausted */
};
void txn_end(struct txn_coordinator *tc, const struct txn_end_args *a, struct txn_reply *r);

#endif
