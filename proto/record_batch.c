/* Record batch v2 validation and in-place rewrites (see record_batch.h). */
#include "proto/record_batch.h"

#include <assert.h>
#include <string.h>

#include "proto/crc32c.h"
#include "proto/cursor.h"
#include "proto/kafka_errors.h"

enum {
	RECORD_ATTRIBUTES_OFFSET = 21,
	RECORD_MAX_TIMESTAMP_OFFSET = 35,
	RECORD_CRC_OFFSET = 17,
	RECORD_CODEC_MAX = 4, /* zstd */
	/* The smallest possible record: length, attributes, timestamp delta,
	 * offset delta, key length, value length, header count. */
	RECORD_MIN_BYTES = 7,
};

void record_batch_header_read(const uint8_t *p, struct record_batch_header *h)
{
	h->base_offset = (int64_t)be_load(p + 0, 8);
	h->batch_length = (int32_t)be_load(p + 8, 4);
	h->partition_leader_epoch = (int32_t)be_load(p + 12, 4);
	h->magic = (int8_t)p[16];
	h->crc = (uint32_t)be_load(p + 17, 4);
	h->attributes = (int16_t)be_load(p + 21, 2);
	h->last_offset_delta = (int32_t)be_load(p + 23, 4);
	h->base_timestamp = (int64_t)be_load(p + 27, 8);
	h->max_timestamp = (int64_t)be_load(p + 35, 8);
	h->producer_id = (int64_t)be_load(p + 43, 8);
	h->producer_epoch = (int16_t)be_load(p + 51, 2);
	h->base_sequence = (int32_t)be_load(p + 53, 4);
	h->record_count = (int32_t)be_load(p + 57, 4);
}

static void verdict_fail(struct batch_verdict *v, int16_t code, const char *reason)
{
	v->error_code = code;
	v->reason = reason;
}

/* Walks `count` records in [p, p+len): each must be well-formed, consume
 * exactly its length, and carry offset deltas 0..count-1; together they must
 * fill the region exactly. Returns NULL or the reason. */
static const char *record_batch_walk(const uint8_t *p, size_t len, int32_t count)
{
	struct rcursor c;
	rc_init(&c, (uint8_t *)p, len);
	if ((uint64_t)count * RECORD_MIN_BYTES > len)
		return "record count exceeds the bytes of the batch";
	for (int32_t i = 0; i < count; i++) {
		int32_t rec_len = rc_varint(&c);
		if (c.err || rec_len < RECORD_MIN_BYTES - 1 || (size_t)rec_len > rc_left(&c))
			return "record length runs past the batch";
		struct rcursor r;
		rc_init(&r, c.pos, (size_t)rec_len);
		c.pos += rec_len;
		(void)rc_int8(&r);
		(void)rc_varlong(&r);
		if (rc_varint(&r) != i)
			return "record offset deltas are not consecutive from 0";
		int32_t key_len = rc_varint(&r);
		if (key_len < -1 || (key_len > 0 && !rc_take(&r, (size_t)key_len, "key")))
			return "record key runs past the record";
		int32_t value_len = rc_varint(&r);
		if (value_len < -1 || (value_len > 0 && !rc_take(&r, (size_t)value_len, "value")))
			return "record value runs past the record";
		int32_t headers = rc_varint(&r);
		if (headers < 0 || (size_t)headers > rc_left(&r))
			return "record header count is invalid";
		for (int32_t h = 0; h < headers; h++) {
			int32_t hk = rc_varint(&r);
			if (hk < 0 || !rc_take(&r, (size_t)hk, "header key"))
				return "record header key is invalid";
			int32_t hv = rc_varint(&r);
			if (hv < -1 || (hv > 0 && !rc_take(&r, (size_t)hv, "header value")))
				return "record header value is invalid";
		}
		if (r.err || rc_left(&r) != 0)
			return "record length does not match its fields";
	}
	if (rc_left(&c) != 0)
		return "bytes left after the last record";
	return NULL;
}

void record_batch_validate(const uint8_t *buf, size_t len, const struct batch_limits *lim,
			   struct batch_verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (len < RECORD_BATCH_HEADER_BYTES) {
		verdict_fail(out, KERR_CORRUPT_MESSAGE, "record batch shorter than its header");
		return;
	}
	struct record_batch_header *h = &out->header;
	record_batch_header_read(buf, h);
	if (h->magic != RECORD_BATCH_MAGIC_V2) {
		/* Kafka 4.0 no longer accepts message format v0/v1. */
		verdict_fail(out, KERR_INVALID_RECORD,
			     "magic v0/v1 message sets are not supported");
		return;
	}
	uint64_t total = record_batch_total_bytes(h);
	if (h->batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD || total > len) {
		verdict_fail(out, KERR_CORRUPT_MESSAGE, "batchLength does not match the bytes sent");
		return;
	}
	if (total < len) {
		verdict_fail(out, KERR_INVALID_RECORD,
			     "Produce requests must contain exactly one record batch");
		return;
	}
	if (total > lim->max_batch_bytes) {
		verdict_fail(out, KERR_MESSAGE_TOO_LARGE, "record batch larger than max.message.bytes");
		return;
	}
	uint32_t crc = crc32c(0, buf + RECORD_BATCH_CRC_START, (size_t)total - RECORD_BATCH_CRC_START);
	if (crc != h->crc) {
		verdict_fail(out, KERR_CORRUPT_MESSAGE, "record batch CRC mismatch");
		return;
	}
	if (h->attributes & BATCH_ATTR_CONTROL) {
		verdict_fail(out, KERR_INVALID_RECORD, "clients may not send control batches");
		return;
	}
	int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
	if (codec > RECORD_CODEC_MAX) {
		verdict_fail(out, KERR_UNSUPPORTED_COMPRESSION_TYPE, "unknown compression codec");
		return;
	}
	if (h->record_count < 1 || h->last_offset_delta != h->record_count - 1) {
		verdict_fail(out, KERR_INVALID_RECORD,
			     "lastOffsetDelta does not match the record count");
		return;
	}
	if (codec == 0) {
		const char *why = record_batch_walk(buf + RECORD_BATCH_HEADER_BYTES,
						    (size_t)total - RECORD_BATCH_HEADER_BYTES,
						    h->record_count);
		if (why)
			verdict_fail(out, KERR_INVALID_RECORD, why);
	}
}

void record_batch_assign_offset(uint8_t *batch, int64_t base_offset, int32_t leader_epoch)
{
	be_store(batch, (uint64_t)base_offset, 8);
	be_store(batch + 12, (uint32_t)leader_epoch, 4);
}

void record_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t now_ms)
{
	assert(len >= RECORD_BATCH_HEADER_BYTES);
	uint16_t attrs = (uint16_t)be_load(batch + RECORD_ATTRIBUTES_OFFSET, 2);
	be_store(batch + RECORD_ATTRIBUTES_OFFSET, attrs | BATCH_ATTR_LOG_APPEND_TIME, 2);
	be_store(batch + RECORD_MAX_TIMESTAMP_OFFSET, (uint64_t)now_ms, 8);
	uint32_t crc = crc32c(0, batch + RECORD_BATCH_CRC_START, len - RECORD_BATCH_CRC_START);
	be_store(batch + RECORD_CRC_OFFSET, crc, 4);
}

enum record_scan record_batch_scan(const uint8_t *buf, size_t len, bool check_crc,
				   struct record_batch_header *h)
{
	if (len < RECORD_BATCH_HEADER_BYTES)
		return RECORD_SCAN_TORN;
	record_batch_header_read(buf, h);
	if (h->magic != RECORD_BATCH_MAGIC_V2 ||
	    h->batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD ||
	    h->record_count < 0 || h->last_offset_delta < 0)
		return RECORD_SCAN_CORRUPT;
	uint64_t total = record_batch_total_bytes(h);
	if (total > len)
		return RECORD_SCAN_TORN;
	if (check_crc &&
	    crc32c(0, buf + RECORD_BATCH_CRC_START, (size_t)total - RECORD_BATCH_CRC_START) != h->crc)
		return RECORD_SCAN_CORRUPT;
	return RECORD_SCAN_OK;
}
