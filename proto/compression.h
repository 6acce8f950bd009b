/* Decompression of record batch payloads, in the formats Kafka clients send:
 * gzip, snappy (raw, or Kafka's xerial framing), lz4 frames, zstd. */
#ifndef SLUICE_PROTO_COMPRESSION_H
#define SLUICE_PROTO_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

enum compression_codec {
	CODEC_NONE = 0,
	CODEC_GZIP = 1,
	CODEC_SNAPPY = 2,
	CODEC_LZ4 = 3,
	CODEC_ZSTD = 4,
};

/* Decompresses into out (out_cap bytes at most). Returns 0 with *out_len set,
 * -EMSGSIZE when the output would exceed out_cap, -EINVAL for corrupt input
 * or an unknown codec. */
int compression_decompress(enum compression_codec codec, const uint8_t *in, size_t in_len,
			   uint8_t *out, size_t out_cap, size_t *out_len);

#endif
