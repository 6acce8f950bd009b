/* An append to a partition log in flight (partition_log_append), embedded
 * in its owner; the parts of the log that queue, hold and answer appends
 * (partition_log.c, log_flush.c, log_producers.c) share it. */
#ifndef SLUICE_CORE_LOG_LOG_APPEND_H
#define SLUICE_CORE_LOG_LOG_APPEND_H

#include <stdbool.h>
#include <stdint.h>

#include "io/reactor.h"

struct partition_log;

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
	const uint8_t *batch;
	int64_t end_offset;       /* offset after the batch's last record */
	int64_t segment_base;     /* base offset of the segment written to */
	uint64_t end_pos;         /* file position after the batch */
	uint32_t len;
	uint32_t written;         /* bytes written so far (short writes resume) */
	bool echo;                /* a duplicate answered after its original, unwritten */
	int32_t result;           /* 0, or -errno */
	int16_t held_error;       /* the answer while held for a group commit */
	bool completed;
	/* The segment's index state before this append, to undo it. */
	uint64_t mark_bytes_since_index;
	uint32_t mark_idx_len, mark_tidx_len;
	int64_t mark_max_ts, mark_max_ts_offset;
};

#endif
