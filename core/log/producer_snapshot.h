/* Producer state snapshots in Kafka's format: `<20-digit offset>.snapshot`
 * in the partition directory, holding the producer state of every batch
 * below that offset: int16 version (1), uint32 CRC32C of what follows,
 * int32 entry count, then per producer int64 producer id, int16 epoch,
 * int32 last sequence, int64 last offset, int32 last offset delta, int64
 * timestamp, int32 coordinator epoch, int64 ongoing transaction's first
 * offset (-1: none). Kafka keeps one batch per producer in the file, so
 * after a load only the last batch of each producer is known to be a
 * duplicate, as in Kafka. */
#ifndef SLUICE_CORE_LOG_PRODUCER_SNAPSHOT_H
#define SLUICE_CORE_LOG_PRODUCER_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/log/producer_state.h"

enum {
	PRODUCER_SNAPSHOT_VERSION = 1,
	PRODUCER_SNAPSHOT_HEADER_BYTES = 10, /* version, CRC, entry count */
	PRODUCER_SNAPSHOT_ENTRY_BYTES = 46,
	/* Newest snapshots kept per partition; older ones are deleted. */
	PRODUCER_SNAPSHOTS_KEPT = 2,
	/* The largest snapshot file read: far more producers than a partition
	 * has (Kafka's files hold one entry per producer id). */
	PRODUCER_SNAPSHOT_MAX_BYTES = 64 << 20,
};

/* Encodes the state into a malloc'd buffer (*out, *len). Returns 0 or
 * -ENOMEM. */
int producer_snapshot_encode(const struct producer_state *ps, uint8_t **out, size_t *len);

/* Decodes a snapshot's bytes into ps (added to what it holds), leaving out
 * producers that expired by now_ms. Returns 0, or -1 with the reason in
 * why (a bad version, CRC, count or length): nothing is added then. */
int producer_snapshot_decode(const uint8_t *p, size_t len, int64_t now_ms, int64_t expiration_ms,
			     struct producer_state *ps, char *why, size_t why_len);

/* Writes `<dir>/<offset>.snapshot` (through a temporary file and a
 * rename, so that a reader sees a whole file or none), fdatasync'd when
 * `durable`, then deletes all but the PRODUCER_SNAPSHOTS_KEPT newest.
 * Returns 0 or -errno (logged with the file name). */
int producer_snapshot_write(const char *dir, int64_t offset, const struct producer_state *ps,
			    bool durable);

/* The newest snapshot at or below max_offset, after deleting those above
 * it (a log cut back by recovery); -1 when there is none. */
int64_t producer_snapshot_latest(const char *dir, int64_t max_offset);

/* Loads `<dir>/<offset>.snapshot` into ps. A file that is unreadable,
 * truncated or corrupt is logged with its name and removed, and -1
 * returned (ps unchanged); 0 on success. */
int producer_snapshot_load(const char *dir, int64_t offset, int64_t now_ms, int64_t expiration_ms,
			   struct producer_state *ps);

#endif
