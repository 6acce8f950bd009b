/* An OpenMessaging Benchmark workload file: the flat `key: value` subset of
 * its YAML that describes one workload, parsed into bounded fields. */
#ifndef SLUICE_PERF_OMB_WORKLOAD_H
#define SLUICE_PERF_OMB_WORKLOAD_H

#include <stddef.h>

enum {
	OMB_FILE_BYTES_MAX = 64 << 10,
	OMB_LINE_BYTES_MAX = 256,     /* a line without its newline */
	OMB_STRING_BYTES = 200,       /* name, payloadFile; terminator included */
	OMB_TOPICS_MAX = 64,
	OMB_PARTITIONS_MAX = 10000,   /* per topic */
	OMB_PRODUCERS_MAX = 64,       /* in all: topics x producersPerTopic */
	OMB_CONSUMERS_MAX = 64,       /* in all: topics x subscriptions x consumers */
	OMB_MINUTES_MAX = 24 * 60,
	OMB_ERR_BYTES = 320,
};

struct omb_workload {
	char name[OMB_STRING_BYTES];
	char payload_file[OMB_STRING_BYTES]; /* "" when none */
	long topics;
	long partitions_per_topic;
	long message_size;
	long subscriptions_per_topic;
	long consumer_per_subscription;
	long producers_per_topic;
	double producer_rate;          /* msg/s over all producers; 0: the highest sustained, searched */
	double consumer_backlog_size_gb;
	double test_duration_minutes;
	double warmup_duration_minutes; /* OMB's default: 1 */
};

/* Parses `len` bytes of workload text. Blank lines, `#` comments and a
 * `---` line are skipped; every other line is `key: value` with a known key,
 * at most once each, a value in its bounds; quoted strings take "" or ''.
 * Returns 0, or -1 with `err` naming the line and what is wrong with it. */
int omb_workload_parse(const char *text, size_t len, struct omb_workload *w, char *err, size_t err_len);
/* Reads and parses the file at `path` (at most OMB_FILE_BYTES_MAX bytes);
 * -1 with `err` prefixed by the path. */
int omb_workload_load(const char *path, struct omb_workload *w, char *err, size_t err_len);

#endif
