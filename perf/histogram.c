/* Log-linear histogram (see histogram.h). Row 0 holds values below
 * HISTOGRAM_SUB_BUCKETS exactly; row p+1 holds values whose top set bit is
 * bit p+HISTOGRAM_SUB_BITS, in HISTOGRAM_SUB_BUCKETS equal steps. */
#include "histogram.h"

void histogram_record(struct histogram *h, uint64_t value)
{
	if (value < HISTOGRAM_SUB_BUCKETS) {
		h->counts[0][value]++;
	} else {
		unsigned msb = 63u - (unsigned)__builtin_clzll(value);
		unsigned p = msb - HISTOGRAM_SUB_BITS;
		h->counts[p + 1][(value >> p) - HISTOGRAM_SUB_BUCKETS]++;
	}
	h->total++;
	if (value > h->max)
		h->max = value;
}

/* The upper edge of a bucket, so reported values never understate. */
static uint64_t histogram_bucket_value(unsigned row, unsigned sub)
{
	if (row == 0)
		return sub;
	unsigned p = row - 1;
	return ((uint64_t)(sub + HISTOGRAM_SUB_BUCKETS) << p) + ((1ull << p) - 1);
}

uint64_t histogram_quantile(const struct histogram *h, double q)
{
	if (h->total == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->total);
	if (rank >= h->total)
		return h->max;
	uint64_t seen = 0;
	for (unsigned row = 0; row <= HISTOGRAM_POWERS; row++) {
		for (unsigned s = 0; s < HISTOGRAM_SUB_BUCKETS; s++) {
			seen += h->counts[row][s];
			if (seen > rank) {
				uint64_t v = histogram_bucket_value(row, s);
				return v < h->max ? v : h->max;
			}
		}
	}
	return h->max;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
	for (unsigned row = 0; row <= HISTOGRAM_POWERS; row++)
		for (unsigned s = 0; s < HISTOGRAM_SUB_BUCKETS; s++)
			into->counts[row][s] += from->counts[row][s];
	into->total += from->total;
	if (from->max > into->max)
		into->max = from->max;
}
