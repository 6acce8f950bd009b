/* Bounded streaming decompression for the four codecs of record batches
 * (see compression.h). */
#include "proto/compression.h"

#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/cursor.h"

/* Kafka's Java client frames snappy the xerial way: a 16-byte header, then
 * blocks of (int32 length, raw snappy block). */
static const uint8_t XERIAL_MAGIC[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };
enum {
	XERIAL_HEADER_BYTES = 16,
	XERIAL_BLOCK_LENGTH_BYTES = 4,
	GZIP_WINDOW_BITS = 16 + MAX_WBITS, /* gzip wrapper, 32 KiB window */
};

int inflate_stream_open(struct inflate_stream *s, enum compression_codec codec, const uint8_t *in,
			size_t in_len, size_t out_max)
{
	memset(s, 0, sizeof(*s));
	s->codec = codec;
	s->in = in;
	s->in_len = in_len;
	s->out_max = out_max;
	switch (codec) {
	case CODEC_GZIP:
		s->ctx.zlib = calloc(1, sizeof(*s->ctx.zlib));
		if (!s->ctx.zlib)
			return -ENOMEM;
		if (inflateInit2(s->ctx.zlib, GZIP_WINDOW_BITS) != Z_OK) {
			free(s->ctx.zlib);
			s->ctx.zlib = NULL;
			return -ENOMEM;
		}
		return 0;
	case CODEC_SNAPPY:
		s->xerial = in_len >= XERIAL_HEADER_BYTES &&
			    memcmp(in, XERIAL_MAGIC, sizeof(XERIAL_MAGIC)) == 0;
		s->in_pos = s->xerial ? XERIAL_HEADER_BYTES : 0;
		return 0;
	case CODEC_LZ4:
		return LZ4F_isError(LZ4F_createDecompressionContext(&s->ctx.lz4, LZ4F_VERSION))
			       ? -ENOMEM : 0;
	case CODEC_ZSTD:
		s->ctx.zstd = ZSTD_createDStream();
		if (!s->ctx.zstd)
			return -ENOMEM;
		if (ZSTD_isError(ZSTD_DCtx_setParameter(s->ctx.zstd, ZSTD_d_windowLogMax,
							 COMPRESSION_ZSTD_WINDOW_LOG_MAX))) {
			ZSTD_freeDStream(s->ctx.zstd);
			s->ctx.zstd = NULL;
			return -ENOMEM;
		}
		return 0;
	case CODEC_NONE:
		break;
	}
	return -EINVAL;
}

void inflate_stream_close(struct inflate_stream *s)
{
	switch (s->codec) {
	case CODEC_GZIP:
		if (s->ctx.zlib)
			inflateEnd(s->ctx.zlib);
		free(s->ctx.zlib);
		break;
	case CODEC_LZ4:
		if (s->ctx.lz4)
			LZ4F_freeDecompressionContext(s->ctx.lz4);
		break;
	case CODEC_ZSTD:
		ZSTD_freeDStream(s->ctx.zstd);
		break;
	case CODEC_SNAPPY:
	case CODEC_NONE:
		break;
	}
	free(s->block);
	memset(s, 0, sizeof(*s));
}

/* gzip: one member after another until the input ends, as Java's
 * GZIPInputStream reads them. */
static ssize_t inflate_gzip(struct inflate_stream *s, uint8_t *out, size_t cap)
{
	z_stream *z = s->ctx.zlib;
	for (;;) {
		if (s->frame_closed) {
			if (s->in_pos == s->in_len)
				return 0;
			if (inflateReset(z) != Z_OK)
				return -EINVAL;
			s->frame_closed = false;
		}
		size_t in_left = s->in_len - s->in_pos;
		z->next_in = (Bytef *)(s->in + s->in_pos);
		z->avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
		z->next_out = out;
		z->avail_out = cap > UINT32_MAX ? UINT32_MAX : (uInt)cap;
		uInt avail_in = z->avail_in, avail_out = z->avail_out;
		int rc = inflate(z, Z_NO_FLUSH);
		s->in_pos += avail_in - z->avail_in;
		size_t got = avail_out - z->avail_out;
		if (rc == Z_STREAM_END)
			s->frame_closed = true;
		else if (rc != Z_OK)
			return -EINVAL; /* bad data, or the input ends inside a member */
		if (got > 0)
			return (ssize_t)got;
	}
}

/* zstd: frames one after another (skippable ones included). */
static ssize_t inflate_zstd(struct inflate_stream *s, uint8_t *out, size_t cap)
{
	for (;;) {
		if (s->frame_closed && s->in_pos == s->in_len)
			return 0;
		ZSTD_inBuffer src = { s->in, s->in_len, s->in_pos };
		ZSTD_outBuffer dst = { out, cap, 0 };
		size_t hint = ZSTD_decompressStream(s->ctx.zstd, &dst, &src);
		if (ZSTD_isError(hint))
			return -EINVAL;
		bool progress = src.pos != s->in_pos || dst.pos > 0;
		s->in_pos = src.pos;
		s->frame_closed = hint == 0;
		if (dst.pos > 0)
			return (ssize_t)dst.pos;
		if (!s->frame_closed && (s->in_pos == s->in_len || !progress))
			return -EINVAL; /* the input ends inside a frame */
	}
}

/* lz4: LZ4F frames one after another. */
static ssize_t inflate_lz4(struct inflate_stream *s, uint8_t *out, size_t cap)
{
	for (;;) {
		if (s->frame_closed && s->in_pos == s->in_len)
			return 0;
		size_t src = s->in_len - s->in_pos, dst = cap;
		size_t hint = LZ4F_decompress(s->ctx.lz4, out, &dst, s->in + s->in_pos, &src, NULL);
		if (LZ4F_isError(hint))
			return -EINVAL;
		s->in_pos += src;
		s->frame_closed = hint == 0;
		if (dst > 0)
			return (ssize_t)dst;
		if (!s->frame_closed && (s->in_pos == s->in_len || src == 0))
			return -EINVAL; /* the input ends inside a frame */
	}
}

/* Decodes the next snappy block into s->block: the declared length is
 * checked against what is left of out_max before anything is allocated.
 * Returns 1 with a block, 0 at the end of the payload, or an error. */
static int snappy_next_block(struct inflate_stream *s)
{
	const uint8_t *blk = s->in + s->in_pos;
	size_t blk_len = s->in_len - s->in_pos;
	if (s->xerial) {
		if (blk_len == 0)
			return 0;
		if (blk_len < XERIAL_BLOCK_LENGTH_BYTES)
			return -EINVAL;
		uint64_t n = be_load(blk, XERIAL_BLOCK_LENGTH_BYTES);
		if (n > blk_len - XERIAL_BLOCK_LENGTH_BYTES)
			return -EINVAL;
		blk += XERIAL_BLOCK_LENGTH_BYTES;
		blk_len = (size_t)n;
	} else if (s->frame_closed) {
		return 0; /* a raw payload is one block */
	}
	s->in_pos = (size_t)(blk + blk_len - s->in);
	s->frame_closed = true;
	size_t need;
	if (snappy_uncompressed_length((const char *)blk, blk_len, &need) != SNAPPY_OK)
		return -EINVAL;
	if (need > s->out_max - s->out_total)
		return -EMSGSIZE;
	if (need > s->block_cap) {
		uint8_t *grown = realloc(s->block, need);
		if (!grown)
			return -ENOMEM;
		s->block = grown;
		s->block_cap = need;
	}
	size_t got = need;
	if (need > 0 && (snappy_uncompress((const char *)blk, blk_len, (char *)s->block, &got) !=
				 SNAPPY_OK || got != need))
		return -EINVAL;
	s->block_len = need;
	s->block_pos = 0;
	return 1;
}

static ssize_t inflate_snappy(struct inflate_stream *s, uint8_t *out, size_t cap)
{
	while (s->block_pos == s->block_len) {
		int rc = snappy_next_block(s);
		if (rc <= 0)
			return rc;
	}
	size_t n = s->block_len - s->block_pos;
	if (n > cap)
		n = cap;
	memcpy(out, s->block + s->block_pos, n);
	s->block_pos += n;
	return (ssize_t)n;
}

ssize_t inflate_stream_read(struct inflate_stream *s, uint8_t *out, size_t cap)
{
	if (s->err)
		return s->err;
	/* One byte past the bound is enough to tell that the payload passes it. */
	size_t room = s->out_max - s->out_total;
	if (cap > room)
		cap = room + 1;
	ssize_t got = -EINVAL;
	switch (s->codec) {
	case CODEC_GZIP: got = inflate_gzip(s, out, cap); break;
	case CODEC_SNAPPY: got = inflate_snappy(s, out, cap); break;
	case CODEC_LZ4: got = inflate_lz4(s, out, cap); break;
	case CODEC_ZSTD: got = inflate_zstd(s, out, cap); break;
	case CODEC_NONE: break;
	}
	if (got > (ssize_t)room) {
		/* The bytes up to the bound are still served: a time lookup may
		 * find its record among them. */
		s->err = -EMSGSIZE;
		got = room > 0 ? (ssize_t)room : -EMSGSIZE;
	}
	if (got > 0)
		s->out_total += (size_t)got;
	else if (got < 0)
		s->err = (int)got;
	return got;
}

int compression_decompress(enum compression_codec codec, const uint8_t *in, size_t in_len,
			   uint8_t *out, size_t out_cap, size_t *out_len)
{
	*out_len = 0;
	struct inflate_stream s;
	int rc = inflate_stream_open(&s, codec, in, in_len, out_cap);
	if (rc != 0)
		return rc;
	uint8_t spare; /* where the byte past a full out_cap goes, to be refused */
	ssize_t got;
	do {
		size_t pos = s.out_total;
		got = pos < out_cap ? inflate_stream_read(&s, out + pos, out_cap - pos)
				    : inflate_stream_read(&s, &spare, 1);
	} while (got > 0);
	*out_len = s.out_total > out_cap ? out_cap : s.out_total;
	inflate_stream_close(&s);
	return (int)got;
}
