/* A run's shared state and pacing (run.h): the totals, the stop flag, the
 * monotonic clock, the once-a-second progress line and the end conditions. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "run.h"

struct perf_stats perf_stats;
volatile sig_atomic_t perf_stop;

uint64_t perf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void perf_sleep_until(uint64_t at_ns)
{
	struct timespec at = { .tv_sec = (time_t)(at_ns / 1000000000u), .tv_nsec = (long)(at_ns % 1000000000u) };
	while (!perf_stop && perf_now_ns() < at_ns &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}

void perf_progress(const struct perf_stats *st, uint64_t start_ns, uint64_t *last_ns)
{
	uint64_t now = perf_now_ns();
	if (now - *last_ns < 1000000000ull)
		return;
	*last_ns = now;
	double s = (double)(now - start_ns) / 1e9;
	fprintf(stderr, "%6.1fs %10.0f msg/s %8.1f MB/s", s, (double)st->messages / s,
		(double)st->bytes / s / 1e6);
	if (st->latency_what)
		fprintf(stderr, "  p99 %" PRIu64 " us", histogram_quantile(&st->latency_us, 0.99));
	fprintf(stderr, "  errors %" PRIu64 "\n", st->errors);
}

bool perf_done(const struct perf_args *a, uint64_t done, uint64_t start_ns)
{
	if (perf_stop)
		return true;
	if (a->count && done >= (uint64_t)a->count)
		return true;
	return a->duration_s > 0 && (double)(perf_now_ns() - start_ns) / 1e9 >= a->duration_s;
}
