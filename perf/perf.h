/* sluice-perf's arguments, as the option parser fills them and every engine
 * reads them, and the bounds the parser holds them to. */
#ifndef SLUICE_PERF_PERF_H
#define SLUICE_PERF_PERF_H

#include <stdbool.h>

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
	PERF_TXN_RECORDS_MAX = 1 << 20,     /* records per transaction */
	PERF_TXN_RECORDS_DEFAULT = 100,
	PERF_TIMER_SLACK_NS = 1000,         /* a paced send wakes within 1 us of its time */
	PERF_RATE_MAX = 10000000,           /* msg/s, any --rate or sweep step */
	PERF_SWEEP_RATES_MAX = 64,          /* steps of one sweep */
	PERF_STEP_SECONDS_MAX = 3600,
	PERF_STEP_SECONDS_DEFAULT = 5,
	OMB_RUN_MINUTES_MAX = 24 * 60,      /* --minutes, --duration-scale */
	OMB_LINGER_MS_DEFAULT = 1,          /* omb's producers batch for 1 ms, as OMB's Kafka driver files do */
};

struct perf_args {
	const char *mode;        /* produce | consume | e2e | sweep | omb */
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
	bool idempotence;        /* rdkafka: enable.idempotence */
	const char *transactional_id; /* rdkafka produce: transactions of txn_records each */
	long txn_records;
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
	bool rewind;             /* consume: at a partition's end, read it again from its start */
	/* sweep: the rates given (--rates), or the series from rate_from up */
	double rates[PERF_SWEEP_RATES_MAX];
	int rates_count;
	double rate_from;
	double step_s;           /* how long each rate runs */
	const char *csv;         /* sweep: one row per rate */
	/* omb: the workload file and how its durations are shortened */
	const char *workload;
	double duration_scale;   /* --duration-scale: test and warm-up x this */
	double minutes;          /* --minutes: the test's length (warm-up scaled alike) */
};

#endif
