/* Bounded decompression for the four codecs of record batches. */
#include "proto/compression.h"

#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/cursor.h"

/* Kafka's Java client frames snappy the xerial way: a 16-byte header, then
 * blocks of (int32 length, raw snappy block). */
static const uint8_t XERIAL_MAGIC[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };
enum { XERIAL_HEADER_BYTES = 16 };

static int decompress_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
			   size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -EINVAL;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = inflate(&z, Z_FINISH);
	*out_len = z.total_out;
	inflateEnd(&z);
	if (rc == Z_STREAM_END)
		return 0;
	return rc == Z_BUF_ERROR && z.avail_out == 0 ? -EMSGSIZE : -EINVAL;
}

static int decompress_snappy_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
				   size_t *out_len)
{
	size_t need;
	if (snappy_uncompressed_length((const char *)in, in_len, &need) != SNAPPY_OK)
		return -EINVAL;
	if (need > cap)
		return -EMSGSIZE;
	*out_len = cap;
	return snappy_uncompress((const char *)in, in_len, (char *)out, out_len) == SNAPPY_OK
		       ? 0 : -EINVAL;
}

static int decompress_snappy(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
			     size_t *out_len)
{
	if (in_len < XERIAL_HEADER_BYTES || memcmp(in, XERIAL_MAGIC, sizeof(XERIAL_MAGIC)) != 0)
		return decompress_snappy_block(in, in_len, out, cap, out_len);
	struct rcursor c;
	rc_init(&c, (uint8_t *)in + XERIAL_HEADER_BYTES, in_len - XERIAL_HEADER_BYTES);
	size_t total = 0;
	while (rc_left(&c) > 0) {
		uint32_t n = rc_uint32(&c);
		uint8_t *block = rc_take(&c, n, "snappy block");
		if (!block)
			return -EINVAL;
		size_t got = 0;
		int rc = decompress_snappy_block(block, n, out + total, cap - total, &got);
		if (rc != 0)
			return rc;
		total += got;
	}
	*out_len = total;
	return 0;
}

static int decompress_lz4(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
			  size_t *out_len)
{
	LZ4F_dctx *d;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return -EINVAL;
	size_t in_pos = 0, out_pos = 0, hint = 1;
	int rc = 0;
	while (hint != 0) {
		size_t src = in_len - in_pos, dst = cap - out_pos;
		if (src == 0) {
			rc = -EINVAL;
			break;
		}
		hint = LZ4F_decompress(d, out + out_pos, &dst, in + in_pos, &src, NULL);
		if (LZ4F_isError(hint)) {
			rc = -EINVAL;
			break;
		}
		in_pos += src;
		out_pos += dst;
		if (hint != 0 && out_pos == cap && src == 0) {
			rc = -EMSGSIZE;
			break;
		}
	}
	LZ4F_freeDecompressionContext(d);
	*out_len = out_pos;
	return rc;
}

static int decompress_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
			   size_t *out_len)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	if (!z)
		return -ENOMEM;
	ZSTD_inBuffer src = { in, in_len, 0 };
	ZSTD_outBuffer dst = { out, cap, 0 };
	int rc = 0;
	for (;;) {
		size_t r = ZSTD_decompressStream(z, &dst, &src);
		if (ZSTD_isError(r)) {
			rc = -EINVAL;
			break;
		}
		if (r == 0 && src.pos == src.size)
			break;
		if (dst.pos == dst.size) {
			rc = -EMSGSIZE;
			break;
		}
		if (src.pos == src.size) {
			rc = -EINVAL; /* input ended inside a frame */
			break;
		}
	}
	ZSTD_freeDStream(z);
	*out_len = dst.pos;
	return rc;
}

int compression_decompress(enum compression_codec codec, const uint8_t *in, size_t in_len,
			   uint8_t *out, size_t out_cap, size_t *out_len)
{
	*out_len = 0;
	switch (codec) {
	case CODEC_GZIP: return decompress_gzip(in, in_len, out, out_cap, out_len);
	case CODEC_SNAPPY: return decompress_snappy(in, in_len, out, out_cap, out_len);
	case CODEC_LZ4: return decompress_lz4(in, in_len, out, out_cap, out_len);
	case CODEC_ZSTD: return decompress_zstd(in, in_len, out, out_cap, out_len);
	case CODEC_NONE: break;
	}
	return -EINVAL;
}
