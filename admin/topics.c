/* sluice-admin topics list|describe|create|delete|add-partitions: Metadata,
 * CreateTopics, DeleteTopics and CreatePartitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

#define TOPIC_CONFIG_BYTES_MAX 1024

static int by_name(const void *a, const void *b)
{
	const rd_kafka_metadata_topic_t *x = a, *y = b;
	return strcmp(x->topic, y->topic);
}

/* md's topics sorted by name (md itself is const); the caller frees. */
static rd_kafka_metadata_topic_t *sorted_topics(const rd_kafka_metadata_t *md)
{
	rd_kafka_metadata_topic_t *t = calloc((size_t)md->topic_cnt + 1, sizeof(*t));
	if (!t)
		abort();
	memcpy(t, md->topics, (size_t)md->topic_cnt * sizeof(*t));
	qsort(t, (size_t)md->topic_cnt, sizeof(*t), by_name);
	return t;
}

static int topics_list(struct admin_ctx *ctx)
{
	const rd_kafka_metadata_t *md = client_metadata(ctx, NULL);
	if (!md)
		return ADMIN_EXIT_BROKER;
	rd_kafka_metadata_topic_t *t = sorted_topics(md);
	struct json j = {0};
	if (ctx->json) {
		json_object_begin(&j, NULL);
		json_array_begin(&j, "topics");
	}
	bool external_only = args_has(&ctx->args, "--exclude-internal");
	for (int i = 0; i < md->topic_cnt; i++) {
		if (external_only && strncmp(t[i].topic, "__", 2) == 0)
			continue;
		if (ctx->json)
			json_string(&j, NULL, t[i].topic);
		else
			printf("%s\n", t[i].topic);
	}
	if (ctx->json) {
		json_array_end(&j);
		json_object_end(&j);
	}
	free(t);
	rd_kafka_metadata_destroy(md);
	return ADMIN_EXIT_OK;
}

/* "1,2,3" from ids[0..n), cut to fit out. */
static void id_list(char *out, size_t size, const int32_t *ids, int n)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%d", i ? "," : "", ids[i]);
}

static void json_ids(struct json *j, const char *key, const int32_t *ids, int n)
{
	json_array_begin(j, key);
	for (int i = 0; i < n; i++)
		json_int(j, NULL, ids[i]);
	json_array_end(j);
}

static void describe_json(struct json *j, const rd_kafka_metadata_topic_t *t)
{
	json_object_begin(j, NULL);
	json_string(j, "name", t->topic);
	json_string(j, "error", t->err ? rd_kafka_err2name(t->err) : NULL);
	json_int(j, "partition_count", t->partition_cnt);
	json_int(j, "replication_factor", t->partition_cnt ? t->partitions[0].replica_cnt : 0);
	json_array_begin(j, "partitions");
	for (int p = 0; p < t->partition_cnt; p++) {
		const rd_kafka_metadata_partition_t *mp = &t->partitions[p];
		json_object_begin(j, NULL);
		json_int(j, "partition", mp->id);
		json_int(j, "leader", mp->leader);
		json_ids(j, "replicas", mp->replicas, mp->replica_cnt);
		json_ids(j, "isr", mp->isrs, mp->isr_cnt);
		json_string(j, "error", mp->err ? rd_kafka_err2name(mp->err) : NULL);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void describe_rows(struct table *tab, const rd_kafka_metadata_topic_t *t)
{
	char replicas[TABLE_CELL_BYTES_MAX], isr[TABLE_CELL_BYTES_MAX];
	for (int p = 0; p < t->partition_cnt; p++) {
		const rd_kafka_metadata_partition_t *mp = &t->partitions[p];
		id_list(replicas, sizeof(replicas), mp->replicas, mp->replica_cnt);
		id_list(isr, sizeof(isr), mp->isrs, mp->isr_cnt);
		table_cell(tab, "%s", t->topic);
		table_cell(tab, "%d", mp->id);
		table_cell(tab, "%d", mp->leader);
		table_cell(tab, "%s", replicas);
		table_cell(tab, "%s", isr);
	}
}

/* One topic's error, or every topic's metadata, printed. */
static int describe_print(struct admin_ctx *ctx, const rd_kafka_metadata_t *md)
{
	rd_kafka_metadata_topic_t *t = sorted_topics(md);
	const char *only = args_value(&ctx->args, "--topic");
	if (only && md->topic_cnt == 1 && t[0].err) {
		int rc = client_fail(ctx, only, t[0].err, NULL);
		free(t);
		return rc;
	}
	static const char *const headers[] = {"TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"};
	struct table tab;
	struct json j = {0};
	table_init(&tab, 5, headers);
	if (ctx->json) {
		json_object_begin(&j, NULL);
		json_array_begin(&j, "topics");
	}
	for (int i = 0; i < md->topic_cnt; i++) {
		if (ctx->json)
			describe_json(&j, &t[i]);
		else
			describe_rows(&tab, &t[i]);
	}
	if (ctx->json) {
		json_array_end(&j);
		json_object_end(&j);
	} else {
		table_print_free(&tab);
	}
	free(t);
	return ADMIN_EXIT_OK;
}

static int topics_describe(struct admin_ctx *ctx)
{
	const rd_kafka_metadata_t *md = client_metadata(ctx, args_value(&ctx->args, "--topic"));
	if (!md)
		return ADMIN_EXIT_BROKER;
	int rc = describe_print(ctx, md);
	rd_kafka_metadata_destroy(md);
	return rc;
}

/* Prints one line (or JSON object) per topic result; exit 1 when any failed. */
static int report_topic_results(struct admin_ctx *ctx, const rd_kafka_topic_result_t **res,
				size_t n, const char *done)
{
	struct client_result got[ARGS_REPEATS_MAX];
	n = n < ARGS_REPEATS_MAX ? n : ARGS_REPEATS_MAX;
	for (size_t i = 0; i < n; i++) {
		got[i].name = rd_kafka_topic_result_name(res[i]);
		got[i].err = rd_kafka_topic_result_error(res[i]);
		got[i].message = rd_kafka_topic_result_error_string(res[i]);
	}
	return client_report_results(ctx, "topics", "name", got, n, done);
}

/* Splits each --config k=v into new_topic's configs; -1 on a bad one. */
static int set_topic_configs(struct admin_ctx *ctx, rd_kafka_NewTopic_t *nt)
{
	const struct arg_values *v = args_values(&ctx->args, "--config");
	for (size_t i = 0; i < v->count; i++) {
		char kv[TOPIC_CONFIG_BYTES_MAX];
		snprintf(kv, sizeof(kv), "%s", v->values[i]);
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			fprintf(stderr, "sluice-admin: %s: --config: '%s' is not key=value\n",
				ctx->command, v->values[i]);
			return -1;
		}
		*eq = '\0';
		rd_kafka_NewTopic_set_config(nt, kv, eq + 1);
	}
	return 0;
}

static int check_create(struct admin_ctx *ctx)
{
	int64_t n;
	struct args *a = &ctx->args;
	const struct arg_values *v = args_values(a, "--config");
	for (size_t i = 0; i < v->count; i++) {
		const char *eq = strchr(v->values[i], '=');
		if (!eq || eq == v->values[i] || strlen(v->values[i]) >= TOPIC_CONFIG_BYTES_MAX) {
			snprintf(a->error, sizeof(a->error), "--config: '%.200s' is not key=value",
				 v->values[i]);
			return -1;
		}
	}
	return args_require(a, "--topic") || args_int64(a, "--partitions", 1, ADMIN_PARTITIONS_MAX, -1, &n) ||
	       args_int64(a, "--replication-factor", 1, INT16_MAX, -1, &n) ? -1 : 0;
}

static int topics_create(struct admin_ctx *ctx)
{
	int64_t partitions, replication;
	char err[ADMIN_ERROR_BYTES];
	args_int64(&ctx->args, "--partitions", 1, ADMIN_PARTITIONS_MAX, -1, &partitions);
	args_int64(&ctx->args, "--replication-factor", 1, INT16_MAX, -1, &replication);
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(args_value(&ctx->args, "--topic"),
							(int)partitions, (int)replication, err,
							sizeof(err));
	if (!nt) {
		fprintf(stderr, "sluice-admin: %s: %s\n", ctx->command, err);
		return ADMIN_EXIT_USAGE;
	}
	if (set_topic_configs(ctx, nt) != 0) {
		rd_kafka_NewTopic_destroy(nt);
		return ADMIN_EXIT_USAGE;
	}
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_CREATETOPICS, &r);
	rd_kafka_CreateTopics(ctx->rk, &nt, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "CreateTopics");
	int rc = ADMIN_EXIT_BROKER;
	if (ev) {
		size_t n;
		const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
			rd_kafka_event_CreateTopics_result(ev), &n);
		rc = report_topic_results(ctx, res, n, "created topic");
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

static int check_topic(struct admin_ctx *ctx)
{
	return args_require(&ctx->args, "--topic");
}

static int topics_delete(struct admin_ctx *ctx)
{
	const struct arg_values *v = args_values(&ctx->args, "--topic");
	rd_kafka_DeleteTopic_t *del[ARGS_REPEATS_MAX];
	for (size_t i = 0; i < v->count; i++)
		del[i] = rd_kafka_DeleteTopic_new(v->values[i]);
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_DELETETOPICS, &r);
	rd_kafka_DeleteTopics(ctx->rk, del, v->count, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "DeleteTopics");
	int rc = ADMIN_EXIT_BROKER;
	if (ev) {
		size_t n;
		const rd_kafka_topic_result_t **res = rd_kafka_DeleteTopics_result_topics(
			rd_kafka_event_DeleteTopics_result(ev), &n);
		rc = report_topic_results(ctx, res, n, "deleted topic");
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_DeleteTopic_destroy_array(del, v->count);
	return rc;
}

static int check_add_partitions(struct admin_ctx *ctx)
{
	int64_t n;
	return args_require(&ctx->args, "--topic") || args_require(&ctx->args, "--partitions") ||
	       args_int64(&ctx->args, "--partitions", 1, ADMIN_PARTITIONS_MAX, 1, &n) ? -1 : 0;
}

static int topics_add_partitions(struct admin_ctx *ctx)
{
	int64_t total;
	char err[ADMIN_ERROR_BYTES];
	args_int64(&ctx->args, "--partitions", 1, ADMIN_PARTITIONS_MAX, 1, &total);
	rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(
		args_value(&ctx->args, "--topic"), (size_t)total, err, sizeof(err));
	if (!np) {
		fprintf(stderr, "sluice-admin: %s: %s\n", ctx->command, err);
		return ADMIN_EXIT_USAGE;
	}
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, &r);
	if (args_has(&ctx->args, "--validate-only"))
		rd_kafka_AdminOptions_set_validate_only(r.options, 1, err, sizeof(err));
	rd_kafka_CreatePartitions(ctx->rk, &np, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "CreatePartitions");
	int rc = ADMIN_EXIT_BROKER;
	if (ev) {
		size_t n;
		const rd_kafka_topic_result_t **res = rd_kafka_CreatePartitions_result_topics(
			rd_kafka_event_CreatePartitions_result(ev), &n);
		rc = report_topic_results(ctx, res, n,
					  args_has(&ctx->args, "--validate-only") ? "validated topic"
										  : "added partitions to topic");
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_NewPartitions_destroy(np);
	return rc;
}

static const struct arg_spec list_specs[] = {
	{"--exclude-internal", ARG_FLAG, NULL, "leave out topics whose name starts with __"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec describe_specs[] = {
	{"--topic", ARG_VALUE, "NAME", "the topic (default: all)"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec create_specs[] = {
	{"--topic", ARG_VALUE, "NAME", "the topic to create (required)"},
	{"--partitions", ARG_VALUE, "N", "partition count (default: the broker's num.partitions)"},
	{"--replication-factor", ARG_VALUE, "N",
	 "replicas per partition (default: the broker's default.replication.factor)"},
	{"--config", ARG_REPEAT, "KEY=VALUE", "a topic config"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec delete_specs[] = {
	{"--topic", ARG_REPEAT, "NAME", "a topic to delete (required)"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec add_partitions_specs[] = {
	{"--topic", ARG_VALUE, "NAME", "the topic (required)"},
	{"--partitions", ARG_VALUE, "N", "the new total partition count (required)"},
	{"--validate-only", ARG_FLAG, NULL, "ask the broker to check, change nothing"},
	{NULL, 0, NULL, NULL},
};

static const struct admin_command commands[] = {
	{"topics", "list", "list the topics' names", list_specs, NULL, topics_list},
	{"topics", "describe", "partitions, leaders, replicas and ISR of topics",
	 describe_specs, NULL, topics_describe},
	{"topics", "create", "create a topic", create_specs, check_create,
	 topics_create},
	{"topics", "delete", "delete topics", delete_specs, check_topic, topics_delete},
	{"topics", "add-partitions", "raise a topic's partition count",
	 add_partitions_specs, check_add_partitions, topics_add_partitions},
};
const struct admin_family admin_topics = {"topics", commands, sizeof(commands) / sizeof(commands[0])};
