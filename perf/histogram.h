/* A log-linear latency histogram: values are bucketed by power of two, each
 * power split into HISTOGRAM_SUB_BUCKETS linear steps, so any percentile is
 * reported within 1/HISTOGRAM_SUB_BUCKETS relative error, in fixed memory. */
#ifndef SLUICE_PERF_HISTOGRAM_H
#define SLUICE_PERF_HISTOGRAM_H

#include <stdint.h>

enum {
	HISTOGRAM_SUB_BITS = 7,
	HISTOGRAM_SUB_BUCKETS = 1 << HISTOGRAM_SUB_BITS, /* < 1% relative error */
	HISTOGRAM_POWERS = 64 - HISTOGRAM_SUB_BITS,
};

struct histogram {
	uint64_t counts[HISTOGRAM_POWERS + 1][HISTOGRAM_SUB_BUCKETS];
	uint64_t total;
	uint64_t max;
};

void histogram_record(struct histogram *h, uint64_t value);
/* The value at quantile q (0..1), with bounded relative error. */
uint64_t histogram_quantile(const struct histogram *h, double q);
void histogram_merge(struct histogram *into, const struct histogram *from);

#endif
