/* Fuzz target: a producer state snapshot file (`<offset>.snapshot`, which
 * sluice, Kafka or a damaged disk wrote) through producer_snapshot_decode. A
 * file that decodes is encoded again and must decode to as many producers,
 * and a file that does not decode must leave the state empty. Seeds:
 * corpus/producer_snapshot/ (written like Kafka's files, CRC32C included, so
 * that mutations reach the entries). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/producer_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nothing expires: the fuzzer's timestamps are arbitrary. */
static const int64_t NOW_MS = 0;
static const int64_t NEVER_MS = INT64_MAX;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct producer_state ps = { 0 };
	char why[128];
	if (producer_snapshot_decode(data, size, NOW_MS, NEVER_MS, &ps, why, sizeof(why)) != 0) {
		assert(ps.count == 0);
		producer_state_clear(&ps);
		return 0;
	}
	uint8_t *once, *twice;
	size_t once_len, twice_len;
	if (producer_snapshot_encode(&ps, &once, &once_len) != 0) {
		producer_state_clear(&ps);
		return 0;
	}
	struct producer_state back = { 0 };
	int rc = producer_snapshot_decode(once, once_len, NOW_MS, NEVER_MS, &back, why, sizeof(why));
	assert(rc == 0 && back.count == ps.count);
	if (producer_snapshot_encode(&back, &twice, &twice_len) == 0) {
		/* The same producers: as many entries. */
		assert(twice_len == once_len);
		free(twice);
	}
	free(once);
	producer_state_clear(&back);
	producer_state_clear(&ps);
	return 0;
}
