/* What the cleaner needs around a batch's payload: a growable byte buffer
 * with a bound, and compression with each of Kafka's codecs, so that a
 * compressed batch whose records the cleaner removed is written back with the
 * codec it came with (decompression is proto/compression.h's). */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_CODEC_H
#define SLUICE_CORE_LOG_LOG_CLEANER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "proto/compression.h"

/* Bytes owned by one cleaner pass; len <= cap. */
struct cleaner_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/* Makes room for `more` bytes after len. Returns 0 or -ENOMEM. */
int cleaner_buf_reserve(struct cleaner_buf *b, size_t more);
void cleaner_buf_free(struct cleaner_buf *b);

/* Appends in[0..n) compressed with `codec` (not CODEC_NONE) to out, in the
 * framing Kafka's own broker writes: a gzip member (isa-l's igzip, level 1),
 * snappy in the xerial framing Java's SnappyOutputStream writes (32 KiB
 * blocks), an lz4 frame, a zstd frame (level 3, zstd's default). Returns 0,
 * -EINVAL for an unknown codec, -ENOMEM. */
int log_cleaner_compress(enum compression_codec codec, const uint8_t *in, size_t n,
			 struct cleaner_buf *out);

#endif
