/* Binary search of the sparse offset index; see offset_index.h. */
#include "core/offset_index.h"

uint64_t offset_index_lookup(const struct offset_entry *idx, uint32_t len, int64_t rel)
{
	uint32_t lo = 0, hi = len;
	uint64_t pos = 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (idx[mid].rel_offset < rel) {
			pos = idx[mid].pos;
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return pos;
}
