/* Prometheus text exposition of every shard's counters (counters.h, and the
 * runtime's own), the core layout, topics and partitions. */
#ifndef SLUICE_CORE_NET_METRICS_H
#define SLUICE_CORE_NET_METRICS_H

#include <stddef.h>

struct runtime;

/* Renders Prometheus text exposition of every shard's counters into buf. */
size_t metrics_render(struct runtime *rt, char *buf, size_t cap);

struct metrics_out;
/* The log layer's figures (metrics_log.c), for metrics_render. */
void metrics_log_render(struct metrics_out *o, struct runtime *rt);
/* The transaction coordinators' figures (metrics_txn.c). */
void metrics_txn_render(struct metrics_out *o, struct runtime *rt);

#endif
