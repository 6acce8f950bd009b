/* Counters the network and API layers keep per shard (in its conn_shard,
 * conn.h), summed when the metrics endpoint renders them (metrics.h) with
 * the runtime's own (shard.h). One writer (the shard's thread) adds with
 * METRIC_ADD (SHARD_COUNTER_ADD); the endpoint on another shard reads with
 * relaxed atomic loads. */
#ifndef SLUICE_CORE_NET_COUNTERS_H
#define SLUICE_CORE_NET_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/shard/shard.h"

/* API keys the request counters cover: Kafka's keys reach 92 (sluice
 * serves up to 66, ListTransactions). */
enum { METRICS_API_KEYS = 128 };

struct shard_metrics {
	uint64_t connections_accepted;
	uint64_t connections_closed;
	uint64_t requests[METRICS_API_KEYS]; /* by API key */
	uint64_t request_errors;        /* closed for a malformed request */
	uint64_t produce_bytes;
	uint64_t produce_batches;
	uint64_t produce_duplicates;      /* idempotent batches answered, not written again */
	uint64_t produce_sequence_errors; /* idempotent batches refused (sequence, epoch) */
	uint64_t fetch_bytes_zero_copy; /* log bytes sent by splice */
	uint64_t fetch_bytes_copied;    /* log bytes sent from user-space memory */
	uint64_t fetch_splices_offloaded; /* file -> pipe splices sent to io-wq: not resident */
	uint64_t response_bytes;
	uint64_t receive_pauses;        /* connections paused by the byte budget */
	uint64_t requests_forwarded;    /* handed whole to the control shard */
};

#define METRIC_ADD(field, n) SHARD_COUNTER_ADD(field, n)
#define METRIC_READ(field) SHARD_COUNTER_READ(field)

#endif
