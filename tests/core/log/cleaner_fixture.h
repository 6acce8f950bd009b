/* What the cleaner's tests share: keyed record batches in any codec, built
 * the way a client would send them and as the log stores them. */
#ifndef SLUICE_TESTS_CLEANER_FIXTURE_H
#define SLUICE_TESTS_CLEANER_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "core/log/log_cleaner_codec.h"
#include "proto/crc32c.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

enum { KEYED_RECORDS_MAX = 64 };

/* A batch of n records with the given keys and values (NULL value: a
 * tombstone; NULL key: none), CreateTime ts, at base_offset, compressed
 * with codec; malloc'd, its length in *len. */
static inline uint8_t *make_keyed(const char *const *keys, const char *const *values, int n,
				  int64_t base_offset, enum compression_codec codec, int64_t ts,
				  size_t *len)
{
	struct record_kv kv[KEYED_RECORDS_MAX];
	for (int i = 0; i < n; i++) {
		kv[i].key = keys[i] ? (struct kbytes){ (const uint8_t *)keys[i], (int32_t)strlen(keys[i]) }
				    : (struct kbytes){ NULL, -1 };
		kv[i].value = values[i] ? (struct kbytes){ (const uint8_t *)values[i],
							   (int32_t)strlen(values[i]) }
					: (struct kbytes){ NULL, -1 };
	}
	size_t plain_len = record_batch_build_size(kv, (uint32_t)n);
	uint8_t *plain = malloc(plain_len);
	record_batch_build(plain, plain_len, kv, (uint32_t)n, ts);
	record_batch_assign_offset(plain, base_offset, 0);
	if (codec == CODEC_NONE) {
		*len = plain_len;
		return plain;
	}
	struct cleaner_buf out = { 0 };
	cleaner_buf_reserve(&out, RECORD_BATCH_HEADER_BYTES);
	memcpy(out.p, plain, RECORD_BATCH_HEADER_BYTES);
	out.len = RECORD_BATCH_HEADER_BYTES;
	if (log_cleaner_compress(codec, plain + RECORD_BATCH_HEADER_BYTES,
				 plain_len - RECORD_BATCH_HEADER_BYTES, &out) != 0)
		abort();
	free(plain);
	be_store(out.p + 8, out.len - RECORD_BATCH_LOG_OVERHEAD, 4);
	be_store(out.p + 21, (uint16_t)codec, 2);
	be_store(out.p + 17, crc32c(0, out.p + RECORD_BATCH_CRC_START, out.len - RECORD_BATCH_CRC_START), 4);
	*len = out.len;
	return out.p;
}

#endif
