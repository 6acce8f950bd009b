/* Private to the partition log's files (partition_log.c: appends, rolls,
 * flushes and write failures; log_segment.c: segment files and indexes;
 * log_recovery.c: opening and recovery; log_read.c: read planning and time
 * lookups; log_flush.c: the flush policy and group commit): the segment and
 * log structures and what those files share. */
#ifndef SLUICE_CORE_LOG_LOG_INTERNAL_H
#define SLUICE_CORE_LOG_LOG_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log/log_flush.h"
#include "core/log/offset_index.h"
#include "core/log/partition_log.h"
#include "core/log/producer_state.h"
#include "core/log/txn_index.h"

enum {
	OFFSET_ENTRY_BYTES = 8,
	TIME_ENTRY_BYTES = 12,
	RECOVERY_BUF_BYTES = 1 << 20,
	SEGMENT_NAME_DIGITS = 20,
	/* Distinct corrupt positions remembered so that each is logged once,
	 * not once per fetch that meets it. */
	LOG_CORRUPT_REPORTS_MAX = 16,
	/* After a failed write, appends are refused for this long once the
	 * segment is back at the high watermark, then retried. */
	LOG_WRITE_RETRY_BACKOFF_MS = 1000,
};

struct time_entry {
	int64_t timestamp;
	int32_t rel_offset;
};

/* What an append changes in its segment, saved before it so that a failed
 * write can be undone. */
struct segment_mark {
	int64_t segment_base;
	uint64_t size;
	uint64_t bytes_since_index;
	uint32_t idx_len, tidx_len;
	int64_t max_ts, max_ts_offset;
};

struct segment {
	int64_t base_offset;
	int fd;
	/* A read-only mapping for planning reads: batch headers are memory loads,
	 * not syscalls. It spans the file or segment_bytes, whichever is larger;
	 * only bytes below visible_size are ever touched. */
	const uint8_t *map;
	size_t map_len;
	uint64_t size;         /* bytes submitted */
	uint64_t visible_size; /* bytes written and readable */
	int64_t created_ms;
	int64_t roll_jitter_ms; /* Kafka's per-segment random jitter on segment.ms */
	/* The first batch's max timestamp, which segment.ms counts from (Kafka's
	 * rollingBasedTimestamp); -1 until known. */
	int64_t rolling_ts;
	uint64_t bytes_since_index;
	struct offset_entry *idx;
	uint32_t idx_len, idx_cap;
	struct time_entry *tidx;
	uint32_t tidx_len, tidx_cap;
	int64_t max_ts;        /* largest batch max timestamp, -1 if none */
	int64_t max_ts_offset; /* last offset of that batch */
	bool dirty;            /* appended to since the last fdatasync */
	bool verify_reads;     /* recovery kept a batch failing its CRC: reads check CRCs */
	bool index_checked;    /* a read doubted the index and checked it once */
	/* The file was made sparse up to segment.bytes for mapped appends
	 * (segment_write.c): cut back to `size` at roll and close. */
	bool preallocated;
	/* Its .txnindex: the aborted transactions whose markers it holds, in
	 * marker order (log_txns.c). */
	struct aborted_txn *aborted;
	uint32_t aborted_len, aborted_cap;
};

/* The flush of a rolled segment: once every write to it has completed,
 * fdatasync of the segment and its indexes and fsync of the directory, in the
 * kernel's workers; then the recovery point moves to the next segment's base.
 * Flushes complete into the recovery point in roll order. */
/* .log, .index, .timeindex, .txnindex (when the segment lists aborted
 * transactions; else -1, not flushed), the directory (last) */
enum { LOG_FLUSH_FILES = 5, LOG_FLUSH_TXN_INDEX = 3, LOG_FLUSH_DIR = 4 };
struct log_flush;
struct log_flush_op {
	struct io_op op;
	struct log_flush *flush;
};
struct log_flush {
	struct partition_log *log;
	struct log_flush *next;
	int64_t segment_base;
	int64_t end_offset;        /* the next segment's base */
	int fds[LOG_FLUSH_FILES];  /* [0] is the segment's, borrowed; the rest owned */
	struct log_flush_op ops[LOG_FLUSH_FILES];
	uint32_t ops_pending;
	int error;                 /* the first errno */
	bool started, done;
};

/* The mapped append path of the active segment (segment_write.c). */
struct segment_writer {
	struct partition_log *log;
	uint8_t *map;          /* writable shared mapping of the segment; NULL: detached */
	size_t map_len;        /* segment.bytes */
	int64_t segment_base;
	/* Preallocated and pre-faulted: mapped appends copy only in here. */
	uint64_t ready_start, ready_end;
	uint64_t ask_start, ask_end; /* what the helper works on */
	/* The last ask's write position and how far ahead of it to prepare,
	 * step by step. */
	uint64_t append_end, reach_bytes;
	bool in_flight;        /* one preparation at a time */
	bool stopped;          /* a preparation failed: the segment's appends go by write */
	/* Detached while a preparation was in flight: unmapped when it ends. */
	uint8_t *retired_map;
	size_t retired_len;
	struct io_op populate_op;
	uint64_t mapped_appends, unready_appends, prepared_bytes, stops;
	/* The appends' rate since window_start_ns, which sizes the next range. */
	uint64_t window_start_ns, window_bytes;
	/* For the metrics, stored by the owner (partition_log_stats). */
	_Atomic uint64_t published_mapped, published_written;
	uint64_t written_appends;
};

struct corrupt_report {
	int64_t segment_base;
	uint64_t pos;
};

struct partition_log {
	char dir[PATH_MAX];
	struct log_config cfg;
	struct reactor *reactor;
	struct segment *segs;
	uint32_t nsegs, segs_cap;
	int64_t end_offset;
	int64_t hw;
	int64_t recovery_point;
	int64_t log_start;           /* partition_log_start_offset */
	uint64_t closed_bytes;       /* bytes of every segment but the active one */
	/* For the checkpoint writer on the control shard and the metrics:
	 * stored by the owner. */
	_Atomic int64_t published_recovery_point;
	_Atomic int64_t published_start_offset;
	_Atomic int64_t published_hw;
	_Atomic uint64_t published_bytes;
	_Atomic uint64_t published_segments;
	_Atomic uint64_t published_deleted_segments;
	_Atomic uint64_t published_deleted_bytes;
	/* Segments renamed .deleted, waiting for their deletion (log_retention.c). */
	struct log_doomed *doomed;
	uint32_t doomed_ops;         /* their unlink/close ops in flight */
	uint64_t deleted_segments, deleted_bytes;
	bool offline;           /* a failed fsync: nothing more until a restart */
	bool epoch_written;
	/* Appends are refused after a failed write or roll, until retry_ns and,
	 * for a write, until every pending append is answered and the segment is
	 * back at the high watermark (reverting). */
	bool refusing;
	bool reverting;
	int refusal_errno;
	int64_t refusal_offset; /* a success from here on ends the refusal */
	uint64_t retry_ns;
	uint64_t refused_appends;
	struct segment_mark revert_to; /* before the first failed append */
	struct log_append *pending_head, *pending_tail;
	uint32_t pending;
	struct log_flush *flush_head, *flush_tail;
	uint32_t flushes;
	void (*hook)(void *);
	void *hook_ctx;
	struct segment_writer writer; /* the active segment's mapped appends */
	struct corrupt_report reports[LOG_CORRUPT_REPORTS_MAX];
	uint32_t reports_next;
	struct log_sync sync;   /* the flush policy's state (log_flush.c) */
	/* log_producers.c: the producers' state up to the log end offset,
	 * the offset of the newest snapshot (-1: none) and the next expiry. */
	struct producer_state producers;
	int64_t producers_snapshot_offset;
	uint64_t producers_next_expiry_ns;
	_Atomic uint32_t published_producers; /* for the metrics, on the control shard */
	/* The cleaner's (log_cleaner.c): below cleaner_offset the log is clean
	 * (cleaner-offset-checkpoint); a pass in flight counts in
	 * partition_log_ops_in_flight. Published for the checkpoint writer and
	 * the metrics. */
	int64_t cleaner_offset;
	bool cleaning;
	bool uncleanable; /* a pass failed: not cleaned again until a restart */
	_Atomic int64_t published_cleaner_offset;
	_Atomic uint32_t published_dirty_ppm;
};

/* ---- log_segment.c ---- */

int64_t log_now_ms(void);
int log_grow(void **p, uint32_t *cap, uint32_t need, size_t elem);
void segment_path(const struct partition_log *l, int64_t base, const char *ext, char *out,
		  size_t cap);
/* The last segment whose base offset is <= offset (or the first). */
uint32_t log_segment_for(const struct partition_log *l, int64_t offset);
static inline struct segment *log_active(struct partition_log *l)
{
	return &l->segs[l->nsegs - 1];
}
/* The offset no batch of segment i may reach: the next segment's base, or for
 * the last one the log end offset. */
int64_t log_segment_limit(const struct partition_log *l, uint32_t i);

int segment_open(struct partition_log *l, int64_t base, bool create, struct segment *s);
void segment_free(struct segment *s);
/* Closes s and removes its three files. */
void segment_remove(struct partition_log *l, struct segment *s);
void segment_reset_indexes(struct segment *s);
void segment_note_batch(struct partition_log *l, struct segment *s, uint64_t pos,
			const struct record_batch_header *h);
/* The time index's final entry for a segment that stops growing (Kafka adds
 * it at roll). */
void segment_seal_time_index(struct segment *s);
/* Writes both index files of s in Kafka's byte layout. With fds NULL they
 * are fdatasync'd and closed here; else their descriptors are left open in
 * fds[0..1] for the caller to flush and close. Returns 0 or -errno. */
int segment_write_indexes(struct partition_log *l, struct segment *s, int fds[2]);
/* The same under the names `<base>.index<suffix>` and `.timeindex<suffix>`
 * (the cleaner's `.cleaned` files). */
int segment_write_indexes_named(struct partition_log *l, struct segment *s, const char *suffix,
				int fds[2]);
/* Loads the index files of segment i when both are there and consistent
 * with the segment; returns false (indexes left empty) otherwise. */
bool segment_load_indexes(struct partition_log *l, uint32_t i);

enum log_batch { LOG_BATCH_OK, LOG_BATCH_END, LOG_BATCH_CORRUPT };
/* The header of the batch at pos in segment i, checked for sanity since bytes
 * read back from disk are not trusted: magic, lengths within the visible
 * bytes, offsets at or above min_offset and below the segment's limit, and
 * within int32 of its base. END exactly at the visible end; CORRUPT with the
 * reason in *why. A sane header is enough to step over a batch. */
enum log_batch log_batch_at(const struct partition_log *l, uint32_t i, uint64_t pos,
			    int64_t min_offset, struct record_batch_header *h, const char **why);
/* Whether the batch (with a sane header) may be served: in a segment where
 * recovery kept batches failing their CRC, only one passing it. */
bool log_batch_readable(const struct partition_log *l, uint32_t i, uint64_t pos,
			const struct record_batch_header *h);
/* Rebuilds segment i's indexes from its batch headers (no CRC). Returns the
 * position where the headers stop making sense (visible_size when they
 * never do), with the reason in *why. */
uint64_t segment_rebuild_indexes(struct partition_log *l, uint32_t i, const char **why);

/* ---- segment_write.c ---- */

void segment_writer_init(struct partition_log *l);
/* Maps s (the new active segment) for appends when
 * sluice.log.append.mapped.max.bytes allows: the file is made sparse up to
 * segment.bytes. On failure (logged) its appends go by write. */
void segment_writer_attach(struct partition_log *l, struct segment *s);
/* s stops taking mapped appends (roll, close, a write failure); with cut,
 * its file is cut back to s->size. Returns 0 or -errno (of the cut). */
int segment_writer_detach(struct partition_log *l, struct segment *s, bool cut);
/* Frees the writer without touching the files (nothing in flight). */
void segment_writer_free(struct partition_log *l);
/* Copies the batch at pos of the active segment s into its mapping when it
 * is small enough and the range is prepared, and hands the helper the next
 * range when due. False: nothing copied, write it. */
bool segment_writer_append(struct partition_log *l, const struct segment *s, uint64_t pos,
			   const uint8_t *batch, size_t len);

/* An append that went by io_uring write, for the metrics. */
void segment_writer_count_written(struct partition_log *l);

/* ---- log_read.c ---- */

/* Logs a batch that cannot be read (file, position, reason), once per
 * position. */
void log_report_corrupt(struct partition_log *l, const struct segment *s, uint64_t pos,
			const char *why);

/* Adds s to the log (on failure s is left to the caller). */
int log_add_segment(struct partition_log *l, const struct segment *s);

/* ---- log_producers.c ---- */

/* At open, once the log end is known: the newest loadable snapshot, then
 * the batches after it. */
void log_producers_load(struct partition_log *l);
/* Writes a snapshot at the log end offset (at roll; durable at close). */
void log_producers_snapshot(struct partition_log *l, bool durable);
/* Forgets idle producers, every producer.id.expiration.check.interval.ms. */
void log_producers_expire(struct partition_log *l);
/* Publishes the number of producers after a change. */
void log_producers_publish(struct partition_log *l);

/* ---- log_txns.c ---- */

/* A descriptor of segment s's .txnindex to flush, or -1 when it lists no
 * aborted transaction (no file to flush) or cannot be opened (logged; the
 * flush goes on without it). */
int log_txn_index_open_for_flush(struct partition_log *l, const struct segment *s);

/* Keeps the producer state with a batch placed at base (max timestamp
 * ts), appended or read back from the log (header checked, `batch` its
 * whole bytes): an idempotent batch is recorded, a transaction marker ends
 * its producer's transaction. Returns 0 or -ENOMEM. */
int log_txns_note(struct partition_log *l, const uint8_t *batch, const struct record_batch_header *h,
		  int64_t base, int64_t ts);
/* At open, once the segments are recovered: every segment's .txnindex,
 * checked (a corrupt one is logged and rebuilt from its segment's
 * batches), without the entries past the recovered log. */
void log_txn_index_load(struct partition_log *l);
/* The log went back to end_offset: the entries of markers at or past it
 * go, from memory and from the files. */
void log_txn_index_truncate(struct partition_log *l, int64_t end_offset);

/* ---- partition_log.c ---- */

void log_publish_offsets(struct partition_log *l);
/* A failed fsync of segment_base's files (`what`, errno err): offline until a
 * restart, logged once. */
void log_go_offline(struct partition_log *l, int64_t segment_base, const char *what, int err);
/* Whether a flush of the segment based at `base` is still queued or running. */
bool log_flush_pending(const struct partition_log *l, int64_t base);

/* ---- log_retention.c ---- */

/* Frees the waiting deletions at close (their files stay, as .deleted, for
 * the next start to remove); none may have ops in flight. */
void log_doomed_free(struct partition_log *l);
/* How many leading segments retention lets go of now (with start_only, only
 * those wholly below the log start offset), and why, for the log line;
 * the active segment may be among them. */
uint32_t log_retention_due(struct partition_log *l, int64_t now_ms, bool start_only,
			   const char **why);
/* Removes the first n segments, never the active one, and moves the log start
 * up to the new first segment. Returns how many went. */
uint32_t log_retention_remove(struct partition_log *l, uint32_t n, const char *why);
/* Queues an append (or a duplicate's answer) to be answered in offset order. */
void log_pending_push(struct partition_log *l, struct log_append *a);
/* Frees the log's memory and closes its files, writing nothing. */
void log_free(struct partition_log *l);

#endif
