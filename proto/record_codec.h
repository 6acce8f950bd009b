/* Single records inside an uncompressed v2 batch: reading them one by one, and
 * building a whole batch from key/value pairs (the broker's own writes, such as
 * the group coordinator's records in __consumer_offsets). */
#ifndef SLUICE_PROTO_RECORD_CODEC_H
#define SLUICE_PROTO_RECORD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

/* One record; key and value are views into the batch (len -1: null). Headers
 * are checked for bounds and skipped. */
struct record_view {
	int64_t timestamp_delta;
	int32_t offset_delta;
	struct kbytes key;
	struct kbytes value;
};

/* Reads the record at c (its length varint first) and moves c past it.
 * Returns false and latches c->err on a malformed record. */
bool record_read(struct rcursor *c, struct record_view *out);

struct record_kv {
	struct kbytes key;
	struct kbytes value; /* len -1: a tombstone */
};

/* Bytes of the batch record_batch_build writes for these records. */
size_t record_batch_build_size(const struct record_kv *recs, uint32_t count);
/* Writes an uncompressed batch of `count` >= 1 records into buf (exactly
 * record_batch_build_size bytes): base offset 0 (the log assigns it), no
 * producer, CreateTime `timestamp_ms` for every record, CRC32C set. */
void record_batch_build(uint8_t *buf, size_t len, const struct record_kv *recs, uint32_t count,
			int64_t timestamp_ms);

/* The producer fields and attributes of a batch the broker writes for a
 * producer: transaction markers (control_batch.h) and the group
 * coordinator's transactional offset commits. */
struct record_batch_producer {
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int16_t attributes;
};
/* record_batch_build with these producer fields and attributes. */
void record_batch_build_as(uint8_t *buf, size_t len, const struct record_kv *recs, uint32_t count,
			   int64_t timestamp_ms, const struct record_batch_producer *p);

#endif
