/* Kafka record batches, magic v2: header parsing, validation without
 * decompression, and the in-place rewrites the broker makes on append.
 *
 * Layout (big-endian): baseOffset int64 @0, batchLength int32 @8 (bytes after
 * this field), partitionLeaderEpoch int32 @12, magic int8 @16, crc uint32 @17
 * (CRC32C of bytes @21..end), attributes int16 @21, lastOffsetDelta int32 @23,
 * baseTimestamp int64 @27, maxTimestamp int64 @35, producerId int64 @43,
 * producerEpoch int16 @51, baseSequence int32 @53, recordCount int32 @57,
 * records @61. */
#ifndef SLUICE_PROTO_RECORD_BATCH_H
#define SLUICE_PROTO_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RECORD_BATCH_HEADER_BYTES = 61,
	RECORD_BATCH_LOG_OVERHEAD = 12, /* baseOffset + batchLength */
	RECORD_BATCH_CRC_START = 21,
	RECORD_BATCH_MAGIC_V2 = 2,
};

/* Attribute bits. */
enum {
	BATCH_ATTR_COMPRESSION_MASK = 0x07,
	BATCH_ATTR_LOG_APPEND_TIME = 0x08,
	BATCH_ATTR_TRANSACTIONAL = 0x10,
	BATCH_ATTR_CONTROL = 0x20,
	BATCH_ATTR_DELETE_HORIZON = 0x40,
};

struct record_batch_header {
	int64_t base_offset;
	int32_t batch_length;
	int32_t partition_leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t record_count;
};

/* Reads the fixed header; needs len >= RECORD_BATCH_HEADER_BYTES. */
void record_batch_header_read(const uint8_t *p, struct record_batch_header *h);

/* Total bytes the batch occupies on the wire/log: batchLength + 12. */
static inline uint64_t record_batch_total_bytes(const struct record_batch_header *h)
{
	return (uint64_t)(uint32_t)h->batch_length + RECORD_BATCH_LOG_OVERHEAD;
}

struct batch_limits {
	uint32_t max_batch_bytes;  /* message.max.bytes (whole batch incl. overhead) */
	size_t max_inflated_bytes; /* sluice.batch.inflated.max.bytes: a compressed batch's records */
	bool keys_required;        /* a compacted topic: a record without a key is refused */
};

enum { RECORD_BATCH_MESSAGE_BYTES = 48,
       /* Record errors Kafka's message lists (it counts them all). */
       RECORD_BATCH_KEYLESS_SHOWN = 3 };

struct batch_verdict {
	int16_t error_code;   /* 0, or CORRUPT_MESSAGE / MESSAGE_TOO_LARGE / INVALID_RECORD / UNSUPPORTED_COMPRESSION_TYPE */
	const char *reason;   /* static text for the log line */
	/* What Kafka tells the client in error_message for this error; empty
	 * where Kafka sends none (most batch errors). */
	char message[RECORD_BATCH_MESSAGE_BYTES];
	struct record_batch_header header;
	/* keys_required: how many records had no key (then INVALID_RECORD),
	 * and the indexes of the first few. */
	int32_t keyless_count;
	int32_t keyless_index[RECORD_BATCH_KEYLESS_SHOWN];
	/* On success: the largest record timestamp (base_timestamp +
	 * timestampDelta; in a batch that says LogAppendTime, maxTimestamp, as
	 * Java reads every record of it), -1 when none is larger. Kafka's
	 * LogValidator writes it into a CreateTime topic's batch, whatever the
	 * client put there. */
	int64_t records_max_timestamp;
};

/* Validates the records field of one partition of a Produce request, as
 * Kafka's LogValidator does: exactly one v2 batch (Kafka's rule for Produce
 * v3+) filling the buffer exactly, batchLength consistent, magic 2, CRC32C,
 * lastOffsetDelta == recordCount - 1, recordCount >= 1, compression codec
 * known, not a control batch, size within max_batch_bytes; then the records,
 * inflated by a streaming decoder through a small window when compressed
 * (never more than max_inflated_bytes of them), are walked and must be
 * exactly recordCount well-formed records with offset deltas 0..n-1, ending
 * exactly where the records (the payload) end. With keys_required, records
 * without a key are counted (keyless_count, INVALID_RECORD), as Kafka's
 * LogValidator refuses them in a compacted topic.
 * Errors: CORRUPT_MESSAGE for a bad batch structure or a payload that does
 * not decode, INVALID_RECORD for a bad inner record or count,
 * MESSAGE_TOO_LARGE beyond either bound, UNSUPPORTED_COMPRESSION_TYPE.
 * Returns the verdict; on success header is filled. */
void record_batch_validate(const uint8_t *buf, size_t len, const struct batch_limits *lim,
			   struct batch_verdict *out);

/* In one whole stored batch (header + records, as on disk; bytes not
 * trusted), the first record whose timestamp >= ts (base_timestamp +
 * timestampDelta). Decompresses streaming with bounded memory and at most
 * inflated_max bytes of output in total, stopping at the first match. Returns
 * 1 with *offset and *timestamp set, 0 when no record qualifies, -EINVAL for a
 * corrupt batch (bad lengths, record length < 0 or past the end, bad varints,
 * undecodable payload), -EMSGSIZE when the records inflate beyond
 * inflated_max, -ENOMEM. len must be the batch's whole size (batchLength +
 * 12); the CRC is not checked. */
int record_batch_find_time(const uint8_t *batch, size_t len, int64_t ts, size_t inflated_max,
			   int64_t *offset, int64_t *timestamp);

/* Rewrites baseOffset and partitionLeaderEpoch (not covered by the CRC). */
void record_batch_assign_offset(uint8_t *batch, int64_t base_offset, int32_t leader_epoch);

/* LogAppendTime: sets the timestamp-type bit and maxTimestamp, recomputes CRC. */
void record_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t now_ms);

/* CreateTime: clears the timestamp-type bit, sets maxTimestamp (a validated
 * batch's records_max_timestamp), recomputes CRC. */
void record_batch_set_create_time(uint8_t *batch, size_t len, int64_t max_ts);

/* For log recovery and scanning: looks at the batch starting at buf (len bytes
 * available). Returns RECORD_SCAN_OK with h filled when a whole batch with a
 * valid CRC (when check_crc) is there, RECORD_SCAN_TORN when the bytes end
 * before the batch does, RECORD_SCAN_CORRUPT otherwise. */
enum record_scan { RECORD_SCAN_OK, RECORD_SCAN_TORN, RECORD_SCAN_CORRUPT };
enum record_scan record_batch_scan(const uint8_t *buf, size_t len, bool check_crc,
				   struct record_batch_header *h);

#endif
