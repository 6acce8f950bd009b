/* What a run shares between the engines and main: the running totals every
 * engine fills and main reports, the stop flag a signal sets, the clock, the
 * live progress line and the stop conditions. */
#ifndef SLUICE_PERF_RUN_H
#define SLUICE_PERF_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "histogram.h"
#include "perf.h"

struct perf_stats {
	uint64_t messages;
	uint64_t bytes;
	uint64_t errors;
	uint64_t requests;
	double seconds;
	uint64_t start_ns;        /* when the clock started (the first intended send) */
	uint64_t last_arrival_ns; /* e2e: when the consumer got its last message */
	struct histogram latency_us;
	const char *latency_what; /* NULL: no latency measured */
	struct histogram second_us; /* a second latency some modes measure */
	const char *second_what;    /* NULL: none */
	char protocol[64];        /* raw: the request and version spoken, e.g. "Produce v9" */
};

extern struct perf_stats perf_stats;
extern volatile sig_atomic_t perf_stop;

uint64_t perf_now_ns(void);
/* Sleeps until CLOCK_MONOTONIC reaches at_ns (or a signal stops the run):
 * paced senders sleep rather than spin, which on a small machine would take
 * a core from the broker. */
void perf_sleep_until(uint64_t at_ns);
/* Prints the progress line of `s` (messages and bytes so far, and the p99 when
 * latency is measured) to stderr at most once a second. */
void perf_progress(const struct perf_stats *s, uint64_t start_ns, uint64_t *last_ns);
/* Whether a run that has done `done` units since start_ns is over: --count
 * reached, --duration past (whichever comes first), or a signal. */
bool perf_done(const struct perf_args *a, uint64_t done, uint64_t start_ns);

#endif
