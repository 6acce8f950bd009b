/* Bounds-checked reader and writer cursors for Kafka's wire types.
 *
 * A reader latches its first error: after it, every read returns zero and the
 * cursor stays at its end, so a decoder checks `rc->err` once at the end instead
 * of after every field. Strings and byte fields are views into the buffer being
 * read, never copies. A writer is given its exact size up front (computed by the
 * matching *_size function), and may interleave file ranges with memory bytes so
 * that log data can leave by zero-copy. */
#ifndef SLUICE_PROTO_CURSOR_H
#define SLUICE_PROTO_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A string view; len == -1 means null. */
struct kstr {
	const char *ptr;
	int32_t len;
};

/* A bytes view; len == -1 means null. */
struct kbytes {
	const uint8_t *ptr;
	int32_t len;
};

struct kuuid {
	uint8_t b[16];
};

/* Record data. A decoded request points `mem` into the (mutable, owned) request
 * buffer so that batches can be rewritten in place. A response either carries
 * memory bytes (fd < 0) or a file range that the writer emits as a separate
 * chunk (fd >= 0). len == -1 means null. */
struct krecords {
	uint8_t *mem;
	int32_t len;
	int fd;
	uint64_t file_off;
};

enum rc_error {
	RC_OK = 0,
	RC_SHORT,     /* a field runs past the end of the buffer */
	RC_NEGATIVE,  /* a non-nullable length or count is negative */
	RC_TOO_MANY,  /* a count exceeds the decoder's named maximum */
	RC_VARINT,    /* a varint is longer than its type allows */
	RC_ALLOC,     /* the request arena's bound was reached */
	RC_INVALID,   /* a value the schema forbids */
};

struct rcursor {
	uint8_t *start;
	uint8_t *pos;
	uint8_t *end;
	enum rc_error err;
	size_t err_off;      /* offset of the first failing read */
	const char *err_what; /* name of what was being read */
};

static inline void rc_init(struct rcursor *c, uint8_t *buf, size_t len)
{
	c->start = buf;
	c->pos = buf;
	c->end = buf + len;
	c->err = RC_OK;
	c->err_off = 0;
	c->err_what = NULL;
}

static inline size_t rc_left(const struct rcursor *c)
{
	return (size_t)(c->end - c->pos);
}

static inline void rc_fail(struct rcursor *c, enum rc_error err, const char *what)
{
	if (c->err == RC_OK) {
		c->err = err;
		c->err_off = (size_t)(c->pos - c->start);
		c->err_what = what;
	}
	c->pos = c->end;
}

const char *rc_error_name(enum rc_error err);

/* Returns a pointer to n bytes and advances, or NULL after latching RC_SHORT. */
static inline uint8_t *rc_take(struct rcursor *c, size_t n, const char *what)
{
	if (c->err != RC_OK)
		return NULL;
	if (rc_left(c) < n) {
		rc_fail(c, RC_SHORT, what);
		return NULL;
	}
	uint8_t *p = c->pos;
	c->pos += n;
	return p;
}

static inline uint64_t be_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void be_store(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0;) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline int8_t rc_int8(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 1, "int8");
	return p ? (int8_t)p[0] : 0;
}

static inline bool rc_bool(struct rcursor *c)
{
	return rc_int8(c) != 0;
}

static inline int16_t rc_int16(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 2, "int16");
	return p ? (int16_t)be_load(p, 2) : 0;
}

static inline uint16_t rc_uint16(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 2, "uint16");
	return p ? (uint16_t)be_load(p, 2) : 0;
}

static inline int32_t rc_int32(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 4, "int32");
	return p ? (int32_t)be_load(p, 4) : 0;
}

static inline uint32_t rc_uint32(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 4, "uint32");
	return p ? (uint32_t)be_load(p, 4) : 0;
}

static inline int64_t rc_int64(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 8, "int64");
	return p ? (int64_t)be_load(p, 8) : 0;
}

static inline double rc_float64(struct rcursor *c)
{
	uint8_t *p = rc_take(c, 8, "float64");
	uint64_t bits = p ? be_load(p, 8) : 0;
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static inline struct kuuid rc_uuid(struct rcursor *c)
{
	struct kuuid u = { { 0 } };
	uint8_t *p = rc_take(c, 16, "uuid");
	if (p)
		memcpy(u.b, p, 16);
	return u;
}

/* Unsigned LEB128 of at most 5 bytes (a 32-bit value). */
uint32_t rc_uvarint(struct rcursor *c);
/* Unsigned LEB128 of at most 10 bytes. */
uint64_t rc_uvarlong(struct rcursor *c);
/* Zig-zag signed varints. */
int32_t rc_varint(struct rcursor *c);
int64_t rc_varlong(struct rcursor *c);

/* Strings and bytes: classic (int16/int32 length) and compact (uvarint length+1). */
struct kstr rc_string(struct rcursor *c);
struct kstr rc_nstring(struct rcursor *c);
struct kstr rc_compact_string(struct rcursor *c);
struct kstr rc_compact_nstring(struct rcursor *c);
struct kbytes rc_bytes(struct rcursor *c);
struct kbytes rc_nbytes(struct rcursor *c);
struct kbytes rc_compact_bytes(struct rcursor *c);
struct kbytes rc_compact_nbytes(struct rcursor *c);

/* Array counts, with an explicit maximum and a check that at least
 * count * min_elem_bytes remain, so that nothing is allocated for bytes that are
 * not there. Returns -1 for a null array (only when nullable), else the count. */
int32_t rc_array_len(struct rcursor *c, bool nullable, uint32_t max, size_t min_elem_bytes);
int32_t rc_compact_array_len(struct rcursor *c, bool nullable, uint32_t max, size_t min_elem_bytes);

/* Skips a whole tagged-field section (flexible versions): count, then
 * {tag, size, bytes} each, checking bounds. */
void rc_skip_tagged_fields(struct rcursor *c);

/* Reads one tagged field it knows from a cursor over exactly its bytes and
 * returns true, or returns false for a tag it does not know. */
typedef bool (*rc_tag_reader)(struct rcursor *field, uint32_t tag, void *ctx);

/* A tagged-field section whose known tags on_tag reads (NULL: none known);
 * a known field must use exactly its size, else the section is malformed.
 * Unknown tags are skipped, as Kafka skips them. */
void rc_read_tagged_fields(struct rcursor *c, rc_tag_reader on_tag, void *ctx);

/* A file range placed between memory bytes of one response. */
struct wfile_range {
	size_t mem_pos; /* memory bytes written before this range */
	int fd;
	uint64_t off;
	uint32_t len;
};

/* Writer over a buffer of exactly the computed size. File ranges are recorded in
 * a caller-provided array. Overrunning either is our bug, not the peer's, so it
 * latches `overflow` which callers assert on. */
struct wcursor {
	uint8_t *start;
	uint8_t *pos;
	uint8_t *end;
	struct wfile_range *ranges;
	uint32_t ranges_len;
	uint32_t ranges_cap;
	bool overflow;
};

static inline void wc_init(struct wcursor *w, uint8_t *buf, size_t len,
			   struct wfile_range *ranges, uint32_t ranges_cap)
{
	w->start = buf;
	w->pos = buf;
	w->end = buf + len;
	w->ranges = ranges;
	w->ranges_len = 0;
	w->ranges_cap = ranges_cap;
	w->overflow = false;
}

static inline uint8_t *wc_take(struct wcursor *w, size_t n)
{
	if ((size_t)(w->end - w->pos) < n || w->overflow) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->pos;
	w->pos += n;
	return p;
}

static inline void wc_be(struct wcursor *w, uint64_t v, unsigned n)
{
	uint8_t *p = wc_take(w, n);
	if (p)
		be_store(p, v, n);
}

static inline void wc_int8(struct wcursor *w, int8_t v) { wc_be(w, (uint8_t)v, 1); }
static inline void wc_bool(struct wcursor *w, bool v) { wc_be(w, v ? 1 : 0, 1); }
static inline void wc_int16(struct wcursor *w, int16_t v) { wc_be(w, (uint16_t)v, 2); }
static inline void wc_uint16(struct wcursor *w, uint16_t v) { wc_be(w, v, 2); }
static inline void wc_int32(struct wcursor *w, int32_t v) { wc_be(w, (uint32_t)v, 4); }
static inline void wc_uint32(struct wcursor *w, uint32_t v) { wc_be(w, v, 4); }
static inline void wc_int64(struct wcursor *w, int64_t v) { wc_be(w, (uint64_t)v, 8); }

static inline void wc_float64(struct wcursor *w, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	wc_be(w, bits, 8);
}

static inline void wc_raw(struct wcursor *w, const void *src, size_t n)
{
	uint8_t *p = wc_take(w, n);
	if (p && n)
		memcpy(p, src, n);
}

static inline void wc_uuid(struct wcursor *w, struct kuuid u)
{
	wc_raw(w, u.b, 16);
}

void wc_uvarint(struct wcursor *w, uint32_t v);
void wc_uvarlong(struct wcursor *w, uint64_t v);
void wc_varint(struct wcursor *w, int32_t v);
void wc_varlong(struct wcursor *w, int64_t v);

/* Classic strings/bytes take a length prefix; a null view (len -1) writes -1.
 * Compact ones write len+1 as a uvarint (0 for null). */
void wc_string(struct wcursor *w, struct kstr s);
void wc_compact_string(struct wcursor *w, struct kstr s);
void wc_bytes(struct wcursor *w, struct kbytes b);
void wc_compact_bytes(struct wcursor *w, struct kbytes b);
void wc_array_len(struct wcursor *w, int32_t count);
void wc_compact_array_len(struct wcursor *w, int32_t count);

/* Writes record data: the length prefix (int32, or compact uvarint when
 * `compact`), then either the memory bytes or a file range chunk. */
void wc_records(struct wcursor *w, const struct krecords *r, bool compact);

/* Sizes of the encodings above, for *_size functions. */
size_t uvarint_size(uint32_t v);
size_t uvarlong_size(uint64_t v);
size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);

static inline struct kstr kstr_from_cstr(const char *s)
{
	struct kstr k = { s, s ? (int32_t)strlen(s) : -1 };
	return k;
}

/* A NUL-terminated copy of s (malloc'd, the caller frees it); NULL for a
 * null string or when out of memory. Only for strings that cannot hold a
 * NUL (names checked against a character set): a Kafka string can, and a C
 * string would end there. */
char *kstr_dup(struct kstr s);

/* An owned copy of s, every byte of it (NULs too), in *out: malloc'd, one
 * NUL past the end, released with kstr_free; a null view copies as null.
 * Returns false (out untouched) when out of memory. */
bool kstr_copy(struct kstr *out, struct kstr s);
/* Frees a kstr_copy'd string; it is null afterwards. */
void kstr_free(struct kstr *s);
/* Replaces *dst with a copy of s; false (dst unchanged) when out of memory. */
bool kstr_replace(struct kstr *dst, struct kstr s);

#define KSTR_NULL ((struct kstr){ NULL, -1 })

static inline bool kstr_eq(struct kstr a, struct kstr b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static inline bool kstr_eq_cstr(struct kstr a, const char *s)
{
	return kstr_eq(a, kstr_from_cstr(s));
}

enum { KUUID_TEXT_BYTES = 23 };

/* Kafka's text form of a Uuid: URL-safe base64 of the 16 bytes, unpadded
 * (22 characters), as in meta.properties and partition.metadata. */
void kuuid_format(struct kuuid u, char out[KUUID_TEXT_BYTES]);
/* The reverse, for exactly 22 characters of that alphabet whose unused low
 * bits are zero; returns false for anything else. */
bool kuuid_parse(const char *text, size_t len, struct kuuid *out);

static inline bool kuuid_is_zero(struct kuuid u)
{
	static const struct kuuid zero = { { 0 } };
	return memcmp(u.b, zero.b, 16) == 0;
}

#endif
