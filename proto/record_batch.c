/* Record batch v2 validation and in-place rewrites (see record_batch.h). */
#include "proto/record_batch.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/compression.h"
#include "proto/crc32c.h"
#include "proto/cursor.h"
#include "proto/kafka_errors.h"
#include "proto/record_walk.h"

enum {
	RECORD_ATTRIBUTES_OFFSET = 21,
	RECORD_MAX_TIMESTAMP_OFFSET = 35,
	RECORD_CRC_OFFSET = 17,
	RECORD_CODEC_MAX = 4, /* zstd */
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

/* A walk over one batch's records, with what inflating them needs. */
struct batch_walk {
	struct record_walk walk;
	struct inflate_stream inflate;
	uint8_t *window; /* NULL for an uncompressed batch */
};

/* Starts walking the records of the batch in batch[0..total) whose header
 * (already checked: magic, lengths, a known codec) is h. Returns 0 or
 * -ENOMEM. */
static int batch_walk_open(struct batch_walk *bw, const uint8_t *batch, size_t total,
			   const struct record_batch_header *h, size_t inflated_max)
{
	const uint8_t *recs = batch + RECORD_BATCH_HEADER_BYTES;
	size_t len = total - RECORD_BATCH_HEADER_BYTES;
	int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
	bw->window = NULL;
	if (codec == CODEC_NONE) {
		record_walk_plain(&bw->walk, recs, len, h->record_count);
		return 0;
	}
	int rc = inflate_stream_open(&bw->inflate, (enum compression_codec)codec, recs, len,
				     inflated_max);
	if (rc != 0)
		return rc;
	bw->window = malloc(RECORD_WALK_WINDOW_BYTES);
	if (!bw->window) {
		inflate_stream_close(&bw->inflate);
		return -ENOMEM;
	}
	record_walk_inflating(&bw->walk, &bw->inflate, bw->window, RECORD_WALK_WINDOW_BYTES,
			      h->record_count);
	return 0;
}

static void batch_walk_close(struct batch_walk *bw)
{
	if (!bw->window)
		return;
	inflate_stream_close(&bw->inflate);
	free(bw->window);
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
	if (h->magic < RECORD_BATCH_MAGIC_V2) {
		/* Kafka 4.0 no longer accepts message format v0/v1. */
		verdict_fail(out, KERR_INVALID_RECORD,
			     "magic v0/v1 message sets are not supported");
		return;
	}
	if (h->magic > RECORD_BATCH_MAGIC_V2) {
		/* A magic no format has: Kafka calls the bytes corrupt, and says so. */
		verdict_fail(out, KERR_CORRUPT_MESSAGE, "unknown record batch magic");
		snprintf(out->message, sizeof(out->message), "Invalid magic found in record: %d",
			 h->magic);
		return;
	}
	uint64_t total = record_batch_total_bytes(h);
	if (h->batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD || total > len) {
		verdict_fail(out, KERR_INVALID_RECORD, "batchLength does not match the bytes sent");
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
	struct batch_walk bw;
	if (batch_walk_open(&bw, buf, (size_t)total, h, lim->max_inflated_bytes) != 0) {
		verdict_fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory validating the batch");
		return;
	}
	int rc;
	/* In locals: the walk is a call, which could change what out points at. */
	const uint64_t base_ts = (uint64_t)h->base_timestamp;
	int64_t max_ts = -1;
	while ((rc = record_walk_next(&bw.walk)) == 1) {
		/* Wrapping, as Java's long arithmetic does: the bytes are not trusted. */
		int64_t t = (int64_t)(base_ts + (uint64_t)bw.walk.timestamp_delta);
		max_ts = t > max_ts ? t : max_ts;
		if (!lim->keys_required || !bw.walk.key_null)
			continue;
		if (out->keyless_count < RECORD_BATCH_KEYLESS_SHOWN)
			out->keyless_index[out->keyless_count] = bw.walk.index - 1;
		out->keyless_count++;
	}
	batch_walk_close(&bw);
	/* Java reads every record of a LogAppendTime batch with its max. */
	if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME)
		max_ts = h->max_timestamp > -1 ? h->max_timestamp : -1;
	out->records_max_timestamp = max_ts;
	if (rc != 0)
		out->keyless_count = 0;
	switch (rc) {
	case 0:
		if (out->keyless_count > 0)
			verdict_fail(out, KERR_INVALID_RECORD, "a compacted topic refuses records "
				     "without a key");
		break;
	case -EINVAL: verdict_fail(out, KERR_INVALID_RECORD, bw.walk.why); break;
	case -EBADMSG: verdict_fail(out, KERR_CORRUPT_MESSAGE, bw.walk.why); break;
	case -EMSGSIZE: verdict_fail(out, KERR_MESSAGE_TOO_LARGE, bw.walk.why); break;
	default: verdict_fail(out, KERR_UNKNOWN_SERVER_ERROR, bw.walk.why); break;
	}
}

int record_batch_find_time(const uint8_t *batch, size_t len, int64_t ts, size_t inflated_max,
			   int64_t *offset, int64_t *timestamp)
{
	struct record_batch_header h;
	if (len < RECORD_BATCH_HEADER_BYTES)
		return -EINVAL;
	record_batch_header_read(batch, &h);
	if (h.magic != RECORD_BATCH_MAGIC_V2 ||
	    h.batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD ||
	    record_batch_total_bytes(&h) != len || h.record_count < 0 ||
	    (h.attributes & BATCH_ATTR_COMPRESSION_MASK) > RECORD_CODEC_MAX)
		return -EINVAL;
	struct batch_walk bw;
	int rc = batch_walk_open(&bw, batch, len, &h, inflated_max);
	if (rc != 0)
		return rc;
	while ((rc = record_walk_next(&bw.walk)) == 1) {
		/* Wrapping, as Java's long arithmetic does: the bytes are not trusted. */
		int64_t t = (int64_t)((uint64_t)h.base_timestamp + (uint64_t)bw.walk.timestamp_delta);
		if (t >= ts) {
			*offset = (int64_t)((uint64_t)h.base_offset + (uint64_t)bw.walk.offset_delta);
			*timestamp = t;
			break;
		}
	}
	batch_walk_close(&bw);
	return rc == -EBADMSG ? -EINVAL : rc;
}

void record_batch_assign_offset(uint8_t *batch, int64_t base_offset, int32_t leader_epoch)
{
	be_store(batch, (uint64_t)base_offset, 8);
	be_store(batch + 12, (uint32_t)leader_epoch, 4);
}

/* The timestamp type and maxTimestamp, then the CRC over them. */
static void batch_set_timestamps(uint8_t *batch, size_t len, bool log_append_time, int64_t max_ts)
{
	assert(len >= RECORD_BATCH_HEADER_BYTES);
	uint16_t attrs = (uint16_t)be_load(batch + RECORD_ATTRIBUTES_OFFSET, 2);
	attrs = log_append_time ? attrs | BATCH_ATTR_LOG_APPEND_TIME
				: attrs & (uint16_t)~BATCH_ATTR_LOG_APPEND_TIME;
	be_store(batch + RECORD_ATTRIBUTES_OFFSET, attrs, 2);
	be_store(batch + RECORD_MAX_TIMESTAMP_OFFSET, (uint64_t)max_ts, 8);
	uint32_t crc = crc32c(0, batch + RECORD_BATCH_CRC_START, len - RECORD_BATCH_CRC_START);
	be_store(batch + RECORD_CRC_OFFSET, crc, 4);
}

void record_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t now_ms)
{
	batch_set_timestamps(batch, len, true, now_ms);
}

void record_batch_set_create_time(uint8_t *batch, size_t len, int64_t max_ts)
{
	batch_set_timestamps(batch, len, false, max_ts);
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
