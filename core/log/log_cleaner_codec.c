/* Growable buffers and payload compression for the cleaner (see
 * log_cleaner_codec.h). Runs on the cleaner's thread. */
#include "core/log/log_cleaner_codec.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "proto/cursor.h"

enum {
	CLEANER_BUF_MIN = 64 << 10,
	XERIAL_HEADER_BYTES = 16,
	XERIAL_BLOCK_BYTES = 32 << 10,
	ZSTD_LEVEL = 3,
	/* igzip writes at most this much over its input for data that does
	 * not compress (stored blocks, header and trailer). */
	IGZIP_SLACK_BYTES = 1024,
};

int cleaner_buf_reserve(struct cleaner_buf *b, size_t more)
{
	if (b->cap - b->len >= more)
		return 0;
	size_t cap = b->cap ? b->cap : CLEANER_BUF_MIN;
	while (cap - b->len < more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void cleaner_buf_free(struct cleaner_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int compress_gzip(const uint8_t *in, size_t n, struct cleaner_buf *out)
{
	size_t bound = n + n / 8 + IGZIP_SLACK_BYTES;
	uint8_t *level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
	if (!level_buf || cleaner_buf_reserve(out, bound) != 0) {
		free(level_buf);
		return -ENOMEM;
	}
	struct isal_zstream z;
	isal_deflate_init(&z);
	z.gzip_flag = IGZIP_GZIP;
	z.level = 1;
	z.level_buf = level_buf;
	z.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	z.end_of_stream = 1;
	z.flush = NO_FLUSH;
	z.next_in = (uint8_t *)in;
	z.avail_in = (uint32_t)n;
	z.next_out = out->p + out->len;
	z.avail_out = (uint32_t)bound;
	int rc = isal_deflate(&z);
	bool done = rc == COMP_OK && z.internal_state.state == ZSTATE_END;
	free(level_buf);
	if (!done)
		return -ENOMEM;
	out->len += z.total_out;
	return 0;
}

static int compress_xerial(const uint8_t *in, size_t n, struct cleaner_buf *out)
{
	static const uint8_t hdr[XERIAL_HEADER_BYTES] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
							   0,    0,   0,   1,   0,   0,   0,   1 };
	size_t blocks = n / XERIAL_BLOCK_BYTES + 1;
	size_t bound = XERIAL_HEADER_BYTES + blocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK_BYTES));
	if (cleaner_buf_reserve(out, bound) != 0)
		return -ENOMEM;
	memcpy(out->p + out->len, hdr, sizeof(hdr));
	out->len += sizeof(hdr);
	for (size_t off = 0; off < n; off += XERIAL_BLOCK_BYTES) {
		size_t len = n - off < XERIAL_BLOCK_BYTES ? n - off : XERIAL_BLOCK_BYTES;
		size_t got = out->cap - out->len - 4;
		if (snappy_compress((const char *)in + off, len, (char *)out->p + out->len + 4, &got) !=
		    SNAPPY_OK)
			return -ENOMEM;
		be_store(out->p + out->len, got, 4);
		out->len += 4 + got;
	}
	return 0;
}

int log_cleaner_compress(enum compression_codec codec, const uint8_t *in, size_t n,
			 struct cleaner_buf *out)
{
	size_t bound, got;
	switch (codec) {
	case CODEC_GZIP:
		return compress_gzip(in, n, out);
	case CODEC_SNAPPY:
		return compress_xerial(in, n, out);
	case CODEC_LZ4:
		bound = LZ4F_compressFrameBound(n, NULL);
		if (cleaner_buf_reserve(out, bound) != 0)
			return -ENOMEM;
		got = LZ4F_compressFrame(out->p + out->len, bound, in, n, NULL);
		if (LZ4F_isError(got))
			return -ENOMEM;
		out->len += got;
		return 0;
	case CODEC_ZSTD:
		bound = ZSTD_compressBound(n);
		if (cleaner_buf_reserve(out, bound) != 0)
			return -ENOMEM;
		got = ZSTD_compress(out->p + out->len, bound, in, n, ZSTD_LEVEL);
		if (ZSTD_isError(got))
			return -ENOMEM;
		out->len += got;
		return 0;
	case CODEC_NONE:
		break;
	}
	return -EINVAL;
}
