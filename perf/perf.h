/* sluice-perf's shared pieces: the arguments, the running totals every engine
 * fills, the clock, the live progress line and the stop conditions. */
#ifndef SLUICE_PERF_PERF_H
#define SLUICE_PERF_PERF_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "histogram.h"

/* Bounds on what the flags may ask for; the parser rejects more, naming the flag. */
enum {
	PERF_ERR_BYTES = 512,
	PERF_SIZE_MAX = 16 << 20,           /* a message's value */
	PERF_PARTITIONS_MAX = 100000,       /* as many as one decoded array may hold */
	PERF_KEYS_MAX = 1 << 30,
	PERF_HEADERS_MAX = 64,              /* per message */
	PERF_LINGER_MS_MAX = 900000,        /* librdkafka's own bound on linger.ms */
	PERF_BATCH_BYTES_MAX = 1 << 30,
	PERF_CONNECTIONS_MAX = 1024,        /* raw */
	PERF_INFLIGHT_MAX = 64,             /* raw: requests in flight per connection */
	PERF_REQUEST_BYTES_MAX = 64 << 20,  /* raw: below the broker's request size bound */
};

struct perf_args {
	const char *mode;        /* produce | consume | e2e */
	const char *engine;      /* rdkafka | raw */
	const char *brokers;
	const char *topic;
	long size;
	long count;
	double duration_s;
	double rate;
	const char *acks;
	const char *compression;
	long linger_ms;
	long batch_bytes;
	long partitions;
	long keys;
	long headers;
	const char *from;
	const char *group;
	long connections;        /* raw */
	long request_bytes;      /* raw: bytes of record batches per Produce / asked per Fetch */
	long inflight;           /* raw: requests in flight per connection */
	const char *json;
};

struct perf_stats {
	uint64_t messages;
	uint64_t bytes;
	uint64_t errors;
	uint64_t requests;
	double seconds;
	struct histogram latency_us;
	const char *latency_what; /* NULL: no latency measured */
	char protocol[64];        /* raw: the request and version spoken, e.g. "Produce v9" */
};

extern struct perf_stats perf_stats;
extern volatile sig_atomic_t perf_stop;

uint64_t perf_now_ns(void);
/* Prints the progress line of `s` (messages and bytes so far, and the p99 when
 * latency is measured) to stderr at most once a second. */
void perf_progress(const struct perf_stats *s, uint64_t start_ns, uint64_t *last_ns);
/* Whether a run that has done `done` units since start_ns is over: --count
 * reached, --duration past (whichever comes first), or a signal. */
bool perf_done(const struct perf_args *a, uint64_t done, uint64_t start_ns);
/* Usage message naming what was wrong; exits 2. */
_Noreturn void perf_usage(const char *why);

/* Creates the topic with --partitions (an existing topic is fine). */
struct rd_kafka_s;
void perf_create_topic(struct rd_kafka_s *rk, const struct perf_args *a);
/* The topic's partition count from metadata, after creating the topic when
 * --partitions is given; -1 (logged) when unknown. */
int perf_topic_partitions(const struct perf_args *a);

int perf_rdkafka_produce(const struct perf_args *a);
int perf_rdkafka_consume(const struct perf_args *a);
int perf_rdkafka_e2e(const struct perf_args *a);
int perf_raw_produce(const struct perf_args *a);
int perf_raw_consume(const struct perf_args *a);

#endif
