/* Binary search of the sparse offset index; see offset_index.h. */
#include "core/log/offset_index.h"

#include <stddef.h>

const struct offset_entry *offset_index_find(const struct offset_entry *idx, uint32_t len,
					     int64_t rel)
{
	uint32_t lo = 0, hi = len;
	const struct offset_entry *found = NULL;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (idx[mid].rel_offset < rel) {
			found = &idx[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return found;
}
