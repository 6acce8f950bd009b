/* Counters each shard keeps for itself, summed when the metrics endpoint
 * renders them. One writer (the shard's thread) stores with METRIC_ADD, a
 * relaxed atomic store of the incremented value (plain instructions, no lock
 * prefix); the endpoint on another shard reads with relaxed atomic loads. */
#ifndef SLUICE_CORE_NET_METRICS_H
#define SLUICE_CORE_NET_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct shard_metrics {
	uint64_t connections_accepted;
	uint64_t connections_closed;
	uint64_t requests[64];          /* by API key (keys below 64) */
	uint64_t request_errors;        /* closed for a malformed request */
	uint64_t produce_bytes;
	uint64_t produce_batches;
	uint64_t fetch_bytes_zero_copy; /* log bytes sent by splice */
	uint64_t fetch_bytes_copied;    /* log bytes sent from user-space memory */
	uint64_t response_bytes;
	uint64_t receive_pauses;        /* connections paused by the byte budget */
	uint64_t requests_forwarded;    /* handed whole to the control shard */
	uint64_t shard_calls;           /* parts of requests sent to the shards owning their data */
};

#define METRIC_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (uint64_t)(n), \
			 __ATOMIC_RELAXED)
#define METRIC_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

struct broker;

/* Renders Prometheus text exposition of every shard's counters into buf. */
size_t metrics_render(struct broker *b, char *buf, size_t cap);

#endif
