/* sluice-admin cluster describe: the cluster id, the controller and the
 * brokers, from Metadata (librdkafka 2.0 has no DescribeCluster call). */
#include <stdio.h>

#include "admin.h"

static void print_cluster(struct admin_ctx *ctx, const rd_kafka_metadata_t *md,
			  const char *cluster_id, int32_t controller)
{
	static const char *const headers[] = {"ID", "HOST", "PORT"};
	struct listing l;
	listing_begin(&l, ctx->json, NULL, 3, headers);
	if (l.json) {
		json_string(&l.j, "cluster_id", cluster_id);
		json_int(&l.j, "controller_id", controller);
		json_array_begin(&l.j, "brokers");
	} else {
		printf("Cluster id: %s\nController: %d\n\n", cluster_id ? cluster_id : "(none)",
		       controller);
	}
	for (int i = 0; i < md->broker_cnt; i++) {
		listing_row_begin(&l);
		listing_int(&l, "id", md->brokers[i].id);
		listing_str(&l, "host", md->brokers[i].host);
		listing_int(&l, "port", md->brokers[i].port);
		listing_row_end(&l);
	}
	listing_end(&l);
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

static const struct admin_command commands[] = {
	{"cluster", "describe", "the cluster's id, controller and brokers", cluster_specs, NULL,
	 cluster_describe},
};
const struct admin_family admin_cluster = {"cluster", commands, sizeof(commands) / sizeof(commands[0])};
