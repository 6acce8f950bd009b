/* The record walk over a plain or inflating source (see record_walk.h). */
#include "proto/record_walk.h"

#include <errno.h>
#include <stdbool.h>

enum {
	VARINT_MAX_BYTES = 5,
	VARLONG_MAX_BYTES = 10,
};

void record_walk_plain(struct record_walk *w, const uint8_t *recs, size_t len, int32_t count)
{
	*w = (struct record_walk){ .src = { .pos = recs, .end = recs + len }, .count = count };
}

void record_walk_inflating(struct record_walk *w, struct inflate_stream *in, uint8_t *window,
			   size_t window_bytes, int32_t count)
{
	*w = (struct record_walk){
		.src = { .pos = window, .end = window, .inflate = in, .window = window,
			 .window_bytes = window_bytes },
		.count = count,
	};
}

/* Whether the source has a byte to read, refilling the window when needed. */
static bool source_ready(struct record_source *s)
{
	if (s->pos < s->end)
		return true;
	if (!s->inflate || s->err)
		return false;
	ssize_t n = inflate_stream_read(s->inflate, s->window, s->window_bytes);
	if (n <= 0) {
		s->err = (int)n;
		return false;
	}
	s->pos = s->window;
	s->end = s->window + n;
	return true;
}

/* The walk's failure: the decoder's error when the source ran dry because
 * of one, else a malformed record. */
static int walk_fail(struct record_walk *w, const char *why)
{
	switch (w->src.err) {
	case 0:
		w->why = why;
		return -EINVAL;
	case -EMSGSIZE:
		w->why = "records inflate beyond the bound on a batch's inflated bytes";
		return -EMSGSIZE;
	case -ENOMEM:
		w->why = "out of memory inflating the records";
		return -ENOMEM;
	default:
		w->why = "compressed records do not decode";
		return -EBADMSG;
	}
}

/* walk_leb128 past its one-byte case: a varint of two bytes or more, or
 * one at the end of the window or record. */
static bool walk_leb128_multi(struct record_source *s, unsigned max_bytes, size_t *left,
			      uint64_t *out)
{
	uint64_t v = 0;
	if ((size_t)(s->end - s->pos) >= max_bytes && *left >= max_bytes) {
		const uint8_t *p = s->pos;
		for (unsigned i = 0; i < max_bytes; i++) {
			v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
			if (!(p[i] & 0x80)) {
				s->pos = p + i + 1;
				*left -= i + 1;
				*out = v;
				return true;
			}
		}
		return false;
	}
	for (unsigned i = 0; i < max_bytes && *left > 0 && source_ready(s); i++) {
		uint8_t b = *s->pos++;
		(*left)--;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Reads an unsigned LEB128 of at most max_bytes, none of them past *left
 * (the bytes left in the record, updated). Returns false for a varint that
 * is overlong or runs past the record or the source. A byte without the
 * continuation bit is a whole varint by itself (most of a record's fields:
 * deltas, small lengths, header counts), read inline without the loop. */
static inline bool walk_leb128(struct record_source *s, unsigned max_bytes, size_t *left,
			       uint64_t *out)
{
	if (s->pos < s->end && *left > 0 && !(*s->pos & 0x80)) {
		*out = *s->pos++;
		(*left)--;
		return true;
	}
	return walk_leb128_multi(s, max_bytes, left, out);
}

static inline bool walk_varint(struct record_source *s, size_t *left, int32_t *out)
{
	uint64_t u;
	if (!walk_leb128(s, VARINT_MAX_BYTES, left, &u) || u > UINT32_MAX)
		return false;
	*out = (int32_t)(((uint32_t)u >> 1) ^ -((uint32_t)u & 1));
	return true;
}

static inline bool walk_varlong(struct record_source *s, size_t *left, int64_t *out)
{
	uint64_t u;
	if (!walk_leb128(s, VARLONG_MAX_BYTES, left, &u))
		return false;
	*out = (int64_t)((u >> 1) ^ -(u & 1));
	return true;
}

/* Skips n bytes of the record (n <= *left), across refills. */
static bool walk_skip(struct record_source *s, size_t n, size_t *left)
{
	if (n > *left)
		return false;
	*left -= n;
	while (n > 0) {
		if (!source_ready(s))
			return false;
		size_t have = (size_t)(s->end - s->pos);
		size_t step = have < n ? have : n;
		s->pos += step;
		n -= step;
	}
	return true;
}

/* A length field of the record: -1 (null) when nullable, else 0..*left,
 * whose bytes are skipped; *null says which. */
static bool walk_field_null(struct record_source *s, size_t *left, bool nullable, bool *null)
{
	int32_t len;
	if (!walk_varint(s, left, &len) || len < (nullable ? -1 : 0))
		return false;
	*null = len < 0;
	return len <= 0 || walk_skip(s, (size_t)len, left);
}

static bool walk_field(struct record_source *s, size_t *left, bool nullable)
{
	bool null;
	return walk_field_null(s, left, nullable, &null);
}

/* Everything after the offset delta: key, value and headers, which must end
 * exactly at the record's end. */
static const char *walk_record_body(struct record_source *s, size_t left, bool *key_null)
{
	if (!walk_field_null(s, &left, true, key_null))
		return "record key runs past the record";
	if (!walk_field(s, &left, true))
		return "record value runs past the record";
	int32_t headers;
	if (!walk_varint(s, &left, &headers) || headers < 0 || (size_t)headers > left)
		return "record header count is invalid";
	for (int32_t h = 0; h < headers; h++) {
		if (!walk_field(s, &left, false))
			return "record header key is invalid";
		if (!walk_field(s, &left, true))
			return "record header value is invalid";
	}
	if (left != 0)
		return "record length does not match its fields";
	return NULL;
}

int record_walk_next(struct record_walk *w)
{
	struct record_source *s = &w->src;
	if (w->index == w->count) {
		if (source_ready(s))
			return walk_fail(w, "bytes left after the last record");
		return s->err ? walk_fail(w, NULL) : 0;
	}
	size_t unbounded = VARINT_MAX_BYTES;
	int32_t rec_len;
	if (!source_ready(s))
		return walk_fail(w, "fewer records than the batch's record count");
	if (!walk_varint(s, &unbounded, &rec_len))
		return walk_fail(w, "record length is not a valid varint");
	if (rec_len < RECORD_MIN_BYTES - 1)
		return walk_fail(w, "record length out of range");
	size_t left = (size_t)rec_len;
	int64_t ts_delta;
	int32_t off_delta;
	if (!walk_skip(s, 1, &left) || !walk_varlong(s, &left, &ts_delta) ||
	    !walk_varint(s, &left, &off_delta))
		return walk_fail(w, "record runs past the batch");
	if (off_delta != w->index)
		return walk_fail(w, "record offset deltas are not consecutive from 0");
	const char *why = walk_record_body(s, left, &w->key_null);
	if (why)
		return walk_fail(w, why);
	w->timestamp_delta = ts_delta;
	w->offset_delta = off_delta;
	w->index++;
	return 1;
}
