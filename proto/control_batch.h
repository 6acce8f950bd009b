/* Kafka's transaction markers: control batches (attributes CONTROL |
 * TRANSACTIONAL, the producer's id and epoch, base sequence -1) holding one
 * record whose key is int16 version 0 + int16 type (0 ABORT, 1 COMMIT) and
 * whose value is int16 version 0 + int32 coordinator epoch (Kafka's
 * EndTransactionMarker). Building one, and reading one back from the log. */
#ifndef SLUICE_PROTO_CONTROL_BATCH_H
#define SLUICE_PROTO_CONTROL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CONTROL_TYPE_ABORT = 0,
	CONTROL_TYPE_COMMIT = 1,
	CONTROL_MARKER_VERSION = 0,
	/* The 61-byte header and the one record: length varint (1), body of
	 * attributes, timestamp and offset deltas (3), key (1 + 4), value
	 * (1 + 6) and the header count (1). */
	CONTROL_MARKER_BATCH_BYTES = 78,
};

struct control_marker {
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t coordinator_epoch;
	bool commit;
};

/* Writes the marker's batch, CONTROL_MARKER_BATCH_BYTES long, base offset
 * 0 (the log assigns it), CRC set. */
void control_batch_build(uint8_t buf[CONTROL_MARKER_BATCH_BYTES], const struct control_marker *m,
			 int64_t timestamp_ms);

/* Reads a whole control batch of len bytes (from the log: not trusted).
 * Returns true for a COMMIT or ABORT marker, filling *m from the batch's
 * header and its record; false for anything else (another control type,
 * unknown versions, a malformed record). */
bool control_batch_read(const uint8_t *batch, size_t len, struct control_marker *m);

#endif
