/* Transaction markers' control batches; see control_batch.h. */
#include "proto/control_batch.h"

#include <assert.h>

#include "proto/cursor.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

enum { CONTROL_KEY_BYTES = 4, CONTROL_VALUE_BYTES = 6 };

void control_batch_build(uint8_t buf[CONTROL_MARKER_BATCH_BYTES], const struct control_marker *m,
			 int64_t timestamp_ms)
{
	uint8_t key[CONTROL_KEY_BYTES], value[CONTROL_VALUE_BYTES];
	struct wcursor w;
	wc_init(&w, key, sizeof(key), NULL, 0);
	wc_int16(&w, CONTROL_MARKER_VERSION);
	wc_int16(&w, m->commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT);
	wc_init(&w, value, sizeof(value), NULL, 0);
	wc_int16(&w, CONTROL_MARKER_VERSION);
	wc_int32(&w, m->coordinator_epoch);
	struct record_kv kv = { .key = { key, sizeof(key) }, .value = { value, sizeof(value) } };
	assert(record_batch_build_size(&kv, 1) == CONTROL_MARKER_BATCH_BYTES);
	struct record_batch_producer p = { .producer_id = m->producer_id,
					   .producer_epoch = m->producer_epoch,
					   .base_sequence = -1,
					   .attributes = BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL };
	record_batch_build_as(buf, CONTROL_MARKER_BATCH_BYTES, &kv, 1, timestamp_ms, &p);
}

bool control_batch_read(const uint8_t *batch, size_t len, struct control_marker *m)
{
	if (len < RECORD_BATCH_HEADER_BYTES)
		return false;
	struct record_batch_header h;
	record_batch_header_read(batch, &h);
	if (!(h.attributes & BATCH_ATTR_CONTROL) || (h.attributes & BATCH_ATTR_COMPRESSION_MASK) ||
	    h.record_count < 1 || record_batch_total_bytes(&h) > len)
		return false;
	struct rcursor c;
	/* Cursors only read: the const is cast away for their init alone. */
	rc_init(&c, (uint8_t *)batch + RECORD_BATCH_HEADER_BYTES,
		(size_t)record_batch_total_bytes(&h) - RECORD_BATCH_HEADER_BYTES);
	struct record_view r;
	if (!record_read(&c, &r) || r.key.len != CONTROL_KEY_BYTES || r.value.len < CONTROL_VALUE_BYTES)
		return false;
	struct rcursor k, v;
	rc_init(&k, (uint8_t *)r.key.ptr, (size_t)r.key.len);
	rc_init(&v, (uint8_t *)r.value.ptr, (size_t)r.value.len);
	int16_t key_version = rc_int16(&k);
	int16_t type = rc_int16(&k);
	int16_t value_version = rc_int16(&v);
	int32_t coordinator_epoch = rc_int32(&v);
	if (k.err || v.err || key_version != CONTROL_MARKER_VERSION ||
	    value_version < CONTROL_MARKER_VERSION ||
	    (type != CONTROL_TYPE_ABORT && type != CONTROL_TYPE_COMMIT))
		return false;
	*m = (struct control_marker){ .producer_id = h.producer_id,
				      .producer_epoch = h.producer_epoch,
				      .coordinator_epoch = coordinator_epoch,
				      .commit = type == CONTROL_TYPE_COMMIT };
	return true;
}
