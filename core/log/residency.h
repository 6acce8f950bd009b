/* Page-cache residency of segment bytes, so that nothing on a shard's loop
 * touches a page that is not in memory (KAFKA-7504: a network thread that
 * faults on a cold page stalls every client it serves).
 *
 * residency_resident answers for a range of a file: through mincore on the
 * segment's read-only mapping where there is one (it reports pages that are
 * cached and up to date, so a page still being read in counts as cold), else
 * through cachestat(2) on the descriptor (Linux 6.5; it counts pages present,
 * read in or not). Without either the answer is "cold", which costs a trip
 * through the kernel's workers, never a stall.
 *
 * A residency_gate walks with a read plan over one segment: each range the
 * plan is about to touch passes it first. It checks a window ahead at once
 * (the plan's whole reach, so one check usually covers a fetch) and keeps the
 * resident prefix it found; the first range that is not resident fails, and
 * the gate then names the cold bytes to read in. */
#ifndef SLUICE_CORE_LOG_RESIDENCY_H
#define SLUICE_CORE_LOG_RESIDENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct partition_log;
struct log_read;

enum {
	RESIDENCY_PAGE_BYTES = 4096,
	/* Pages one mincore call reports on (its vector lives on the stack). */
	RESIDENCY_MINCORE_PAGES = 256,
};

/* Whether every page of [off, off + len) of the file is in the page cache.
 * map (may be NULL) is a mapping of the file from offset 0, map_len long. */
bool residency_resident(int fd, const uint8_t *map, size_t map_len, uint64_t off, uint64_t len);

struct residency_gate {
	int fd;
	const uint8_t *map;
	size_t map_len;
	uint64_t end;        /* bytes that exist (the segment's visible size) */
	uint64_t span;       /* a check reaches this far past the first one */
	uint64_t reach;      /* ... up to here; 0 before the first check */
	uint64_t lo, hi;     /* pages known resident: [lo, hi) */
	uint64_t cold_off;   /* after a failure: the cold bytes to read in */
	uint64_t cold_len;   /* 0: nothing failed */
};

void residency_gate_init(struct residency_gate *g, int fd, const uint8_t *map, size_t map_len,
			 uint64_t end, uint64_t span);
/* Whether [off, off + len) is resident; false also after any earlier failure.
 * The part of the range past `end` is not asked about (no page holds it). */
bool residency_gate_pass(struct residency_gate *g, uint64_t off, uint64_t len);

/* Where a read found nothing resident to plan: [off, off + len) of the
 * segment's descriptor fd (the log's) must be read in first. len 0: none. */
struct log_cold_range {
	int fd;
	uint64_t off;
	uint64_t len;
};

/* partition_log_read_below (partition_log.h) that touches only resident pages
 * of the segment: it plans the batches whose bytes are all in the page cache
 * (stopping before the first that is not) and, when not even the first batch
 * is, plans nothing and names the cold bytes in *cold (log_read.c). With
 * cold NULL it is partition_log_read_below, every page read as needed. */
int16_t partition_log_read_resident(struct partition_log *l, int64_t offset, uint32_t max_bytes,
				    bool first_whole, int64_t below, struct log_read *out,
				    struct log_cold_range *cold);

#endif
