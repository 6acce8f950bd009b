/* A coordinator's replay of its state topic at start (__consumer_offsets,
 * __transaction_state): every batch of a partition from the log start to the
 * high watermark, in offset order, and every record in it, handed to the
 * coordinator's callbacks. What comes from disk is not trusted: batches are
 * CRC-checked, a compressed batch inflates to at most
 * LOG_REPLAY_INFLATED_MAX_BYTES, records are read with bounds-checked
 * cursors, and a batch or record that does not parse is reported through
 * `skip` and passed over. */
#ifndef SLUICE_CORE_LOG_LOG_REPLAY_H
#define SLUICE_CORE_LOG_LOG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log/partition_log.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

enum {
	LOG_REPLAY_READ_BYTES = 4 << 20,           /* one read of the partition */
	LOG_REPLAY_INFLATED_MAX_BYTES = 64 << 20,  /* one decompressed batch */
};

struct log_replay {
	const char *component; /* names the log lines: "group", "txn" */
	const char *topic;
	int32_t partition;
	void *ctx;
	/* A batch, before its records: false passes over them. May be NULL. */
	bool (*batch)(void *ctx, const struct record_batch_header *h);
	/* One record at `offset` of batch h. */
	void (*record)(void *ctx, const struct record_batch_header *h, int64_t offset,
		       const struct record_view *r);
	/* What cannot be read at `offset` and is passed over. */
	void (*skip)(void *ctx, int64_t offset, const char *why);
};

/* On the log's owning shard, before it serves. Returns 0, or -1 (logged
 * with the partition and offset) when the log cannot be read on. */
int log_replay_partition(struct partition_log *log, const struct log_replay *rp);

#endif
