/* Decompression of record batch payloads, in the formats Kafka clients send:
 * gzip, snappy (raw, or Kafka's xerial framing), lz4 frames, zstd. Streaming,
 * so that a payload is checked through a small window whatever it inflates to,
 * and bounded: no payload yields more than the caller's out_max bytes. */
#ifndef SLUICE_PROTO_COMPRESSION_H
#define SLUICE_PROTO_COMPRESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum compression_codec {
	CODEC_NONE = 0,
	CODEC_GZIP = 1,
	CODEC_SNAPPY = 2,
	CODEC_LZ4 = 3,
	CODEC_ZSTD = 4,
};

enum {
	/* The largest zstd window a frame may ask for: zstd's own default
	 * limit, which Kafka's decoder keeps too (level 22 without a pledged
	 * size asks for it). The window is touched only as far as the output
	 * goes, so what it costs in memory is bounded by out_max as well. */
	COMPRESSION_ZSTD_WINDOW_LOG_MAX = 27,
};

struct ZSTD_DCtx_s;
struct z_stream_s;
struct LZ4F_dctx_s;

/* One payload being inflated. The decoders' state is allocated by
 * inflate_stream_open and freed by inflate_stream_close; snappy, which has no
 * streaming decoder, decodes one block at a time into `block` after checking
 * the block's declared length against what is left of out_max. */
struct inflate_stream {
	enum compression_codec codec;
	const uint8_t *in;
	size_t in_len;
	size_t in_pos;
	size_t out_total;   /* bytes produced so far */
	size_t out_max;
	bool frame_closed;  /* the decoder stands between frames or members */
	int err;            /* the first error, returned again by every later read */
	union {
		struct ZSTD_DCtx_s *zstd;
		struct z_stream_s *zlib;
		struct LZ4F_dctx_s *lz4;
	} ctx;
	uint8_t *block;     /* snappy: the current block, decoded */
	size_t block_cap;
	size_t block_len;
	size_t block_pos;
	bool xerial;        /* snappy: Kafka's xerial framing rather than one raw block */
};

/* Prepares to inflate in[0..in_len) of `codec` (not CODEC_NONE). Returns 0,
 * -EINVAL for an unknown codec, -ENOMEM. */
int inflate_stream_open(struct inflate_stream *s, enum compression_codec codec, const uint8_t *in,
			size_t in_len, size_t out_max);

/* Writes the next bytes of the payload to out (cap >= 1). Returns how many
 * (> 0), 0 once the payload has ended exactly at the end of a frame (of a
 * gzip member, of the last xerial block), -EINVAL for a payload that does not
 * decode (bad data, truncated, trailing bytes), -EMSGSIZE once the output
 * would pass out_max (the bytes up to out_max are returned first, except for
 * a snappy block, which is refused whole before it is decoded), -ENOMEM.
 * After an error every call returns it again. */
ssize_t inflate_stream_read(struct inflate_stream *s, uint8_t *out, size_t cap);

void inflate_stream_close(struct inflate_stream *s);

/* Decompresses all of in into out (out_cap bytes at most). Returns 0 with
 * *out_len set, -EMSGSIZE when the output would exceed out_cap, -EINVAL for
 * corrupt input or an unknown codec. */
int compression_decompress(enum compression_codec codec, const uint8_t *in, size_t in_len,
			   uint8_t *out, size_t out_cap, size_t *out_len);

#endif
