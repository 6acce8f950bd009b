/* Residency checks and the read plan's gate (see residency.h). */
#include "core/log/residency.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451 /* the same number on every architecture */
#endif

/* cachestat(2)'s arguments and answer (uapi linux/mman.h, Linux 6.5). */
struct residency_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct residency_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

/* The kernel's answer to whether cachestat exists: the same for every thread,
 * so a racing first call stores the same value. */
static _Atomic int residency_no_cachestat;

static uint64_t residency_page_down(uint64_t v)
{
	return v & ~(uint64_t)(RESIDENCY_PAGE_BYTES - 1);
}

static uint64_t residency_page_up(uint64_t v)
{
	return residency_page_down(v + RESIDENCY_PAGE_BYTES - 1);
}

/* The end of the resident prefix of [off, end) (page-aligned off) by mincore
 * on the mapping: off when its first page is cold. */
static uint64_t residency_prefix_mapped(const uint8_t *map, uint64_t off, uint64_t end)
{
	unsigned char vec[RESIDENCY_MINCORE_PAGES];
	while (off < end) {
		uint64_t pages = (end - off + RESIDENCY_PAGE_BYTES - 1) / RESIDENCY_PAGE_BYTES;
		if (pages > RESIDENCY_MINCORE_PAGES)
			pages = RESIDENCY_MINCORE_PAGES;
		if (mincore((void *)(map + off), pages * RESIDENCY_PAGE_BYTES, vec) != 0)
			return off;
		for (uint64_t k = 0; k < pages; k++, off += RESIDENCY_PAGE_BYTES)
			if (!(vec[k] & 1))
				return off;
	}
	return end;
}

/* The same by cachestat on the descriptor, which counts pages and cannot say
 * which is cold: all of [off, end) or nothing. */
static uint64_t residency_prefix_fd(int fd, uint64_t off, uint64_t end)
{
	if (atomic_load_explicit(&residency_no_cachestat, memory_order_relaxed))
		return off;
	struct residency_cachestat_range range = { off, end - off };
	struct residency_cachestat cs;
	if (syscall(__NR_cachestat, fd, &range, &cs, 0) != 0) {
		if (errno == ENOSYS)
			atomic_store_explicit(&residency_no_cachestat, 1, memory_order_relaxed);
		return off;
	}
	uint64_t pages = (residency_page_up(end) - off) / RESIDENCY_PAGE_BYTES;
	return cs.nr_cache >= pages ? end : off;
}

/* The resident prefix of [off, end), off page-aligned, end > off. */
static uint64_t residency_prefix(int fd, const uint8_t *map, size_t map_len, uint64_t off,
				 uint64_t end)
{
	if (map && residency_page_up(end) <= residency_page_up(map_len))
		return residency_prefix_mapped(map, off, end);
	return residency_prefix_fd(fd, off, end);
}

/* residency_prefix of a range that ends where the data does (data_end): a
 * last page the data fills only in part is asked of cachestat, which counts
 * it once it is in the page cache, where mincore does not while the kernel
 * has not read the blocks past the data (never, on a filesystem of blocks
 * smaller than a page: the page stays "not up to date" though every byte of
 * the data in it is). */
static uint64_t residency_prefix_to(int fd, const uint8_t *map, size_t map_len, uint64_t off,
				    uint64_t end, uint64_t data_end)
{
	uint64_t whole = residency_page_down(end);
	if (end != data_end || whole == end || whole <= off)
		return residency_prefix(fd, map, map_len, off, end);
	uint64_t prefix = residency_prefix(fd, map, map_len, off, whole);
	return prefix < whole ? prefix : residency_prefix_fd(fd, whole, end);
}

bool residency_resident(int fd, const uint8_t *map, size_t map_len, uint64_t off, uint64_t len)
{
	if (len == 0)
		return true;
	uint64_t start = residency_page_down(off);
	return residency_prefix(fd, map, map_len, start, off + len) >= off + len;
}

void residency_gate_init(struct residency_gate *g, int fd, const uint8_t *map, size_t map_len,
			 uint64_t end, uint64_t span)
{
	*g = (struct residency_gate){ .fd = fd, .map = map, .map_len = map_len, .end = end,
				      .span = span };
}

bool residency_gate_pass(struct residency_gate *g, uint64_t off, uint64_t len)
{
	if (g->cold_len)
		return false;
	/* Bytes past the data's end are not in any page to ask about: whether a
	 * batch that claims them is readable is the walk's question. */
	if (off >= g->end)
		return true;
	if (len > g->end - off)
		len = g->end - off;
	if (off >= g->lo && off + len <= g->hi)
		return true;
	if (!g->reach)
		g->reach = off + g->span;
	uint64_t start = residency_page_down(off);
	uint64_t end = off + len > g->reach ? off + len : g->reach;
	if (end > g->end)
		end = g->end;
	uint64_t prefix = residency_prefix_to(g->fd, g->map, g->map_len, start, end, g->end);
	g->lo = start;
	g->hi = prefix;
	if (prefix >= off + len)
		return true;
	g->cold_off = prefix;
	g->cold_len = end - prefix;
	return false;
}
