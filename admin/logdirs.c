/* sluice-admin logdirs: each broker's log directories (volume total and
 * usable bytes) and the size of every partition in them, by DescribeLogDirs
 * to each broker that Metadata names (or those given by --broker). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "logdirs_wire.h"

static bool wanted(const struct arg_values *v, const char *name)
{
	if (v->count == 0)
		return true;
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->values[i], name) == 0)
			return true;
	return false;
}

static bool broker_wanted(const struct admin_ctx *ctx, int32_t id)
{
	char text[16];
	snprintf(text, sizeof(text), "%d", id);
	return wanted(args_values(&ctx->args, "--broker"), text);
}

static void dir_json(struct admin_ctx *ctx, struct json *j, const struct logdirs_answer *a,
		     const struct logdir *d)
{
	const struct arg_values *topics = args_values(&ctx->args, "--topic");
	json_object_begin(j, NULL);
	json_string(j, "path", d->path);
	json_string(j, "error", d->error_code ? rd_kafka_err2name(d->error_code) : NULL);
	json_int(j, "total_bytes", d->total_bytes);
	json_int(j, "usable_bytes", d->usable_bytes);
	json_array_begin(j, "partitions");
	for (size_t i = d->first; i < d->first + d->count; i++) {
		const struct logdir_partition *p = &a->parts[i];
		if (!wanted(topics, p->topic))
			continue;
		json_object_begin(j, NULL);
		json_string(j, "topic", p->topic);
		json_int(j, "partition", p->partition);
		json_int(j, "size_bytes", p->size_bytes);
		json_int(j, "offset_lag", p->offset_lag);
		json_bool(j, "is_future", p->is_future);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void dir_rows(struct admin_ctx *ctx, struct table *t, int32_t broker,
		     const struct logdirs_answer *a, const struct logdir *d)
{
	const struct arg_values *topics = args_values(&ctx->args, "--topic");
	for (size_t i = d->first; i < d->first + d->count; i++) {
		const struct logdir_partition *p = &a->parts[i];
		if (!wanted(topics, p->topic))
			continue;
		table_cell(t, "%d", broker);
		table_cell(t, "%s", d->path);
		table_cell(t, "%s", p->topic);
		table_cell(t, "%d", p->partition);
		table_cell(t, "%lld", (long long)p->size_bytes);
		table_cell(t, "%lld", (long long)p->offset_lag);
	}
}

static void dirs_summary(const struct logdirs_answer *a, int32_t broker)
{
	for (size_t i = 0; i < a->dir_count; i++) {
		const struct logdir *d = &a->dirs[i];
		printf("Broker %d dir %s: %s, total %lld bytes, usable %lld bytes\n", broker, d->path,
		       d->error_code ? rd_kafka_err2name(d->error_code) : "online",
		       (long long)d->total_bytes, (long long)d->usable_bytes);
	}
}

/* Asks one broker and adds its answer to the output; exit code. */
static int one_broker(struct admin_ctx *ctx, const rd_kafka_metadata_broker_t *b, int64_t deadline,
		      struct json *j, struct table *t)
{
	struct logdirs_answer a;
	char err[LOGDIRS_ERROR_BYTES], name[LOGDIRS_ERROR_BYTES];
	if (logdirs_ask(b->host, b->port, deadline, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice-admin: %s: broker %d (%s:%d): %s\n", ctx->command, b->id,
			b->host, b->port, err);
		return ADMIN_EXIT_BROKER;
	}
	int rc = ADMIN_EXIT_OK;
	snprintf(name, sizeof(name), "broker %d (%s:%d)", b->id, b->host, b->port);
	if (a.error_code)
		rc = client_fail(ctx, name, a.error_code, NULL);
	if (ctx->json) {
		json_object_begin(j, NULL);
		json_int(j, "broker", b->id);
		json_array_begin(j, "log_dirs");
		for (size_t i = 0; i < a.dir_count; i++)
			dir_json(ctx, j, &a, &a.dirs[i]);
		json_array_end(j);
		json_object_end(j);
	} else {
		dirs_summary(&a, b->id);
		for (size_t i = 0; i < a.dir_count; i++)
			dir_rows(ctx, t, b->id, &a, &a.dirs[i]);
	}
	logdirs_answer_free(&a);
	return rc;
}

static int logdirs_describe(struct admin_ctx *ctx)
{
	const rd_kafka_metadata_t *md = client_metadata(ctx, NULL);
	if (!md)
		return ADMIN_EXIT_BROKER;
	int64_t deadline = logdirs_now_ms() + ctx->timeout_ms;
	static const char *const headers[] = {"BROKER", "DIR", "TOPIC", "PARTITION", "SIZE", "OFFSET-LAG"};
	struct table t;
	struct json j = {0};
	int rc = ADMIN_EXIT_OK, asked = 0, answered = 0;
	table_init(&t, 6, headers);
	if (ctx->json) {
		json_object_begin(&j, NULL);
		json_array_begin(&j, "brokers");
	}
	for (int i = 0; i < md->broker_cnt; i++) {
		if (!broker_wanted(ctx, md->brokers[i].id))
			continue;
		asked++;
		if (one_broker(ctx, &md->brokers[i], deadline, &j, &t) != ADMIN_EXIT_OK)
			rc = ADMIN_EXIT_BROKER;
		else
			answered++;
	}
	if (ctx->json) {
		json_array_end(&j);
		json_object_end(&j);
	} else if (answered > 0) {
		printf("\n");
		table_print_free(&t);
	} else {
		table_free(&t);
	}
	if (asked == 0)
		rc = client_fail(ctx, "--broker", RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
				 "no such broker in the cluster's metadata");
	rd_kafka_metadata_destroy(md);
	return rc;
}

static int check_logdirs(struct admin_ctx *ctx)
{
	const struct arg_values *v = args_values(&ctx->args, "--broker");
	for (size_t i = 0; i < v->count; i++) {
		char *end = NULL;
		long id = strtol(v->values[i], &end, 10);
		if (end == v->values[i] || *end || id < 0 || id > INT32_MAX) {
			snprintf(ctx->args.error, sizeof(ctx->args.error),
				 "--broker: '%.64s' is not a broker id", v->values[i]);
			return -1;
		}
	}
	return 0;
}

static const struct arg_spec logdirs_specs[] = {
	{"--broker", ARG_REPEAT, "ID", "a broker to ask (default: every broker)"},
	{"--topic", ARG_REPEAT, "NAME", "list only this topic's partitions"},
	{NULL, 0, NULL, NULL},
};

static const struct admin_command commands[] = {
	{"logdirs", "", "log directories and partition sizes per broker", logdirs_specs,
	 check_logdirs, logdirs_describe},
};
const struct admin_family admin_logdirs = {"logdirs", commands, sizeof(commands) / sizeof(commands[0])};
