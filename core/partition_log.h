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
 * write have completed, and append callbacks run in offset order. A failed
 * write takes the partition offline: every later append and read answers
 * KAFKA_STORAGE_ERROR, and the failure is logged once, naming the file. */
#ifndef SLUICE_CORE_PARTITION_LOG_H
#define SLUICE_CORE_PARTITION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/reactor.h"
#include "proto/cursor.h"
#include "proto/record_batch.h"

struct partition_log;

struct log_config {
	uint64_t segment_bytes;        /* log.segment.bytes / segment.bytes */
	uint64_t segment_ms;           /* log.roll.ms / segment.ms */
	uint32_t index_interval_bytes; /* log.index.interval.bytes */
	uint32_t segment_index_bytes;  /* log.index.size.max.bytes: rolls when full */
};

struct log_open_params {
	const char *dir;          /* partition directory; created when missing */
	struct kuuid topic_id;    /* written to partition.metadata */
	int64_t recovery_point;   /* from recovery-point-offset-checkpoint, or 0 */
	bool clean_shutdown;      /* the broker's clean-shutdown marker was present */
	const struct log_config *cfg;
	struct reactor *reactor;
};

/* Opens (or creates) the log. After an unclean stop, every segment from the one
 * holding the recovery point onwards is re-scanned batch by batch: CRC-checked,
 * indexes rebuilt, and the log truncated at the first torn or corrupt batch
 * (logged with file and position). Returns 0 or -errno with a message in err. */
int partition_log_open(const struct log_open_params *p, struct partition_log **out, char *err,
		       size_t errlen);

/* Closes files after writing the indexes out; pending appends must be done. */
void partition_log_close(struct partition_log *l);

/* Closes and removes the directory and all its files (DeleteTopics). */
int partition_log_delete(struct partition_log *l);

int64_t partition_log_start_offset(const struct partition_log *l);
/* Next offset to assign. */
int64_t partition_log_end_offset(const struct partition_log *l);
/* Offset below which every batch is written and readable. */
int64_t partition_log_high_watermark(const struct partition_log *l);
bool partition_log_offline(const struct partition_log *l);
uint32_t partition_log_pending_appends(const struct partition_log *l);

/* Called (with the ctx given) whenever the high watermark advances, after the
 * append callbacks; the owner wakes waiting fetches from it. */
void partition_log_set_advance_hook(struct partition_log *l, void (*hook)(void *ctx), void *ctx);

struct log_append;
typedef void (*log_append_fn)(struct log_append *a, int16_t error_code);

/* An append in flight, embedded in its owner (a produce request part). */
struct log_append {
	log_append_fn done;
	int64_t base_offset;     /* filled by partition_log_append */
	int64_t log_append_time; /* -1 unless the topic uses LogAppendTime */
	/* private to partition_log: */
	struct io_op write_op;
	struct partition_log *log;
	struct log_append *next;
	int64_t end_offset;       /* offset after the batch's last record */
	int64_t segment_base;     /* base offset of the segment written to */
	uint64_t end_pos;         /* file position after the batch */
	uint32_t len;
	int32_t result;
	bool completed;
};

/* Appends one validated batch (header from record_batch_validate). Rewrites the
 * batch's baseOffset and partitionLeaderEpoch in place, sets a->base_offset,
 * and submits the write; `batch` must stay valid until a->done runs. Returns 0,
 * or a Kafka error code without calling done (offline partition). */
int16_t partition_log_append(struct partition_log *l, uint8_t *batch, size_t len,
			     const struct record_batch_header *h, struct log_append *a);

/* A byte range of one segment file to send for a fetch. */
struct log_read {
	int fd;            /* the segment's descriptor, owned by the log */
	uint64_t file_off;
	uint32_t len;      /* 0 when nothing is readable at this offset yet */
};

/* Plans a read starting at `offset`: the range covers whole batches, from the
 * batch containing `offset` (found through the offset index and a short scan of
 * batch headers), stays within one segment, ends at or below the high
 * watermark, and holds at most max_bytes unless `first_whole` and the first
 * batch alone is larger (KIP-74), in which case exactly that batch. Returns 0
 * or OFFSET_OUT_OF_RANGE (offset < log start or > high watermark) or
 * KAFKA_STORAGE_ERROR. */
int16_t partition_log_read(struct partition_log *l, int64_t offset, uint32_t max_bytes,
			   bool first_whole, struct log_read *out);

/* ListOffsets by timestamp: the first offset whose batch max timestamp is >= ts
 * (through the time index), with that batch's timestamp; -1/-1 when none. */
void partition_log_offset_for_time(struct partition_log *l, int64_t ts, int64_t *offset,
				   int64_t *timestamp);
/* The largest timestamp in the log and the offset of its record (ListOffsets
 * MAX_TIMESTAMP); -1/-1 for an empty log. */
void partition_log_max_timestamp(struct partition_log *l, int64_t *offset, int64_t *timestamp);

/* The offset up to which data is known to be on disk after partition_log_sync
 * (for recovery-point-offset-checkpoint). */
int64_t partition_log_recovery_point(const struct partition_log *l);
/* fsyncs the active segment and indexes synchronously (used at shutdown and by
 * the periodic flusher) and advances the recovery point. */
int partition_log_sync(struct partition_log *l);


#endif
