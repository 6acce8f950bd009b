/* Reading the records of a stored batch and rewriting it without the ones
 * the cleaner drops (see log_cleaner_batch.h). Runs on the cleaner's
 * thread. */
#include "core/log/log_cleaner_batch.h"

#include <errno.h>
#include <string.h>

#include "proto/crc32c.h"
#include "proto/record_codec.h"

enum {
	/* A first guess at what a compressed payload inflates to, as a
	 * multiple of its size; the buffer doubles up to inflated_max. */
	CLEANER_INFLATE_GUESS = 4,
};

/* Kafka's RecordBatch.NO_TIMESTAMP. */
static const int64_t CLEANER_NO_TIMESTAMP = -1;

static int cleaner_inflate(enum compression_codec codec, const uint8_t *in, size_t n,
			   size_t inflated_max, struct cleaner_buf *scratch, size_t *out_len)
{
	size_t cap = n * CLEANER_INFLATE_GUESS + 1024;
	for (;;) {
		if (cap > inflated_max)
			cap = inflated_max;
		scratch->len = 0;
		if (cleaner_buf_reserve(scratch, cap) != 0)
			return -ENOMEM;
		int rc = compression_decompress(codec, in, n, scratch->p, cap, out_len);
		if (rc != -EMSGSIZE || cap == inflated_max)
			return rc == -EMSGSIZE ? -EMSGSIZE : rc < 0 ? -EINVAL : 0;
		cap *= 2;
	}
}

int log_cleaner_batch_open(const uint8_t *batch, size_t len, size_t inflated_max,
			   struct cleaner_buf *scratch, struct cleaner_batch *b)
{
	memset(b, 0, sizeof(*b));
	if (record_batch_scan(batch, len, true, &b->h) != RECORD_SCAN_OK ||
	    record_batch_total_bytes(&b->h) != len || b->h.record_count < 0)
		return -EINVAL;
	const uint8_t *recs = batch + RECORD_BATCH_HEADER_BYTES;
	size_t recs_len = len - RECORD_BATCH_HEADER_BYTES;
	enum compression_codec codec = (enum compression_codec)(b->h.attributes &
								BATCH_ATTR_COMPRESSION_MASK);
	b->last_offset = b->h.base_offset - 1;
	if (codec == CODEC_NONE) {
		rc_init(&b->records, (uint8_t *)recs, recs_len);
		return 0;
	}
	if (codec > CODEC_ZSTD)
		return -EINVAL;
	size_t plain_len = 0;
	int rc = cleaner_inflate(codec, recs, recs_len, inflated_max, scratch, &plain_len);
	if (rc != 0)
		return rc;
	rc_init(&b->records, scratch->p, plain_len);
	return 0;
}

int log_cleaner_batch_next(struct cleaner_batch *b, struct cleaner_record *r)
{
	if (b->walked == b->h.record_count)
		return rc_left(&b->records) == 0 ? 0 : -EINVAL;
	const uint8_t *start = b->records.pos;
	struct rcursor check = b->records;
	struct record_view v;
	if (!record_read(&check, &v))
		return -EINVAL;
	/* The record is sound: read where its parts lie. */
	struct rcursor c = b->records;
	int32_t body = rc_varint(&c);
	const uint8_t *body_start = c.pos;
	r->attributes = rc_int8(&c);
	(void)rc_varlong(&c);
	(void)rc_varint(&c);
	int32_t key_len = rc_varint(&c);
	if (key_len > 0)
		c.pos += key_len;
	int32_t value_len = rc_varint(&c);
	if (value_len > 0)
		c.pos += value_len;
	r->headers = c.pos;
	r->headers_len = (size_t)(body_start + body - c.pos);
	b->records = check;
	r->raw = start;
	r->raw_len = (size_t)(check.pos - start);
	r->key = v.key;
	r->value = v.value;
	r->offset = b->h.base_offset + v.offset_delta;
	r->timestamp = b->h.base_timestamp + v.timestamp_delta;
	if (v.offset_delta < 0 || v.offset_delta > b->h.last_offset_delta || r->offset <= b->last_offset)
		return -EINVAL;
	b->last_offset = r->offset;
	b->walked++;
	return 1;
}

/* Appends one record to f->plain, with its timestamp delta against base_ts
 * (the stored bytes when that is unchanged). */
static int cleaner_put_record(struct log_cleaner_filter *f, const struct cleaner_record *r,
			      int64_t base_offset, int64_t base_ts, bool reencode)
{
	if (!reencode) {
		if (cleaner_buf_reserve(&f->plain, r->raw_len) != 0)
			return -ENOMEM;
		memcpy(f->plain.p + f->plain.len, r->raw, r->raw_len);
		f->plain.len += r->raw_len;
		return 0;
	}
	/* attributes, timestamp delta, offset delta, key, value, headers */
	uint8_t head[1 + 10 + 5 + 5];
	struct wcursor w;
	wc_init(&w, head, sizeof(head), NULL, 0);
	wc_int8(&w, r->attributes);
	wc_varlong(&w, r->timestamp - base_ts);
	wc_varint(&w, (int32_t)(r->offset - base_offset));
	wc_varint(&w, r->key.len);
	size_t head_len = (size_t)(w.pos - w.start);
	uint8_t vlen[5];
	struct wcursor wv;
	wc_init(&wv, vlen, sizeof(vlen), NULL, 0);
	wc_varint(&wv, r->value.len);
	size_t vlen_len = (size_t)(wv.pos - wv.start);
	size_t body = head_len + (size_t)(r->key.len > 0 ? r->key.len : 0) + vlen_len +
		      (size_t)(r->value.len > 0 ? r->value.len : 0) + r->headers_len;
	if (body > INT32_MAX || cleaner_buf_reserve(&f->plain, body + 5) != 0)
		return -ENOMEM;
	struct wcursor o;
	wc_init(&o, f->plain.p + f->plain.len, body + 5, NULL, 0);
	wc_varint(&o, (int32_t)body);
	wc_raw(&o, head, head_len);
	if (r->key.len > 0)
		wc_raw(&o, r->key.ptr, (size_t)r->key.len);
	wc_raw(&o, vlen, vlen_len);
	if (r->value.len > 0)
		wc_raw(&o, r->value.ptr, (size_t)r->value.len);
	wc_raw(&o, r->headers, r->headers_len);
	f->plain.len += (size_t)(o.pos - o.start);
	return 0;
}

/* Which records stay, as Kafka's LogCleaner.shouldRetainRecord decides:
 * none of a discarded batch, every one of a control batch, else the
 * caller's key map verdict, and a tombstone only until its batch's delete
 * horizon has passed. */
static bool cleaner_retains(struct log_cleaner_filter *f, const struct log_cleaner_batch_plan *plan,
			    const struct cleaner_batch *b, const struct cleaner_record *r)
{
	if (plan->discard)
		return false;
	if (b->h.attributes & BATCH_ATTR_CONTROL)
		return true;
	if (!f->keep(f->ctx, r))
		return false;
	if (r->value.len >= 0)
		return true;
	bool has_horizon = (b->h.attributes & BATCH_ATTR_DELETE_HORIZON) != 0;
	return !has_horizon || f->now_ms < b->h.base_timestamp;
}

static void cleaner_copy_whole(const uint8_t *batch, size_t len, struct cleaner_buf *out,
			       struct log_cleaner_batch_result *res)
{
	memcpy(out->p + out->len, batch, len);
	out->len += len;
	res->fate = LOG_CLEANER_BATCH_KEPT;
	record_batch_header_read(batch, &res->out);
}

/* Writes the batch of the records in f->plain after the header of `in`. */
static int cleaner_write_batch(struct log_cleaner_filter *f, const struct record_batch_header *in,
			       int16_t attributes, int64_t base_ts, int64_t max_ts,
			       int32_t last_delta, int32_t count, struct cleaner_buf *out,
			       struct log_cleaner_batch_result *res)
{
	size_t start = out->len;
	if (cleaner_buf_reserve(out, RECORD_BATCH_HEADER_BYTES) != 0)
		return -ENOMEM;
	out->len += RECORD_BATCH_HEADER_BYTES;
	enum compression_codec codec = (enum compression_codec)(attributes &
								BATCH_ATTR_COMPRESSION_MASK);
	int rc = 0;
	if (codec == CODEC_NONE) {
		rc = cleaner_buf_reserve(out, f->plain.len);
		/* An emptied batch has no records (and plain may have no buffer). */
		if (rc == 0 && f->plain.len > 0) {
			memcpy(out->p + out->len, f->plain.p, f->plain.len);
			out->len += f->plain.len;
		}
	} else {
		rc = log_cleaner_compress(codec, f->plain.p, f->plain.len, out);
	}
	if (rc != 0 || out->len - start > INT32_MAX) {
		out->len = start;
		return rc ? rc : -ENOMEM;
	}
	size_t total = out->len - start;
	uint8_t hdr[RECORD_BATCH_HEADER_BYTES];
	struct wcursor w;
	wc_init(&w, hdr, sizeof(hdr), NULL, 0);
	wc_int64(&w, in->base_offset);
	wc_int32(&w, (int32_t)(total - RECORD_BATCH_LOG_OVERHEAD));
	wc_int32(&w, in->partition_leader_epoch);
	wc_int8(&w, RECORD_BATCH_MAGIC_V2);
	wc_uint32(&w, 0);
	wc_int16(&w, attributes);
	wc_int32(&w, last_delta);
	wc_int64(&w, base_ts);
	wc_int64(&w, max_ts);
	wc_int64(&w, in->producer_id);
	wc_int16(&w, in->producer_epoch);
	wc_int32(&w, in->base_sequence);
	wc_int32(&w, count);
	uint8_t *b = out->p + start;
	memcpy(b, hdr, sizeof(hdr));
	be_store(b + 17, crc32c(0, b + RECORD_BATCH_CRC_START, total - RECORD_BATCH_CRC_START), 4);
	record_batch_header_read(b, &res->out);
	res->fate = LOG_CLEANER_BATCH_REWRITTEN;
	return 0;
}

/* The records `b` keeps, into f->plain; whether the batch needs a new
 * delete horizon. Returns 0, -EINVAL (a malformed record) or -ENOMEM. */
static int cleaner_collect(struct log_cleaner_filter *f, const struct log_cleaner_batch_plan *plan,
			   struct cleaner_batch *b, int64_t horizon, int64_t *max_ts,
			   struct log_cleaner_batch_result *res)
{
	bool set_horizon = horizon >= 0;
	struct cleaner_record r;
	int rc;
	while ((rc = log_cleaner_batch_next(b, &r)) == 1) {
		if (!cleaner_retains(f, plan, b, &r)) {
			res->records_dropped++;
			continue;
		}
		rc = cleaner_put_record(f, &r, b->h.base_offset,
					set_horizon ? horizon : b->h.base_timestamp, set_horizon);
		if (rc != 0)
			return rc;
		res->records_kept++;
		if (r.timestamp > *max_ts)
			*max_ts = r.timestamp;
	}
	return rc;
}

/* Whether a batch keeps a tombstone, or is a done marker, and has no
 * delete horizon yet (a first walk: only then may the records be
 * re-encoded against a new base). */
static int cleaner_needs_horizon(struct log_cleaner_filter *f, const struct log_cleaner_batch_plan *plan,
				 const uint8_t *batch, size_t len, bool *needs, uint32_t *kept)
{
	struct cleaner_batch b;
	int rc = log_cleaner_batch_open(batch, len, f->inflated_max, &f->scratch, &b);
	if (rc != 0)
		return rc;
	*needs = false;
	*kept = 0;
	struct cleaner_record r;
	bool no_horizon = !(b.h.attributes & BATCH_ATTR_DELETE_HORIZON);
	while ((rc = log_cleaner_batch_next(&b, &r)) == 1) {
		if (!cleaner_retains(f, plan, &b, &r))
			continue;
		(*kept)++;
		if (no_horizon && (r.value.len < 0 || plan->marker_done))
			*needs = true;
	}
	return rc;
}

/* The batch with none of its records: its offsets, producer fields and
 * max timestamp, no base timestamp (-1), no codec and no horizon (Kafka's
 * writeEmptyHeader). */
static int cleaner_write_empty(struct log_cleaner_filter *f, const struct record_batch_header *h,
			       struct cleaner_buf *out, struct log_cleaner_batch_result *res)
{
	f->plain.len = 0;
	int16_t attributes = h->attributes & (int16_t)~(BATCH_ATTR_COMPRESSION_MASK |
						      BATCH_ATTR_DELETE_HORIZON);
	return cleaner_write_batch(f, h, attributes, CLEANER_NO_TIMESTAMP, h->max_timestamp,
				   h->last_offset_delta, 0, out, res);
}

int log_cleaner_batch_filter(struct log_cleaner_filter *f, const struct log_cleaner_batch_plan *plan,
			     const uint8_t *batch, size_t len, struct cleaner_buf *out,
			     struct log_cleaner_batch_result *res)
{
	memset(res, 0, sizeof(*res));
	if (cleaner_buf_reserve(out, len) != 0)
		return -ENOMEM;
	struct record_batch_header h;
	record_batch_header_read(batch, &h);
	bool needs = false;
	uint32_t kept = 0;
	int rc = cleaner_needs_horizon(f, plan, batch, len, &needs, &kept);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0) {
		res->damaged = true;
		cleaner_copy_whole(batch, len, out, res);
		return 0;
	}
	if (kept == (uint32_t)h.record_count && !needs && (kept > 0 || plan->keep_empty)) {
		res->records_kept = kept;
		cleaner_copy_whole(batch, len, out, res);
		return 0;
	}
	if (kept == 0) {
		res->records_dropped = (uint32_t)h.record_count;
		if (plan->keep_empty)
			return cleaner_write_empty(f, &h, out, res);
		res->fate = LOG_CLEANER_BATCH_DROPPED;
		return 0;
	}
	struct cleaner_batch b;
	rc = log_cleaner_batch_open(batch, len, f->inflated_max, &f->scratch, &b);
	int64_t horizon = needs ? f->now_ms + f->delete_retention_ms : -1;
	int64_t max_ts = -1;
	f->plain.len = 0;
	if (rc == 0)
		rc = cleaner_collect(f, plan, &b, horizon, &max_ts, res);
	if (rc != 0)
		return rc == -ENOMEM ? rc : -EINVAL;
	int16_t attributes = h.attributes;
	int64_t base_ts = h.base_timestamp;
	if (needs) {
		attributes |= BATCH_ATTR_DELETE_HORIZON;
		base_ts = horizon;
	}
	if (h.attributes & BATCH_ATTR_LOG_APPEND_TIME)
		max_ts = h.max_timestamp;
	/* The last offset stays (Kafka's overrideLastOffset): with the base
	 * sequence it gives the producer's last sequence in the batch. */
	return cleaner_write_batch(f, &h, attributes, base_ts, max_ts, h.last_offset_delta,
				   (int32_t)kept, out, res);
}
