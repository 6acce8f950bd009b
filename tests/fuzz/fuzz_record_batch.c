/* Fuzz target: a record batch from a peer, as Produce validates it
 * (record_batch_validate, compressed inner records of every codec included)
 * and as a time lookup walks a stored one (record_batch_find_time).
 *
 * Input: one byte of options, eight bytes of timestamp, then the batch.
 * Options pick the bound on inflated bytes (bits 0-1) and whether the batch's
 * CRC and batchLength are first made to agree with its bytes (bit 2), so
 * that mutations get past the CRC to the records themselves. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crc32c.h"
#include "proto/cursor.h"
#include "proto/kafka_errors.h"
#include "proto/record_batch.h"

enum {
	FUZZ_PREFIX_BYTES = 9,
	FUZZ_FIX_HEADER = 0x04,
	FUZZ_MAX_BATCH_BYTES = 1 << 20,
	BATCH_LENGTH_OFFSET = 8,
	BATCH_CRC_OFFSET = 17,
};

/* Small bounds reach the "inflates too far" paths; the largest is the
 * broker's default. */
static const size_t fuzz_inflated_max[4] = { 64, 4096, 1 << 20, 64 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FUZZ_PREFIX_BYTES)
		return 0;
	uint8_t options = data[0];
	int64_t ts = (int64_t)be_load(data + 1, 8);
	size_t len = size - FUZZ_PREFIX_BYTES;
	/* A copy of exactly the batch's bytes, so that ASan sees any read past it. */
	uint8_t *batch = malloc(len ? len : 1);
	if (!batch)
		return 0;
	memcpy(batch, data + FUZZ_PREFIX_BYTES, len);
	if ((options & FUZZ_FIX_HEADER) && len >= RECORD_BATCH_HEADER_BYTES) {
		be_store(batch + BATCH_LENGTH_OFFSET, len - RECORD_BATCH_LOG_OVERHEAD, 4);
		be_store(batch + BATCH_CRC_OFFSET,
			 crc32c(0, batch + RECORD_BATCH_CRC_START, len - RECORD_BATCH_CRC_START), 4);
	}
	size_t inflated_max = fuzz_inflated_max[options & 3];

	struct batch_limits lim = { .max_batch_bytes = FUZZ_MAX_BATCH_BYTES,
				    .max_inflated_bytes = inflated_max };
	struct batch_verdict v;
	record_batch_validate(batch, len, &lim, &v);
	if (v.error_code != KERR_NONE && !v.reason)
		abort(); /* every refusal says why */

	int64_t offset = 0, timestamp = 0;
	int rc = record_batch_find_time(batch, len, ts, inflated_max, &offset, &timestamp);
	if (rc == -EINVAL && v.error_code == KERR_NONE)
		abort(); /* a batch Produce accepts is one a lookup can walk */
	free(batch);
	return 0;
}
