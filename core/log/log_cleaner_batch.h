/* One stored batch through the cleaner: its records read back (inflated when
 * compressed), and the batch rewritten without the records the cleaner drops,
 * as Kafka's MemoryRecords.filterTo does it for magic 2:
 *   - baseOffset, lastOffsetDelta, partitionLeaderEpoch, attributes (codec,
 *     timestamp type, transactional bit), producerId, producerEpoch and
 *     baseSequence are kept (the last offset as Kafka's overrideLastOffset
 *     keeps it, so that the batch still ends at its producer's last
 *     sequence); recordCount, maxTimestamp (CreateTime) and the CRC are
 *     those of the records kept, each record keeping its offset;
 *   - a batch that keeps a tombstone and has no delete horizon gets one
 *     (attribute bit 0x40, baseTimestamp = now + delete.retention.ms, the
 *     records' timestamp deltas re-encoded against it; KIP-534); once the
 *     horizon has passed, its tombstones go;
 *   - a batch that keeps every record and needs no horizon is copied as it
 *     is; one that keeps none is dropped, unless it is its producer's last
 *     (then it stays with no records, as Kafka's RETAIN_EMPTY);
 *   - a transaction marker whose transaction is done gets a delete horizon
 *     the same way, and goes once it has passed;
 *   - a compressed batch is written back with its own codec.
 * Bytes read back from disk are not trusted: a batch whose CRC or records do
 * not check out is never rewritten, only copied whole (LOG_CLEANER_BATCH_KEPT
 * with `damaged`), so the cleaner can never lose data it does not
 * understand. */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_BATCH_H
#define SLUICE_CORE_LOG_LOG_CLEANER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log/log_cleaner_codec.h"
#include "proto/cursor.h"
#include "proto/record_batch.h"

/* One record of a stored batch; the views point into the batch or into the
 * scratch buffer it was inflated to. */
struct cleaner_record {
	int64_t offset;
	int64_t timestamp;
	int8_t attributes;
	struct kbytes key;        /* len -1: null */
	struct kbytes value;      /* len -1: a tombstone */
	const uint8_t *headers;   /* the header count and headers, as stored */
	size_t headers_len;
	const uint8_t *raw;       /* the whole record, its length varint first */
	size_t raw_len;
};

/* A walk over the records of one stored batch. */
struct cleaner_batch {
	struct record_batch_header h;
	struct rcursor records;   /* over the plain records */
	int32_t walked;
	int64_t last_offset;      /* offset of the last record walked */
};

/* Opens the batch at batch[0..len) (len = its whole size): checks its CRC,
 * inflates a compressed one into scratch (at most inflated_max bytes).
 * Returns 0, or -EINVAL (CRC, codec or payload damaged), -EMSGSIZE, -ENOMEM. */
int log_cleaner_batch_open(const uint8_t *batch, size_t len, size_t inflated_max,
			   struct cleaner_buf *scratch, struct cleaner_batch *b);
/* The next record: 1, or 0 after the last (exactly recordCount of them,
 * ending where the records do), or -EINVAL for a malformed one. */
int log_cleaner_batch_next(struct cleaner_batch *b, struct cleaner_record *r);

/* Whether a record with a key the cleaner has seen later stays: set by the
 * caller from the key map. */
typedef bool (*log_cleaner_keep_fn)(void *ctx, const struct cleaner_record *r);

struct log_cleaner_filter {
	log_cleaner_keep_fn keep;
	void *ctx;
	int64_t now_ms;
	int64_t delete_retention_ms;
	size_t inflated_max;
	struct cleaner_buf scratch;  /* owned by the caller, reused */
	struct cleaner_buf plain;    /* the kept records before compression */
};

/* What the caller decided for a whole batch before its records are looked
 * at (log_cleaner_txn.h): Kafka's checkBatchRetention. */
struct log_cleaner_batch_plan {
	bool discard;      /* every record goes: aborted data, or a done marker past its horizon */
	bool marker_done;  /* a marker with no data of its transaction left: it takes a horizon */
	bool keep_empty;   /* its producer's last batch: kept with no records if none stays */
};

enum log_cleaner_batch_fate {
	LOG_CLEANER_BATCH_KEPT,      /* copied unchanged */
	LOG_CLEANER_BATCH_REWRITTEN, /* written with fewer records or a new horizon,
				      * or emptied (record count 0, its offsets, producer
				      * fields and max timestamp kept) */
	LOG_CLEANER_BATCH_DROPPED,   /* nothing of it kept */
};

struct log_cleaner_batch_result {
	enum log_cleaner_batch_fate fate;
	bool damaged;             /* could not be read: copied unchanged */
	uint32_t records_kept, records_dropped;
	struct record_batch_header out; /* the header written (KEPT, REWRITTEN) */
};

/* Appends the batch, as the cleaner leaves it under `plan`, to out. A
 * control batch keeps its record unless discarded. Returns 0 or -ENOMEM
 * (out then as it was). */
int log_cleaner_batch_filter(struct log_cleaner_filter *f, const struct log_cleaner_batch_plan *plan,
			     const uint8_t *batch, size_t len, struct cleaner_buf *out,
			     struct log_cleaner_batch_result *res);

#endif
