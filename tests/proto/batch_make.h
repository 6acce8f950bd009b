/* Builds v2 record batches for the proto tests: records with chosen fields,
 * compressed by each codec's own library (snappy also in Kafka's xerial
 * framing), header and CRC32C set. */
#ifndef SLUICE_TESTS_PROTO_BATCH_MAKE_H
#define SLUICE_TESTS_PROTO_BATCH_MAKE_H

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/compression.h"
#include "proto/crc32c.h"
#include "proto/cursor.h"
#include "proto/record_batch.h"

/* The codecs as the tests make them: CODEC_* plus snappy in xerial blocks. */
enum { TEST_SNAPPY_XERIAL = 5, TEST_CODECS = 6 };

static inline int test_codec_attr(int test_codec)
{
	return test_codec == TEST_SNAPPY_XERIAL ? CODEC_SNAPPY : test_codec;
}

struct bytes_buf {
	uint8_t *b;
	size_t n;
	size_t cap;
};

static inline void bb_grow(struct bytes_buf *o, size_t n)
{
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2 + 64;
		o->b = realloc(o->b, o->cap);
	}
}

static inline void bb_put(struct bytes_buf *o, const void *p, size_t n)
{
	bb_grow(o, n);
	if (n)
		memcpy(o->b + o->n, p, n);
	o->n += n;
}

static inline void bb_fill(struct bytes_buf *o, int c, size_t n)
{
	bb_grow(o, n);
	memset(o->b + o->n, c, n);
	o->n += n;
}

static inline void bb_varint(struct bytes_buf *o, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	do {
		uint8_t byte = u & 0x7f;
		u >>= 7;
		byte |= u ? 0x80 : 0;
		bb_put(o, &byte, 1);
	} while (u);
}

static inline void bb_free(struct bytes_buf *o)
{
	free(o->b);
	memset(o, 0, sizeof(*o));
}

/* Appends one record: key "k1", value_bytes of 'v', one header h=null. */
static inline void bb_record(struct bytes_buf *o, int64_t ts_delta, int32_t off_delta,
			     size_t value_bytes)
{
	struct bytes_buf rec = { 0 };
	bb_put(&rec, "", 1); /* attributes */
	bb_varint(&rec, ts_delta);
	bb_varint(&rec, off_delta);
	bb_varint(&rec, 2);
	bb_put(&rec, "k1", 2);
	bb_varint(&rec, (int64_t)value_bytes);
	bb_fill(&rec, 'v', value_bytes);
	bb_varint(&rec, 1);
	bb_varint(&rec, 1);
	bb_put(&rec, "h", 1);
	bb_varint(&rec, -1);
	bb_varint(o, (int64_t)rec.n);
	bb_put(o, rec.b, rec.n);
	bb_free(&rec);
}

/* `count` records, record i with timestamp delta 10*i and value_bytes. */
static inline struct bytes_buf bb_records(int count, size_t value_bytes)
{
	struct bytes_buf o = { 0 };
	for (int i = 0; i < count; i++)
		bb_record(&o, 10 * i, i, value_bytes);
	return o;
}

static inline size_t make_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	size_t got = deflate(&z, Z_FINISH) == Z_STREAM_END ? z.total_out : 0;
	deflateEnd(&z);
	return got;
}

/* Kafka's xerial framing: 16-byte header, then (int32 length, block) of at
 * most 32 KiB of input each, as the Java client writes them. */
static inline size_t make_xerial(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	static const uint8_t hdr[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 };
	memcpy(out, hdr, 16);
	size_t pos = 16;
	for (size_t off = 0; off < n; off += 32768) {
		size_t len = n - off < 32768 ? n - off : 32768;
		size_t got = cap - pos - 4;
		if (snappy_compress((const char *)in + off, len, (char *)out + pos + 4, &got) != SNAPPY_OK)
			return 0;
		be_store(out + pos, got, 4);
		pos += 4 + got;
	}
	return pos;
}

/* Compresses in[0..n) as test_codec does; returns the bytes written. */
static inline size_t make_compressed(int test_codec, const uint8_t *in, size_t n, uint8_t *out,
				     size_t cap)
{
	size_t got = cap;
	switch (test_codec) {
	case CODEC_NONE:
		memcpy(out, in, n);
		return n;
	case CODEC_GZIP:
		return make_gzip(in, n, out, cap);
	case CODEC_SNAPPY:
		return snappy_compress((const char *)in, n, (char *)out, &got) == SNAPPY_OK ? got : 0;
	case TEST_SNAPPY_XERIAL:
		return make_xerial(in, n, out, cap);
	case CODEC_LZ4:
		got = LZ4F_compressFrame(out, cap, in, n, NULL);
		return LZ4F_isError(got) ? 0 : got;
	case CODEC_ZSTD:
		got = ZSTD_compress(out, cap, in, n, 3);
		return ZSTD_isError(got) ? 0 : got;
	}
	return 0;
}

/* Puts a batch header in front of payload (already compressed with the
 * codec of `attr_codec`): count records claimed, lastOffsetDelta count - 1,
 * base timestamp 1000, base offset 500. */
static inline struct bytes_buf batch_wrap(int attr_codec, const uint8_t *payload, size_t n,
					  int32_t count)
{
	struct bytes_buf o = { 0 };
	bb_fill(&o, 0, RECORD_BATCH_HEADER_BYTES);
	bb_put(&o, payload, n);
	be_store(o.b, 500, 8);
	be_store(o.b + 8, o.n - 12, 4);
	o.b[16] = 2;
	be_store(o.b + 21, (uint16_t)attr_codec, 2);
	be_store(o.b + 23, (uint32_t)(count - 1), 4);
	be_store(o.b + 27, 1000, 8);
	be_store(o.b + 35, 1000, 8);
	be_store(o.b + 43, (uint64_t)-1, 8);
	be_store(o.b + 51, 0xFFFF, 2);
	be_store(o.b + 53, 0xFFFFFFFF, 4);
	be_store(o.b + 57, (uint32_t)count, 4);
	be_store(o.b + 17, crc32c(0, o.b + 21, o.n - 21), 4);
	return o;
}

/* A whole batch of the records in recs, compressed with test_codec. */
static inline struct bytes_buf batch_make(int test_codec, const struct bytes_buf *recs, int32_t count)
{
	size_t cap = recs->n * 2 + 1024;
	uint8_t *payload = malloc(cap);
	size_t n = make_compressed(test_codec, recs->b, recs->n, payload, cap);
	struct bytes_buf o = batch_wrap(test_codec_attr(test_codec), payload, n, count);
	free(payload);
	return o;
}

#endif
