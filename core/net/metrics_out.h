/* The writer the metrics renderers share (metrics.c: connections, requests,
 * shards; metrics_log.c: the log layer's figures): Prometheus text into a
 * bounded buffer, cut at its end. */
#ifndef SLUICE_CORE_NET_METRICS_OUT_H
#define SLUICE_CORE_NET_METRICS_OUT_H

#include <stddef.h>

struct runtime;

struct metrics_out {
	char *buf;
	size_t cap;
	size_t len;
};

void metrics_printf(struct metrics_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
