/* What sluice-admin's command families share: the exit codes, the sub-command
 * table's row, and one librdkafka client per run (client.c) with the helpers
 * that run an admin request to its deadline and report a broker's error. */
#ifndef SLUICE_ADMIN_ADMIN_H
#define SLUICE_ADMIN_ADMIN_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "args.h"
#include "output.h"

enum admin_exit {
	ADMIN_EXIT_OK = 0,
	ADMIN_EXIT_BROKER = 1, /* the broker refused, or could not be reached */
	ADMIN_EXIT_USAGE = 2,  /* the command line is wrong */
};

#define ADMIN_TIMEOUT_MS_DEFAULT 30000
#define ADMIN_TIMEOUT_MS_MAX 3600000
#define ADMIN_BOOTSTRAP_DEFAULT "localhost:9092"
#define ADMIN_ERROR_BYTES 512
/* Partitions one request names at most (a topic of more is refused). */
#define ADMIN_PARTITIONS_MAX 100000

struct admin_ctx {
	rd_kafka_t *rk;
	const char *command; /* "topics create", for messages */
	const char *bootstrap;
	int timeout_ms;
	bool json;
	struct args args;
	char transport_error[ADMIN_ERROR_BYTES]; /* the client's last error, if any */
};

/* A sub-command's usage checks run before any connection; run gets the
 * connected context and returns an enum admin_exit. */
struct admin_command {
	const char *family, *action;
	const char *summary;
	const struct arg_spec *specs; /* ended by a NULL name */
	int (*check)(struct admin_ctx *ctx); /* 0, or -1 with ctx->args.error */
	int (*run)(struct admin_ctx *ctx);
};

/* A command family: its name and its sub-commands (one file each). */
struct admin_family {
	const char *name;
	const struct admin_command *commands;
	size_t count;
};

extern const struct admin_family admin_topics, admin_configs, admin_groups, admin_records,
	admin_cluster, admin_logdirs;

/* client.c */
int client_open(struct admin_ctx *ctx);
void client_close(struct admin_ctx *ctx);
/* One admin request: its result queue and its options (the run's timeout
 * as request and operation timeout). */
struct client_request {
	rd_kafka_queue_t *queue;
	rd_kafka_AdminOptions_t *options;
};
void client_request_begin(struct admin_ctx *ctx, rd_kafka_admin_op_t op, struct client_request *r);
/* Waits for the request's result to the run's deadline and frees r. NULL
 * (after printing why) on a timeout or a request-level error; else the
 * event, which the caller destroys. */
rd_kafka_event_t *client_request_end(struct admin_ctx *ctx, struct client_request *r,
				     const char *what);
/* Metadata of one topic (topic non-NULL) or all; NULL after printing why. */
const rd_kafka_metadata_t *client_metadata(struct admin_ctx *ctx, const char *topic);
/* Prints "sluice-admin: <command>: <resource>: <ERR_NAME>: <message>" to
 * stderr and returns ADMIN_EXIT_BROKER. */
int client_fail(struct admin_ctx *ctx, const char *resource, rd_kafka_resp_err_t err,
		const char *message);
/* One named resource's outcome in a request's answer. */
struct client_result {
	const char *name;
	rd_kafka_resp_err_t err;
	const char *message;
};
/* Prints "<done> <name>" per success (or {"<array_key>":[{"<name_key>":..,
 * "error":..}]}) and each failure to stderr; ADMIN_EXIT_BROKER if any. */
int client_report_results(struct admin_ctx *ctx, const char *array_key, const char *name_key,
			  const struct client_result *res, size_t n, const char *done);
/* Fills offsets[i] of parts with the offset for timestamps (or -1 latest,
 * -2 earliest) by ListOffsets. ADMIN_EXIT_OK or _BROKER (printed). */
int client_offsets_for_times(struct admin_ctx *ctx, rd_kafka_topic_partition_list_t *parts);
/* The partitions of topics[0..n) from metadata, all with offset `fill`. NULL
 * after printing why (unknown topic, too many partitions). */
rd_kafka_topic_partition_list_t *client_topic_partitions(struct admin_ctx *ctx,
							  const char *const *topics, size_t n,
							  int64_t fill);

#endif
