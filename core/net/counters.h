/* Counters the network and API layers keep per shard (in its conn_shard,
 * conn.h), summed when the metrics endpoint renders them (metrics.h) with
 * the runtime's own (shard.h). One writer (the shard's thread) adds with
 * METRIC_ADD (SHARD_COUNTER_ADD); the endpoint on another shard reads with
 * relaxed atomic loads. Histograms are per shard too and summed at scrape. */
#ifndef SLUICE_CORE_NET_COUNTERS_H
#define SLUICE_CORE_NET_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net/metrics_histogram.h"
#include "core/shard/shard.h"
#include "proto/cursor.h"
#include "proto/kafka_errors.h"

/* API keys the request counters cover: Kafka's keys reach 92 (sluice
 * serves up to 66, ListTransactions). */
enum { METRICS_API_KEYS = 128 };

/* Error codes counted per API, at slot code + 1: -1 (UNKNOWN_SERVER_ERROR)
 * up to METRICS_ERROR_SLOTS - 2. A code outside that range or without a name
 * in proto/kafka_errors.h counts as UNKNOWN_SERVER_ERROR, as Kafka's
 * Errors.forCode reads a code it does not know. */
enum { METRICS_ERROR_SLOTS = 128 };

static inline size_t metrics_error_slot(int16_t code)
{
	bool known = code >= -1 && code <= METRICS_ERROR_SLOTS - 2 && kafka_error_name(code);
	return known ? (size_t)(code + 1) : (size_t)(KERR_UNKNOWN_SERVER_ERROR + 1);
}

/* KIP-511: connections by the client software their ApiVersions v3+ named.
 * A shard keeps at most METRICS_CLIENT_SOFTWARE_MAX distinct (name, version)
 * pairs; later ones count as "other". An entry's strings are written once,
 * before `software_count` publishes it (release), and never change. */
enum { METRICS_CLIENT_SOFTWARE_MAX = 32, METRICS_CLIENT_SOFTWARE_BYTES = 64 };

struct metrics_client_software {
	char name[METRICS_CLIENT_SOFTWARE_BYTES + 1];
	char version[METRICS_CLIENT_SOFTWARE_BYTES + 1];
	uint64_t connections; /* open now */
};

/* Traffic by topic, per shard: an open-addressed table keyed by topic id
 * that only grows (a deleted topic's entry stays, unread); a topic that
 * finds no free entry counts in topics_untracked. The writer fills `id`,
 * then publishes the entry with a release store of `used`. */
enum { METRICS_TOPICS_MAX = 4096 }; /* a power of two */

struct metrics_topic_traffic {
	struct kuuid id;
	uint32_t used;
	uint64_t bytes_in;      /* record batch bytes appended by Produce */
	uint64_t records_in;    /* records in those batches */
	uint64_t bytes_out;     /* log bytes Fetch answered with */
	uint64_t records_out;   /* offsets those bytes carried past the fetch offsets */
};

struct shard_metrics {
	uint64_t connections_accepted;
	uint64_t connections_closed;
	uint64_t requests[METRICS_API_KEYS]; /* by API key */
	uint64_t requests_unserved_api;  /* an API key sluice does not serve: closed */
	/* By API key and error slot: the request layer's refusals and every
	 * error code in handlers' responses but NONE. */
	uint64_t request_errors[METRICS_API_KEYS][METRICS_ERROR_SLOTS];
	uint64_t frames_refused;         /* a size outside socket.request.max.bytes: closed */
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
	/* On the connection's shard: frame whole -> response sent, by API key. */
	struct metrics_histogram request_latency[METRICS_API_KEYS];
	/* On the shard running the handler: frame whole -> handler starts. */
	struct metrics_histogram request_queue;
	struct metrics_client_software software[METRICS_CLIENT_SOFTWARE_MAX];
	uint32_t software_count;        /* published entries (release store) */
	uint64_t software_other;        /* connections open now past the table's bound */
	struct metrics_topic_traffic topics[METRICS_TOPICS_MAX];
	uint64_t topics_untracked;      /* traffic of topics the table had no room for */
};

#define METRIC_ADD(field, n) SHARD_COUNTER_ADD(field, n)
#define METRIC_READ(field) SHARD_COUNTER_READ(field)

#endif
