/* sluice-admin's one librdkafka client (admin.h): created from
 * --bootstrap-server, every wait bounded by --timeout-ms, and the messages a
 * broker's refusal or an unreachable broker turn into. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin.h"

/* Polls the result queue in slices this long, serving the client's error
 * callback in between (it reports an unreachable broker). */
#define CLIENT_POLL_SLICE_MS 100
/* librdkafka's own timeout fires first; this is the margin after it. */
#define CLIENT_DEADLINE_SLACK_MS 2000

static void on_client_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	struct admin_ctx *ctx = opaque;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && ctx->transport_error[0])
		return;
	snprintf(ctx->transport_error, sizeof(ctx->transport_error), "%s", reason);
}

static int conf_set(struct admin_ctx *ctx, rd_kafka_conf_t *conf, const char *key,
		    const char *value)
{
	char err[ADMIN_ERROR_BYTES];
	if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) == RD_KAFKA_CONF_OK)
		return 0;
	fprintf(stderr, "sluice-admin: %s: %s\n", ctx->command, err);
	return -1;
}

int client_open(struct admin_ctx *ctx)
{
	char timeout[32];
	snprintf(timeout, sizeof(timeout), "%d", ctx->timeout_ms);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_error_cb(conf, on_client_error);
	rd_kafka_conf_set_opaque(conf, ctx);
	/* Errors reach the user once, in our own words, not as client logs. */
	if (conf_set(ctx, conf, "bootstrap.servers", ctx->bootstrap) != 0 ||
	    conf_set(ctx, conf, "client.id", "sluice-admin") != 0 ||
	    conf_set(ctx, conf, "log_level", "0") != 0 ||
	    conf_set(ctx, conf, "allow.auto.create.topics", "false") != 0 ||
	    conf_set(ctx, conf, "socket.timeout.ms", timeout) != 0) {
		rd_kafka_conf_destroy(conf);
		return ADMIN_EXIT_USAGE;
	}
	char err[ADMIN_ERROR_BYTES];
	ctx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!ctx->rk) {
		fprintf(stderr, "sluice-admin: %s: cannot create a client: %s\n", ctx->command, err);
		return ADMIN_EXIT_BROKER;
	}
	return ADMIN_EXIT_OK;
}

void client_close(struct admin_ctx *ctx)
{
	if (ctx->rk)
		rd_kafka_destroy(ctx->rk);
	ctx->rk = NULL;
}

void client_request_begin(struct admin_ctx *ctx, rd_kafka_admin_op_t op, struct client_request *r)
{
	char err[ADMIN_ERROR_BYTES];
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(ctx->rk, op);
	rd_kafka_AdminOptions_set_request_timeout(o, ctx->timeout_ms, err, sizeof(err));
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
	    op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS || op == RD_KAFKA_ADMIN_OP_DELETERECORDS)
		rd_kafka_AdminOptions_set_operation_timeout(o, ctx->timeout_ms, err, sizeof(err));
	r->options = o;
	r->queue = rd_kafka_queue_new(ctx->rk);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The message for a request that timed out or lost its connection: the
 * broker is named, with the client's own reason when there is one. */
static int fail_unreachable(struct admin_ctx *ctx, const char *what, rd_kafka_resp_err_t err)
{
	rd_kafka_poll(ctx->rk, 0);
	if (ctx->transport_error[0]) {
		fprintf(stderr, "sluice-admin: %s: cannot reach --bootstrap-server %s within %d ms (%s): %s\n",
			ctx->command, ctx->bootstrap, ctx->timeout_ms, what, ctx->transport_error);
		return ADMIN_EXIT_BROKER;
	}
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
		fprintf(stderr, "sluice-admin: %s: no answer from --bootstrap-server %s within %d ms (%s)\n",
			ctx->command, ctx->bootstrap, ctx->timeout_ms, what);
		return ADMIN_EXIT_BROKER;
	}
	fprintf(stderr, "sluice-admin: %s: lost --bootstrap-server %s (%s): %s\n", ctx->command,
		ctx->bootstrap, what, rd_kafka_err2str(err));
	return ADMIN_EXIT_BROKER;
}

rd_kafka_event_t *client_request_end(struct admin_ctx *ctx, struct client_request *r,
				     const char *what)
{
	int64_t deadline = now_ms() + ctx->timeout_ms + CLIENT_DEADLINE_SLACK_MS;
	rd_kafka_event_t *ev = NULL;
	while (!ev && now_ms() < deadline) {
		ev = rd_kafka_queue_poll(r->queue, CLIENT_POLL_SLICE_MS);
		rd_kafka_poll(ctx->rk, 0);
	}
	rd_kafka_AdminOptions_destroy(r->options);
	rd_kafka_queue_destroy(r->queue);
	if (!ev) {
		client_fail(ctx, what, RD_KAFKA_RESP_ERR__TIMED_OUT, NULL);
		return NULL;
	}
	rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
	if (err) {
		client_fail(ctx, what, err, rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

const rd_kafka_metadata_t *client_metadata(struct admin_ctx *ctx, const char *topic)
{
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_topic_t *rkt = topic ? rd_kafka_topic_new(ctx->rk, topic, NULL) : NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(ctx->rk, topic == NULL, rkt, &md,
						    ctx->timeout_ms);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (err) {
		client_fail(ctx, "Metadata", err, rd_kafka_err2str(err));
		return NULL;
	}
	return md;
}

int client_fail(struct admin_ctx *ctx, const char *resource, rd_kafka_resp_err_t err,
		const char *message)
{
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
		return fail_unreachable(ctx, resource, err);
	fprintf(stderr, "sluice-admin: %s: %s: %s: %s\n", ctx->command, resource,
		rd_kafka_err2name(err), message && message[0] ? message : rd_kafka_err2str(err));
	return ADMIN_EXIT_BROKER;
}

int client_offsets_for_times(struct admin_ctx *ctx, rd_kafka_topic_partition_list_t *parts)
{
	if (parts->cnt == 0)
		return ADMIN_EXIT_OK;
	rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(ctx->rk, parts, ctx->timeout_ms);
	if (err)
		return client_fail(ctx, "ListOffsets", err, rd_kafka_err2str(err));
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		if (p->err) {
			char name[ADMIN_ERROR_BYTES];
			snprintf(name, sizeof(name), "%s-%d", p->topic, p->partition);
			return client_fail(ctx, name, p->err, NULL);
		}
	}
	return ADMIN_EXIT_OK;
}

/* Adds topic's partitions from md to list; -1 (printed) when unknown. */
static int add_topic_partitions(struct admin_ctx *ctx, const rd_kafka_metadata_t *md,
				const char *topic, int64_t fill,
				rd_kafka_topic_partition_list_t *list)
{
	for (int t = 0; t < md->topic_cnt; t++) {
		const rd_kafka_metadata_topic_t *mt = &md->topics[t];
		if (strcmp(mt->topic, topic) != 0)
			continue;
		if (mt->err) {
			client_fail(ctx, topic, mt->err, NULL);
			return -1;
		}
		if (list->cnt + mt->partition_cnt > ADMIN_PARTITIONS_MAX) {
			fprintf(stderr, "sluice-admin: %s: more than %d partitions\n", ctx->command,
				ADMIN_PARTITIONS_MAX);
			return -1;
		}
		for (int p = 0; p < mt->partition_cnt; p++)
			rd_kafka_topic_partition_list_add(list, topic, mt->partitions[p].id)->offset =
				fill;
		return 0;
	}
	client_fail(ctx, topic, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, NULL);
	return -1;
}

rd_kafka_topic_partition_list_t *client_topic_partitions(struct admin_ctx *ctx,
							  const char *const *topics, size_t n,
							  int64_t fill)
{
	const rd_kafka_metadata_t *md = client_metadata(ctx, NULL);
	if (!md)
		return NULL;
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
	for (size_t i = 0; i < n; i++) {
		if (add_topic_partitions(ctx, md, topics[i], fill, list) != 0) {
			rd_kafka_topic_partition_list_destroy(list);
			list = NULL;
			break;
		}
	}
	rd_kafka_metadata_destroy(md);
	return list;
}

int client_report_results(struct admin_ctx *ctx, const char *array_key, const char *name_key,
			  const struct client_result *res, size_t n, const char *done)
{
	int rc = ADMIN_EXIT_OK;
	struct json j = {0};
	if (ctx->json) {
		json_object_begin(&j, NULL);
		json_array_begin(&j, array_key);
	}
	for (size_t i = 0; i < n; i++) {
		if (res[i].err)
			rc = client_fail(ctx, res[i].name, res[i].err, res[i].message);
		if (ctx->json) {
			json_object_begin(&j, NULL);
			json_string(&j, name_key, res[i].name);
			json_string(&j, "error", res[i].err ? rd_kafka_err2name(res[i].err) : NULL);
			json_object_end(&j);
		} else if (!res[i].err) {
			printf("%s %s\n", done, res[i].name);
		}
	}
	while (j.depth > 0)
		json_end(&j);
	return rc;
}
