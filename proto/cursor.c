/* Varints, strings, byte fields and counts for the cursors in cursor.h. */
#include "proto/cursor.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

const char *rc_error_name(enum rc_error err)
{
	switch (err) {
	case RC_OK: return "ok";
	case RC_SHORT: return "truncated field";
	case RC_NEGATIVE: return "negative length";
	case RC_TOO_MANY: return "count above limit";
	case RC_VARINT: return "overlong varint";
	case RC_ALLOC: return "request memory bound reached";
	case RC_INVALID: return "invalid value";
	}
	return "unknown";
}

static uint64_t rc_leb128(struct rcursor *c, unsigned max_bytes, const char *what)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < max_bytes; i++) {
		uint8_t *p = rc_take(c, 1, what);
		if (!p)
			return 0;
		v |= (uint64_t)(*p & 0x7f) << (7 * i);
		if (!(*p & 0x80))
			return v;
	}
	rc_fail(c, RC_VARINT, what);
	return 0;
}

uint32_t rc_uvarint(struct rcursor *c)
{
	uint64_t v = rc_leb128(c, 5, "uvarint");
	if (v > UINT32_MAX) {
		rc_fail(c, RC_VARINT, "uvarint");
		return 0;
	}
	return (uint32_t)v;
}

uint64_t rc_uvarlong(struct rcursor *c)
{
	return rc_leb128(c, 10, "uvarlong");
}

int32_t rc_varint(struct rcursor *c)
{
	uint32_t u = rc_uvarint(c);
	return (int32_t)((u >> 1) ^ -(u & 1));
}

int64_t rc_varlong(struct rcursor *c)
{
	uint64_t u = rc_uvarlong(c);
	return (int64_t)((u >> 1) ^ -(u & 1));
}

/* Reads `len` bytes as a view; len -1 is null when allowed. */
static struct kbytes rc_view(struct rcursor *c, int64_t len, bool nullable, const char *what)
{
	struct kbytes b = { NULL, -1 };
	if (c->err != RC_OK)
		return b;
	if (len < 0) {
		if (len != -1 || !nullable)
			rc_fail(c, RC_NEGATIVE, what);
		return b;
	}
	if (len > INT32_MAX) {
		rc_fail(c, RC_SHORT, what);
		return b;
	}
	uint8_t *p = rc_take(c, (size_t)len, what);
	if (p) {
		b.ptr = p;
		b.len = (int32_t)len;
	}
	return b;
}

static struct kstr kstr_of(struct kbytes b)
{
	struct kstr s = { (const char *)b.ptr, b.len };
	return s;
}

struct kstr rc_string(struct rcursor *c)
{
	return kstr_of(rc_view(c, rc_int16(c), false, "string"));
}

struct kstr rc_nstring(struct rcursor *c)
{
	return kstr_of(rc_view(c, rc_int16(c), true, "nullable string"));
}

struct kstr rc_compact_string(struct rcursor *c)
{
	return kstr_of(rc_view(c, (int64_t)rc_uvarint(c) - 1, false, "compact string"));
}

struct kstr rc_compact_nstring(struct rcursor *c)
{
	return kstr_of(rc_view(c, (int64_t)rc_uvarint(c) - 1, true, "compact nullable string"));
}

struct kbytes rc_bytes(struct rcursor *c)
{
	return rc_view(c, rc_int32(c), false, "bytes");
}

struct kbytes rc_nbytes(struct rcursor *c)
{
	return rc_view(c, rc_int32(c), true, "nullable bytes");
}

struct kbytes rc_compact_bytes(struct rcursor *c)
{
	return rc_view(c, (int64_t)rc_uvarint(c) - 1, false, "compact bytes");
}

struct kbytes rc_compact_nbytes(struct rcursor *c)
{
	return rc_view(c, (int64_t)rc_uvarint(c) - 1, true, "compact nullable bytes");
}

static int32_t rc_count_check(struct rcursor *c, int64_t n, bool nullable, uint32_t max,
			      size_t min_elem_bytes)
{
	if (c->err != RC_OK)
		return 0;
	if (n < 0) {
		if (n != -1 || !nullable) {
			rc_fail(c, RC_NEGATIVE, "array count");
			return 0;
		}
		return -1;
	}
	if (n > max) {
		rc_fail(c, RC_TOO_MANY, "array count");
		return 0;
	}
	if (min_elem_bytes && (uint64_t)n * min_elem_bytes > rc_left(c)) {
		rc_fail(c, RC_SHORT, "array elements");
		return 0;
	}
	return (int32_t)n;
}

int32_t rc_array_len(struct rcursor *c, bool nullable, uint32_t max, size_t min_elem_bytes)
{
	return rc_count_check(c, rc_int32(c), nullable, max, min_elem_bytes);
}

int32_t rc_compact_array_len(struct rcursor *c, bool nullable, uint32_t max, size_t min_elem_bytes)
{
	return rc_count_check(c, (int64_t)rc_uvarint(c) - 1, nullable, max, min_elem_bytes);
}

void rc_skip_tagged_fields(struct rcursor *c)
{
	uint32_t n = rc_uvarint(c);
	if (n > rc_left(c)) {
		rc_fail(c, RC_SHORT, "tagged field count");
		return;
	}
	for (uint32_t i = 0; i < n && c->err == RC_OK; i++) {
		(void)rc_uvarint(c);
		uint32_t size = rc_uvarint(c);
		(void)rc_take(c, size, "tagged field");
	}
}

void rc_read_tagged_fields(struct rcursor *c, rc_tag_reader on_tag, void *ctx)
{
	uint32_t n = rc_uvarint(c);
	if (c->err == RC_OK && n > rc_left(c)) {
		rc_fail(c, RC_SHORT, "tagged field count");
		return;
	}
	for (uint32_t i = 0; i < n && c->err == RC_OK; i++) {
		uint32_t tag = rc_uvarint(c);
		uint32_t size = rc_uvarint(c);
		uint8_t *p = rc_take(c, size, "tagged field");
		if (!p)
			return;
		struct rcursor field;
		rc_init(&field, p, size);
		if (!on_tag || !on_tag(&field, tag, ctx))
			continue;
		if (field.err != RC_OK)
			rc_fail(c, field.err, field.err_what);
		else if (rc_left(&field) != 0)
			rc_fail(c, RC_SHORT, "known tagged field of the wrong size");
	}
}

static void wc_leb128(struct wcursor *w, uint64_t v)
{
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		if (v)
			byte |= 0x80;
		wc_be(w, byte, 1);
	} while (v);
}

void wc_uvarint(struct wcursor *w, uint32_t v) { wc_leb128(w, v); }
void wc_uvarlong(struct wcursor *w, uint64_t v) { wc_leb128(w, v); }

void wc_varint(struct wcursor *w, int32_t v)
{
	wc_leb128(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void wc_varlong(struct wcursor *w, int64_t v)
{
	wc_leb128(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void wc_string(struct wcursor *w, struct kstr s)
{
	wc_int16(w, (int16_t)(s.len < 0 ? -1 : s.len));
	if (s.len > 0)
		wc_raw(w, s.ptr, (size_t)s.len);
}

void wc_compact_string(struct wcursor *w, struct kstr s)
{
	wc_uvarint(w, (uint32_t)(s.len < 0 ? 0 : s.len + 1));
	if (s.len > 0)
		wc_raw(w, s.ptr, (size_t)s.len);
}

void wc_bytes(struct wcursor *w, struct kbytes b)
{
	wc_int32(w, b.len < 0 ? -1 : b.len);
	if (b.len > 0)
		wc_raw(w, b.ptr, (size_t)b.len);
}

void wc_compact_bytes(struct wcursor *w, struct kbytes b)
{
	wc_uvarint(w, (uint32_t)(b.len < 0 ? 0 : b.len + 1));
	if (b.len > 0)
		wc_raw(w, b.ptr, (size_t)b.len);
}

void wc_array_len(struct wcursor *w, int32_t count)
{
	wc_int32(w, count < 0 ? -1 : count);
}

void wc_compact_array_len(struct wcursor *w, int32_t count)
{
	wc_uvarint(w, (uint32_t)(count < 0 ? 0 : count + 1));
}

void wc_records(struct wcursor *w, const struct krecords *r, bool compact)
{
	if (compact)
		wc_uvarint(w, (uint32_t)(r->len < 0 ? 0 : r->len + 1));
	else
		wc_int32(w, r->len < 0 ? -1 : r->len);
	if (r->len <= 0)
		return;
	if (r->fd < 0) {
		wc_raw(w, r->mem, (size_t)r->len);
		return;
	}
	if (w->ranges_len >= w->ranges_cap) {
		w->overflow = true;
		return;
	}
	struct wfile_range *fr = &w->ranges[w->ranges_len++];
	fr->mem_pos = (size_t)(w->pos - w->start);
	fr->fd = r->fd;
	fr->off = r->file_off;
	fr->len = (uint32_t)r->len;
}

size_t uvarlong_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t uvarint_size(uint32_t v) { return uvarlong_size(v); }

size_t varint_size(int32_t v)
{
	return uvarlong_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t varlong_size(int64_t v)
{
	return uvarlong_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void kuuid_format(struct kuuid u, char out[KUUID_TEXT_BYTES])
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (int i = 0; i < 16; i++) {
		acc = (acc << 8) | u.b[i];
		bits += 8;
		while (bits >= 6) {
			out[o++] = abc[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	out[o++] = abc[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	assert(o == KUUID_TEXT_BYTES - 1);
}

static int kuuid_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

bool kuuid_parse(const char *text, size_t len, struct kuuid *out)
{
	if (len != KUUID_TEXT_BYTES - 1)
		return false;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int d = kuuid_digit(text[i]);
		if (d < 0)
			return false;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			out->b[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	return o == sizeof(out->b) && acc == 0;
}

char *kstr_dup(struct kstr s)
{
	if (s.len < 0)
		return NULL;
	char *p = malloc((size_t)s.len + 1);
	if (p) {
		if (s.len > 0)
			memcpy(p, s.ptr, (size_t)s.len);
		p[s.len] = '\0';
	}
	return p;
}

bool kstr_copy(struct kstr *out, struct kstr s)
{
	if (s.len < 0) {
		*out = KSTR_NULL;
		return true;
	}
	char *p = malloc((size_t)s.len + 1);
	if (!p)
		return false;
	if (s.len > 0)
		memcpy(p, s.ptr, (size_t)s.len);
	p[s.len] = '\0';
	*out = (struct kstr){ p, s.len };
	return true;
}

void kstr_free(struct kstr *s)
{
	free((char *)s->ptr);
	*s = KSTR_NULL;
}

bool kstr_replace(struct kstr *dst, struct kstr s)
{
	struct kstr copy;
	if (!kstr_copy(&copy, s))
		return false;
	kstr_free(dst);
	*dst = copy;
	return true;
}
