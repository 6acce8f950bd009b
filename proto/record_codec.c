/* Record reading and batch building; see record_codec.h. */
#include "proto/record_codec.h"

#include <assert.h>

#include "proto/crc32c.h"
#include "proto/record_batch.h"

enum { RECORD_HEADERS_MAX = 1 << 16 };

bool record_read(struct rcursor *c, struct record_view *out)
{
	int32_t len = rc_varint(c);
	if (c->err)
		return false;
	if (len < 0 || (size_t)len > rc_left(c)) {
		rc_fail(c, RC_SHORT, "record length");
		return false;
	}
	struct rcursor r;
	rc_init(&r, c->pos, (size_t)len);
	c->pos += len;
	(void)rc_int8(&r);
	out->timestamp_delta = rc_varlong(&r);
	out->offset_delta = rc_varint(&r);
	int32_t key_len = rc_varint(&r);
	out->key = (struct kbytes){ NULL, -1 };
	if (key_len >= 0)
		out->key = (struct kbytes){ rc_take(&r, (size_t)key_len, "record key"), key_len };
	int32_t value_len = rc_varint(&r);
	out->value = (struct kbytes){ NULL, -1 };
	if (value_len >= 0)
		out->value = (struct kbytes){ rc_take(&r, (size_t)value_len, "record value"), value_len };
	int32_t headers = rc_varint(&r);
	if (key_len < -1 || value_len < -1 || headers < 0 || headers > RECORD_HEADERS_MAX)
		rc_fail(&r, RC_INVALID, "record field length");
	for (int32_t h = 0; h < headers && !r.err; h++) {
		int32_t hk = rc_varint(&r);
		if (hk < 0 || !rc_take(&r, (size_t)hk, "record header key"))
			rc_fail(&r, RC_INVALID, "record header key");
		int32_t hv = rc_varint(&r);
		if (hv < -1 || (hv > 0 && !rc_take(&r, (size_t)hv, "record header value")))
			rc_fail(&r, RC_INVALID, "record header value");
	}
	if (!r.err && rc_left(&r) != 0)
		rc_fail(&r, RC_INVALID, "record length does not match its fields");
	if (r.err) {
		rc_fail(c, r.err, r.err_what);
		return false;
	}
	return true;
}

static size_t record_body_size(const struct record_kv *kv, int32_t offset_delta)
{
	size_t n = 1 + varint_size(0) + varint_size(offset_delta);
	n += varint_size(kv->key.len) + (size_t)(kv->key.len > 0 ? kv->key.len : 0);
	n += varint_size(kv->value.len) + (size_t)(kv->value.len > 0 ? kv->value.len : 0);
	return n + varint_size(0);
}

size_t record_batch_build_size(const struct record_kv *recs, uint32_t count)
{
	size_t n = RECORD_BATCH_HEADER_BYTES;
	for (uint32_t i = 0; i < count; i++) {
		size_t body = record_body_size(&recs[i], (int32_t)i);
		n += varint_size((int32_t)body) + body;
	}
	return n;
}

void record_batch_build(uint8_t *buf, size_t len, const struct record_kv *recs, uint32_t count,
			int64_t timestamp_ms)
{
	static const struct record_batch_producer none = { .producer_id = -1, .producer_epoch = -1,
							   .base_sequence = -1, .attributes = 0 };
	record_batch_build_as(buf, len, recs, count, timestamp_ms, &none);
}

void record_batch_build_as(uint8_t *buf, size_t len, const struct record_kv *recs, uint32_t count,
			   int64_t timestamp_ms, const struct record_batch_producer *p)
{
	assert(count >= 1 && len == record_batch_build_size(recs, count));
	struct wcursor w;
	wc_init(&w, buf, len, NULL, 0);
	wc_int64(&w, 0);
	wc_int32(&w, (int32_t)(len - RECORD_BATCH_LOG_OVERHEAD));
	wc_int32(&w, -1);
	wc_int8(&w, RECORD_BATCH_MAGIC_V2);
	wc_uint32(&w, 0);
	wc_int16(&w, p->attributes);
	wc_int32(&w, (int32_t)count - 1);
	wc_int64(&w, timestamp_ms);
	wc_int64(&w, timestamp_ms);
	wc_int64(&w, p->producer_id);
	wc_int16(&w, p->producer_epoch);
	wc_int32(&w, p->base_sequence);
	wc_int32(&w, (int32_t)count);
	for (uint32_t i = 0; i < count; i++) {
		const struct record_kv *kv = &recs[i];
		wc_varint(&w, (int32_t)record_body_size(kv, (int32_t)i));
		wc_int8(&w, 0);
		wc_varlong(&w, 0);
		wc_varint(&w, (int32_t)i);
		wc_varint(&w, kv->key.len);
		if (kv->key.len > 0)
			wc_raw(&w, kv->key.ptr, (size_t)kv->key.len);
		wc_varint(&w, kv->value.len);
		if (kv->value.len > 0)
			wc_raw(&w, kv->value.ptr, (size_t)kv->value.len);
		wc_varint(&w, 0);
	}
	assert(!w.overflow && w.pos == w.end);
	be_store(buf + 17, crc32c(0, buf + RECORD_BATCH_CRC_START, len - RECORD_BATCH_CRC_START), 4);
}
