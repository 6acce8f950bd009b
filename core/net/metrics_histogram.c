/* Latency histograms (see metrics_histogram.h). */
#include "core/net/metrics_histogram.h"

#include "core/net/metrics_out.h"

static const uint64_t metrics_latency_bounds_ns[METRICS_LATENCY_BUCKETS] =
	METRICS_LATENCY_BOUNDS_NS;

uint32_t metrics_histogram_bucket(uint64_t ns)
{
	uint32_t b = 0;
	while (b < METRICS_LATENCY_BUCKETS && ns > metrics_latency_bounds_ns[b])
		b++;
	return b;
}

void metrics_histogram_sum(struct metrics_histogram *acc, const struct metrics_histogram *h)
{
	for (uint32_t b = 0; b <= METRICS_LATENCY_BUCKETS; b++)
		acc->buckets[b] += SHARD_COUNTER_READ(h->buckets[b]);
	acc->sum_ns += SHARD_COUNTER_READ(h->sum_ns);
}

void metrics_histogram_render(struct metrics_out *o, const char *name, const char *labels,
			      const struct metrics_histogram *h)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cumulative = 0;
	for (uint32_t b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
		cumulative += h->buckets[b];
		if (b < METRICS_LATENCY_BUCKETS)
			metrics_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
				       (double)metrics_latency_bounds_ns[b] / 1e9,
				       (unsigned long long)cumulative);
		else
			metrics_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
				       (unsigned long long)cumulative);
	}
	const char *lb = labels[0] ? "{" : "";
	const char *rb = labels[0] ? "}" : "";
	metrics_printf(o, "%s_sum%s%s%s %.9f\n%s_count%s%s%s %llu\n", name, lb, labels, rb,
		       (double)h->sum_ns / 1e9, name, lb, labels, rb, (unsigned long long)cumulative);
}
