/* Cold reads: bringing segment bytes that are not in the page cache into it
 * without the shard's loop waiting on the disk, a bounded number at a time
 * per io shard (sluice.fetch.cold.reads.max), so that a consumer catching up
 * on old segments cannot take every kernel worker nor the disk from the
 * traffic that reads hot bytes (KAFKA-7504).
 *
 * A fetch whose plan found its first batch cold (residency.h) asks for the
 * cold bytes to be read in and waits on its partition as a long poll does; the
 * read, done, wakes the partition's waiters, whose next plan finds the bytes
 * resident. A read is file -> pipe splices in the kernel's workers (the pages
 * are read into the page cache, never into user space), each drained into
 * /dev/null at once; it holds a duplicate of the segment's descriptor, so a
 * segment deleted meanwhile stays readable until it ends.
 *
 * At most `limit` reads run per shard; later requests wait in arrival order
 * (at most COLD_READS_QUEUED_MAX); one partition has at most one read queued
 * or running, so a request for a partition that has one is dropped. A fetch
 * never fails for want of a read: one that cannot wait for it (max_wait_ms 0
 * or spent, or no read taken) is planned without the gate, its cold bytes
 * read by the kernel's workers as they are sent (handle_fetch.c). Owned by
 * the io shard's thread. */
#ifndef SLUICE_CORE_LOG_COLD_READ_H
#define SLUICE_CORE_LOG_COLD_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log/fetch_wait.h"
#include "io/reactor.h"

enum {
	COLD_READS_QUEUED_MAX = 1024,
	/* One read brings in at most this much; the plan after it asks again
	 * for what is still cold. */
	COLD_READ_BYTES_MAX = 8 * 1024 * 1024,
	COLD_READ_PIPE_BYTES = 1024 * 1024,
	COLD_READ_PIPE_BYTES_MIN = 64 * 1024, /* a pipe's default size */
};

/* Counters of one shard: written by it with relaxed atomic stores, read by
 * the metrics page with relaxed loads. */
struct cold_read_stats {
	uint64_t requested;   /* fetches that found their first batch cold */
	uint64_t reads;       /* cold reads completed */
	uint64_t bytes;       /* bytes they brought into the page cache */
	uint64_t queued;      /* reads that waited for one of the `limit` slots */
	uint64_t dropped;     /* requests not queued: the queue was full */
	uint64_t failures;    /* reads that failed (logged) */
	uint64_t unwaited;    /* cold fetches planned without the gate: they could not wait */
	uint64_t running;     /* gauge: reads in the kernel's workers now */
};

struct cold_read;

struct cold_reads {
	struct reactor *reactor;
	uint32_t limit;
	uint32_t running;
	uint32_t queued;
	struct cold_read *running_head;
	struct cold_read *queue_head, *queue_tail;
	bool stopped;
	struct cold_read_stats stats;
};

void cold_reads_init(struct cold_reads *cr, struct reactor *r, uint32_t limit);
/* Reads [off, off + len) of the segment behind fd into the page cache (at
 * most COLD_READ_BYTES_MAX of it), then wakes *waiters (the partition's
 * list), now or after the reads queued before it. */
void cold_reads_request(struct cold_reads *cr, int fd, uint64_t off, uint64_t len,
			struct fetch_waiter **waiters);
/* Whether a read for this partition is queued or running. */
bool cold_reads_pending(const struct cold_reads *cr, struct fetch_waiter *const *waiters);
/* The broker stops: queued reads are dropped, running ones end after their
 * current splice. */
void cold_reads_stop(struct cold_reads *cr);

#endif
