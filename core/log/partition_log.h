/* One partition's log in Kafka's on-disk format, owned by one io shard.
 *
 * Directory `<log.dir>/<topic>-<partition>/` holds segments
 * `<20-digit base offset>.log` with their `.index` (8-byte entries: int32
 * relative offset, int32 file position, big-endian) and `.timeindex` (12-byte
 * entries: int64 timestamp, int32 relative offset), plus `partition.metadata`
 * and `leader-epoch-checkpoint`.
 *
 * Appends are written through the shard's reactor. Offsets are assigned at
 * append time (log end offset), but a batch becomes visible to readers (the
 * high watermark, on a single node) only when its write and every earlier
 * write have completed, and append callbacks run in offset order.
 *
 * A failed write (ENOSPC, EIO) fails every append still pending with
 * KAFKA_STORAGE_ERROR, cuts the segment back to the high watermark, and
 * refuses appends for a short backoff, after which the next append retries:
 * a partition that ran out of space resumes once space is freed, and what is
 * below the high watermark stays readable throughout. A failed fsync takes
 * the partition offline (the data may be lost, as Kafka judges it): every
 * later append and read answers KAFKA_STORAGE_ERROR. Each failure is logged
 * once, naming the file and the errno.
 *
 * When a segment rolls it is flushed in the kernel's workers, and the
 * recovery point moves to the new segment's base once that completes; so
 * after a crash only the active segment is re-scanned. Between rolls the
 * flush policy (flush.messages, flush.ms) flushes the active segment and
 * moves the recovery point; flush.messages=1 holds every answer until an
 * fdatasync covering it completed (group commit, log_flush.h). A batch is
 * readable once written, before that fsync: the answer, not visibility,
 * waits for the disk. */
#ifndef SLUICE_CORE_LOG_PARTITION_LOG_H
#define SLUICE_CORE_LOG_PARTITION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log/log_append.h"
#include "io/reactor.h"
#include "proto/control_batch.h"
#include "proto/cursor.h"
#include "proto/record_batch.h"
#include "core/log/producer_state.h"
#include "core/log/txn_index.h"

struct partition_log;

/* A single node leads every partition in one leader epoch: appends stamp it
 * in each batch's partitionLeaderEpoch, and `leader-epoch-checkpoint` names
 * it from the log start. */
enum { PARTITION_LOG_LEADER_EPOCH = 0 };
/* Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
enum { PARTITION_LOG_NO_EPOCH = -1 };
static const int64_t PARTITION_LOG_NO_EPOCH_OFFSET = -1;

struct log_config {
	uint64_t segment_bytes;        /* log.segment.bytes / segment.bytes */
	uint64_t segment_ms;           /* log.roll.ms / segment.ms */
	uint32_t index_interval_bytes; /* log.index.interval.bytes */
	uint32_t segment_index_bytes;  /* log.index.size.max.bytes: rolls when full */
	/* flush.messages / flush.ms (log_flush.h); flush_messages 0 and a
	 * negative flush_ms are read as INT64_MAX (never), so that a zeroed
	 * config keeps Kafka's defaults (flush.ms needs a flush_shard). */
	int64_t flush_messages;
	int64_t flush_ms;
	uint64_t segment_jitter_ms;    /* segment.jitter.ms / log.roll.jitter.ms */
	/* Retention (log_retention.h), for cleanup.policy containing delete: */
	bool delete_enabled;
	int64_t retention_ms;          /* retention.ms / log.retention.ms; -1: none */
	int64_t retention_bytes;       /* retention.bytes / log.retention.bytes; -1: none */
	uint64_t file_delete_delay_ms; /* file.delete.delay.ms / log.segment.delete.delay.ms */
	int64_t producer_id_expiration_ms;                /* producer.id.expiration.ms */
	int64_t producer_id_expiration_check_interval_ms; /* ...check.interval.ms */
	bool compact;                  /* cleanup.policy has compact: gaps are expected */
	/* Mapped appends (segment_write.c): batches up to this size are copied
	 * into the active segment's mapping (sluice.log.append.mapped.max.bytes;
	 * 0: every append is an io_uring write), in a range the kernel's workers
	 * pre-fault, at most this many bytes at a time
	 * (sluice.log.append.prefault.max.bytes). */
	uint32_t mapped_append_max_bytes;
	uint64_t prefault_max_bytes;
};

struct log_flush_shard;

struct log_open_params {
	const char *dir;          /* partition directory; created when missing */
	struct kuuid topic_id;    /* written to partition.metadata */
	int64_t recovery_point;   /* from recovery-point-offset-checkpoint, or 0 */
	int64_t log_start_offset; /* from log-start-offset-checkpoint, or 0 */
	bool clean_shutdown;      /* the broker's clean-shutdown marker was present */
	const struct log_config *cfg;
	struct reactor *reactor;
	/* The owning shard's flush scheduler and counters (log_flush.h); NULL:
	 * flush.ms is not scheduled and nothing is counted. */
	struct log_flush_shard *flush_shard;
};

/* Opens (or creates) the log. After an unclean stop, every segment from the one
 * holding the recovery point onwards is re-scanned batch by batch: CRC-checked,
 * indexes rebuilt, the torn tail cut off and the log left contiguous; after a
 * clean one, the tail of the last segment is checked. Damage that is not a
 * torn tail is kept and answered with CORRUPT_MESSAGE by reads (see
 * log_recovery.c). Everything is logged with file and position. Returns 0 or
 * -errno with a message in err. */
int partition_log_open(const struct log_open_params *p, struct partition_log **out, char *err,
		       size_t errlen);

/* Closes files after writing the indexes out; nothing may be in flight
 * (partition_log_ops_in_flight). */
void partition_log_close(struct partition_log *l);

/* Closes and removes the directory and all its files (DeleteTopics). */
int partition_log_delete(struct partition_log *l);

/* Kafka's log start offset: at or above the first segment's base (DeleteRecords
 * may move it inside a segment), at or below the high watermark. */
int64_t partition_log_start_offset(const struct partition_log *l);
/* Next offset to assign. */
int64_t partition_log_end_offset(const struct partition_log *l);
/* Offset below which every batch is written and readable. */
int64_t partition_log_high_watermark(const struct partition_log *l);
/* A failed fsync: the partition stays offline until a restart. */
bool partition_log_offline(const struct partition_log *l);
/* Appends and segment flushes in flight: the log may be closed or deleted
 * only when none are. */
uint32_t partition_log_ops_in_flight(const struct partition_log *l);

/* Called (with the ctx given) whenever the high watermark advances, after the
 * append callbacks; the owner wakes waiting fetches from it. */
void partition_log_set_advance_hook(struct partition_log *l, void (*hook)(void *ctx), void *ctx);

/* The owning shard: replaces the log's config (an altered topic's). Segments
 * roll, flush and go by the new values from the next append or check on;
 * segments already open keep their size. */
void partition_log_set_config(struct partition_log *l, const struct log_config *cfg);

/* Appends one validated batch (header from record_batch_validate). Rewrites the
 * batch's baseOffset and partitionLeaderEpoch in place, sets a->base_offset,
 * and submits the write; `batch` must stay valid until a->done runs. Rolls
 * first when the segment is full, old, or could not hold the batch's offsets
 * within int32 of its base. Returns 0, or KAFKA_STORAGE_ERROR without calling
 * done (offline, or refusing appends after a failed write). */
int16_t partition_log_append(struct partition_log *l, uint8_t *batch, size_t len,
			     const struct record_batch_header *h, struct log_append *a);

/* Producer state (producer_state.h), kept in offset order with the appends:
 * partition_log_append records every idempotent batch it places, a failed
 * write takes the state back with the log, and it is snapshotted at each
 * roll and at close in Kafka's `<offset>.snapshot` files and loaded at
 * open (log_producers.c). */
const struct producer_state *partition_log_producers(const struct partition_log *l);
/* Any shard (the metrics): how many producers the owner last published. */
uint32_t partition_log_producers_published(const struct partition_log *l);

/* Checks an idempotent batch before its append (`where` names it in
 * messages). PRODUCER_APPEND: append it. PRODUCER_REFUSED: out->error.
 * PRODUCER_DUPLICATE: nothing is written; a->base_offset and
 * a->log_append_time are the original's, and when the original is still
 * being written a->log is set and a->done runs after the original's (with
 * its error, if it fails), else a->log is NULL and the caller answers now. */
enum producer_verdict partition_log_producer_check(struct partition_log *l,
						   const struct record_batch_header *h,
						   struct producer_where where, struct producer_check *out,
						   struct log_append *a);

/* A transaction marker's append, embedded in its owner: the caller sets
 * append.done; append.base_offset is the marker's offset. */
struct log_marker_append {
	struct log_append append;
	uint8_t batch[CONTROL_MARKER_BATCH_BYTES];
};

/* Writes a COMMIT or ABORT marker for m's producer (Kafka's control batch,
 * control_batch.h), ending its transaction on the partition (an ABORT is
 * also listed in the segment's .txnindex). Checked first against the
 * producer state: INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED
 * (producer_state_check_marker) write nothing; else as
 * partition_log_append (done runs unless an error is returned). */
int16_t partition_log_append_marker(struct partition_log *l, const struct control_marker *m,
				    struct log_marker_append *out);

/* Kafka's last stable offset: the high watermark, or below it the first
 * offset of the earliest transaction not yet ended by a written marker
 * (never below the log start). read_committed readers read below it. */
int64_t partition_log_last_stable_offset(const struct partition_log *l);

/* On the owning shard: applies retention (log_retention.h) to the log now. Returns how many
 * segments were removed. */
uint32_t partition_log_retain(struct partition_log *l, int64_t now_ms);

/* DeleteRecords on the owning shard: moves the log start offset to `offset`
 * (-1: the high watermark) and removes the segments wholly below it; the
 * segment holding the new start stays, and reads below it answer
 * OFFSET_OUT_OF_RANGE. *low_watermark is the log start after it (-1 on an
 * error). Returns NONE, OFFSET_OUT_OF_RANGE (negative, or above the high
 * watermark), POLICY_VIOLATION (cleanup.policy without delete) or
 * KAFKA_STORAGE_ERROR. */
int16_t partition_log_delete_records(struct partition_log *l, int64_t offset,
				     int64_t *low_watermark);

/* A byte range of one segment file to send for a fetch. */
struct log_read {
	int fd;            /* the segment's descriptor, owned by the log */
	uint64_t file_off;
	uint32_t len;      /* 0 when nothing is readable at this offset yet */
	int64_t next_offset; /* after the range's last batch (the offset asked, when empty) */
};

/* Plans a read starting at `offset`: the range covers whole batches, from the
 * batch containing `offset` (found through the offset index and a short scan of
 * batch headers), stays within one segment, ends at or below the high
 * watermark, and holds at most max_bytes unless `first_whole` and the first
 * batch alone is larger (KIP-74), in which case exactly that batch. Every
 * header is checked (log_batch_at); the range stops before a batch that
 * cannot be read, and a read starting at one answers CORRUPT_MESSAGE (logged
 * once with file and position), never skipping it. An offset between
 * segments moves on to the next batch that exists, as for Kafka's compacted
 * gaps; below the high watermark the answer is never empty without an error,
 * except in a compacted log whose cleaner removed every batch from `offset`
 * up to the active segment, which is empty (Kafka answers that read empty
 * too).
 * Returns 0 or OFFSET_OUT_OF_RANGE (offset < log start or > high watermark),
 * CORRUPT_MESSAGE or KAFKA_STORAGE_ERROR. */
int16_t partition_log_read(struct partition_log *l, int64_t offset, uint32_t max_bytes,
			   bool first_whole, struct log_read *out);
/* The same, of batches starting below `below` only (read_committed reads
 * below the last stable offset): at or past it, nothing is read and no
 * error answered. */
int16_t partition_log_read_below(struct partition_log *l, int64_t offset, uint32_t max_bytes,
				 bool first_whole, int64_t below, struct log_read *out);

/* Kafka's collectAbortedTransactions: the aborted transactions of the
 * segments' .txnindex whose ranges overlap [start, upper) (last offset >=
 * start, first offset < upper), from the segment holding start on, until
 * an entry's last stable offset reaches upper. At most max go to out;
 * returns how many overlap (more than max: the caller reads less). */
uint32_t partition_log_aborted_txns(const struct partition_log *l, int64_t start, int64_t upper,
				    struct aborted_txn *out, uint32_t max);

/* The most a time lookup inflates one compressed batch to. */
enum { LOG_DECOMPRESS_MAX_BYTES = 64 << 20 };

/* One stored batch for a time lookup. */
struct log_time_batch {
	int fd; /* the segment's descriptor, owned by the log */
	uint64_t file_off;
	uint32_t len;
	struct record_batch_header header;
	bool search_records;
};

/* On the owning shard: through the time index, the one batch holding the
 * first record with timestamp >= ts. Returns 0 with *found=false when no batch
 * qualifies; else *found=true and the batch's location (fd owned by the log —
 * the caller dup()s it if it reads after returning to the loop), its header,
 * and whether its records must be searched (false for LogAppendTime batches,
 * where the answer is the batch's base offset and max timestamp). Or
 * KAFKA_STORAGE_ERROR / CORRUPT_MESSAGE. */
int16_t partition_log_time_locate(struct partition_log *l, int64_t ts, bool *found,
				  struct log_time_batch *out);

/* ListOffsets by timestamp, synchronously: the first offset whose record
 * timestamp is >= ts, with that timestamp; -1/-1 when none. Locates the batch,
 * reads it and searches its records, inflating at most that one batch (at
 * most LOG_DECOMPRESS_MAX_BYTES). Returns 0, KAFKA_STORAGE_ERROR or
 * CORRUPT_MESSAGE (then -1/-1). */
int16_t partition_log_offset_for_time(struct partition_log *l, int64_t ts, int64_t *offset,
				      int64_t *timestamp);
/* The largest timestamp in the log and the offset of its record (ListOffsets
 * MAX_TIMESTAMP); -1/-1 for an empty log. */
void partition_log_max_timestamp(struct partition_log *l, int64_t *offset, int64_t *timestamp);

/* The offset below which data is known to be on disk: moved by the flush at
 * each roll and by partition_log_sync (for recovery-point-offset-checkpoint). */
int64_t partition_log_recovery_point(const struct partition_log *l);
/* Any shard (the checkpoint writer): the recovery point and log start offset
 * as the owner last published them. */
void partition_log_checkpoint_offsets(const struct partition_log *l, int64_t *recovery_point,
				      int64_t *start_offset);
/* Any shard (metrics): the figures the owner last published. */
struct log_stats {
	int64_t start_offset;
	int64_t high_watermark;
	uint64_t size_bytes;       /* every segment's bytes */
	uint64_t segments;
	uint64_t deleted_segments; /* by retention and DeleteRecords, since start */
	uint64_t deleted_bytes;
	/* Appends copied into the active segment's mapping, and those written
	 * by io_uring write (segment_write.c), since start. */
	uint64_t mapped_appends;
	uint64_t written_appends;
};
void partition_log_stats(const struct partition_log *l, struct log_stats *out);
/* fsyncs every unflushed segment and the active segment's indexes
 * synchronously (at shutdown, once the loops have stopped) and advances the
 * recovery point. */
int partition_log_sync(struct partition_log *l);

/* On the owning shard: the bytes of every segment's batches (Kafka's
 * log.size; an active segment's file may be longer, mapped appends write
 * into a file sized to segment.bytes). */
uint64_t partition_log_size_bytes(const struct partition_log *l);

/* On the owning shard: Kafka's LeaderEpochFileCache.endOffsetFor over the
 * log's one epoch (PARTITION_LOG_LEADER_EPOCH, from the log start): that
 * epoch answers itself and the log end offset; an epoch below it answers
 * itself and the log start (the data before was removed); NO_EPOCH and an
 * epoch above it answer NO_EPOCH / NO_EPOCH_OFFSET. */
void partition_log_epoch_end_offset(const struct partition_log *l, int32_t epoch,
				    int32_t *found_epoch, int64_t *end_offset);


#endif
