/* Fuzz target: a segment's `.txnindex` file (which sluice, Kafka or a
 * damaged disk wrote) through txn_index_parse, for a segment based at the
 * input's first byte. An index that parses is encoded again and must come
 * out as the same bytes, and parse to the same entries; one that does not
 * parse leaves nothing allocated. Seeds: corpus/txn_index/ (entries as
 * Kafka writes them). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/txn_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int64_t base = data[0];
	struct aborted_txn *v;
	uint32_t n;
	if (txn_index_parse(data + 1, size - 1, base, &v, &n) != NULL) {
		assert(!v && n == 0);
		return 0;
	}
	assert((size_t)n * TXN_INDEX_ENTRY_BYTES == size - 1);
	uint8_t *again = malloc((size_t)n * TXN_INDEX_ENTRY_BYTES + 1);
	assert(again);
	for (uint32_t k = 0; k < n; k++)
		txn_index_encode(again + (size_t)k * TXN_INDEX_ENTRY_BYTES, &v[k]);
	assert(memcmp(again, data + 1, size - 1) == 0);
	struct aborted_txn *back;
	uint32_t m;
	assert(txn_index_parse(again, size - 1, base, &back, &m) == NULL && m == n);
	assert(n == 0 || memcmp(back, v, (size_t)n * sizeof(*v)) == 0);
	free(back);
	free(again);
	free(v);
	return 0;
}
