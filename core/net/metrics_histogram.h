/* Latency histograms kept per shard (one writer: the owning shard) and
 * summed over shards when the metrics endpoint renders them in Prometheus's
 * _bucket/_sum/_count form. */
#ifndef SLUICE_CORE_NET_METRICS_HISTOGRAM_H
#define SLUICE_CORE_NET_METRICS_HISTOGRAM_H

#include <stdint.h>

#include "core/shard/runtime.h"

struct metrics_out;

/* Latency buckets' upper bounds, in nanoseconds (100 us to 10 s): what
 * Kafka's request-time percentiles span; one more bucket counts the rest. */
enum { METRICS_LATENCY_BUCKETS = 15 };
#define METRICS_LATENCY_BOUNDS_NS                                                              \
	{ 100000ull, 500000ull, 1000000ull, 2500000ull, 5000000ull, 10000000ull, 25000000ull,   \
	  50000000ull, 100000000ull, 250000000ull, 500000000ull, 1000000000ull, 2500000000ull,   \
	  5000000000ull, 10000000000ull }

struct metrics_histogram {
	uint64_t buckets[METRICS_LATENCY_BUCKETS + 1]; /* not cumulative; the last: +Inf */
	uint64_t sum_ns;
};

/* The bucket a duration falls in (the first bound >= ns). */
uint32_t metrics_histogram_bucket(uint64_t ns);

/* Single writer (the owning shard). */
static inline void metrics_histogram_observe(struct metrics_histogram *h, uint64_t ns)
{
	SHARD_COUNTER_ADD(h->buckets[metrics_histogram_bucket(ns)], 1);
	SHARD_COUNTER_ADD(h->sum_ns, ns);
}

/* Adds another shard's histogram into a reader's sum (relaxed loads). */
void metrics_histogram_sum(struct metrics_histogram *acc, const struct metrics_histogram *h);

/* One histogram's samples: name_bucket{labels,le="..."} (cumulative, in
 * seconds, the last le="+Inf"), name_sum and name_count. `labels` is the
 * series' own labels, already escaped, without braces ("" for none). */
void metrics_histogram_render(struct metrics_out *o, const char *name, const char *labels,
			      const struct metrics_histogram *h);

#endif
