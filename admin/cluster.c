/* sluice-admin cluster describe: the cluster id, the controller and the
 * brokers, from Metadata (librdkafka 2.0 has no DescribeCluster call). */
#include <stdio.h>

#include "admin.h"

static void print_cluster(struct admin_ctx *ctx, const rd_kafka_metadata_t *md,
			  const char *cluster_id, int32_t controller)
{
	static const char *const headers[] = {"ID", "HOST", "PORT"};
	struct table t;
	struct json j = {0};
	table_init(&t, 3, headers);
	if (ctx->json) {
		json_object_begin(&j, NULL);
		json_string(&j, "cluster_id", cluster_id);
		json_int(&j, "controller_id", controller);
		json_array_begin(&j, "brokers");
	}
	for (int i = 0; i < md->broker_cnt; i++) {
		const rd_kafka_metadata_broker_t *b = &md->brokers[i];
		if (ctx->json) {
			json_object_begin(&j, NULL);
			json_int(&j, "id", b->id);
			json_string(&j, "host", b->host);
			json_int(&j, "port", b->port);
			json_object_end(&j);
		} else {
			table_cell(&t, "%d", b->id);
			table_cell(&t, "%s", b->host);
			table_cell(&t, "%d", b->port);
		}
	}
	if (ctx->json) {
		json_array_end(&j);
		json_object_end(&j);
		return;
	}
	printf("Cluster id: %s\nController: %d\n\n", cluster_id ? cluster_id : "(none)", controller);
	table_print_free(&t);
}

static int cluster_describe(struct admin_ctx *ctx)
{
	const rd_kafka_metadata_t *md = client_metadata(ctx, NULL);
	if (!md)
		return ADMIN_EXIT_BROKER;
	/* Both come from the Metadata answer just cached: no second wait. */
	char *cluster_id = rd_kafka_clusterid(ctx->rk, ctx->timeout_ms);
	int32_t controller = rd_kafka_controllerid(ctx->rk, ctx->timeout_ms);
	print_cluster(ctx, md, cluster_id, controller);
	rd_kafka_mem_free(ctx->rk, cluster_id);
	rd_kafka_metadata_destroy(md);
	return ADMIN_EXIT_OK;
}

static const struct arg_spec cluster_specs[] = {
	{NULL, 0, NULL, NULL},
};

const struct admin_command admin_cluster_commands[] = {
	{"cluster", "describe", "the cluster's id, controller and brokers", cluster_specs, NULL,
	 cluster_describe},
};
const size_t admin_cluster_command_count =
	sizeof(admin_cluster_commands) / sizeof(admin_cluster_commands[0]);
