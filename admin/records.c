/* sluice-admin records delete: DeleteRecords, moving the log start of a
 * topic's partitions (all, or those named) up to an offset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

static int check_records_delete(struct admin_ctx *ctx)
{
	struct args *a = &ctx->args;
	int64_t n;
	if (args_require(a, "--topic") || args_require(a, "--before") ||
	    args_int64(a, "--before", -1, INT64_MAX, 0, &n))
		return -1;
	const struct arg_values *v = args_values(a, "--partition");
	for (size_t i = 0; i < v->count; i++) {
		char *end = NULL;
		long p = strtol(v->values[i], &end, 10);
		if (end == v->values[i] || *end || p < 0 || p >= ADMIN_PARTITIONS_MAX) {
			snprintf(a->error, sizeof(a->error), "--partition: '%.64s' is not a partition number",
				 v->values[i]);
			return -1;
		}
	}
	return 0;
}

/* The partitions to cut, each with the --before offset (-1: the end). */
static rd_kafka_topic_partition_list_t *records_scope(struct admin_ctx *ctx, int64_t before)
{
	const char *topic = args_value(&ctx->args, "--topic");
	const struct arg_values *v = args_values(&ctx->args, "--partition");
	if (v->count == 0)
		return client_topic_partitions(ctx, &topic, 1, before);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)v->count);
	for (size_t i = 0; i < v->count; i++)
		rd_kafka_topic_partition_list_add(l, topic, (int32_t)strtol(v->values[i], NULL, 10))
			->offset = before;
	return l;
}

static int print_low_watermarks(struct admin_ctx *ctx, const rd_kafka_topic_partition_list_t *res)
{
	static const char *const headers[] = {"TOPIC", "PARTITION", "LOW-WATERMARK", "ERROR"};
	struct listing l;
	int rc = ADMIN_EXIT_OK;
	listing_begin(&l, ctx->json, "partitions", 4, headers);
	for (int i = 0; i < res->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &res->elems[i];
		char name[ADMIN_ERROR_BYTES];
		snprintf(name, sizeof(name), "%s-%d", p->topic, p->partition);
		if (p->err)
			rc = client_fail(ctx, name, p->err, NULL);
		listing_row_begin(&l);
		listing_str(&l, "topic", p->topic);
		listing_int(&l, "partition", p->partition);
		listing_offset(&l, "low_watermark", p->err ? -1 : p->offset);
		listing_str(&l, "error", p->err ? rd_kafka_err2name(p->err) : NULL);
		listing_row_end(&l);
	}
	listing_end(&l);
	return rc;
}

static int records_delete(struct admin_ctx *ctx)
{
	int64_t before;
	args_int64(&ctx->args, "--before", -1, INT64_MAX, 0, &before);
	rd_kafka_topic_partition_list_t *parts = records_scope(ctx, before);
	if (!parts)
		return ADMIN_EXIT_BROKER;
	rd_kafka_DeleteRecords_t *del = rd_kafka_DeleteRecords_new(parts);
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_DELETERECORDS, &r);
	rd_kafka_DeleteRecords(ctx->rk, &del, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "DeleteRecords");
	int rc = ADMIN_EXIT_BROKER;
	if (ev) {
		rc = print_low_watermarks(ctx, rd_kafka_DeleteRecords_result_offsets(
						       rd_kafka_event_DeleteRecords_result(ev)));
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_DeleteRecords_destroy(del);
	rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

static const struct arg_spec records_delete_specs[] = {
	{"--topic", ARG_VALUE, "NAME", "the topic (required)"},
	{"--partition", ARG_REPEAT, "N", "a partition (default: all of the topic's)"},
	{"--before", ARG_VALUE, "OFFSET",
	 "delete the records before this offset (required; -1: all, up to the high watermark)"},
	{NULL, 0, NULL, NULL},
};

static const struct admin_command commands[] = {
	{"records", "delete", "delete a topic's records before an offset", records_delete_specs,
	 check_records_delete, records_delete},
};
const struct admin_family admin_records = {"records", commands, sizeof(commands) / sizeof(commands[0])};
