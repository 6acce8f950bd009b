/* A segment's sparse offset index in memory, and its lookup. Entries are in
 * Kafka's sense: the last offset (relative to the segment's base) of an indexed
 * batch and the file position of that batch, both increasing. */
#ifndef SLUICE_CORE_LOG_OFFSET_INDEX_H
#define SLUICE_CORE_LOG_OFFSET_INDEX_H

#include <stdint.h>

struct offset_entry {
	int32_t rel_offset; /* of the last offset of the indexed batch */
	uint32_t pos;
};

/* The entry to start scanning from for relative offset `rel`: the one with
 * the largest offset strictly below rel (NULL when none: scan from the start),
 * as Kafka's lookup does. */
const struct offset_entry *offset_index_find(const struct offset_entry *idx, uint32_t len,
					     int64_t rel);

#endif
