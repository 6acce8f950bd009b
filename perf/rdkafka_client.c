/* librdkafka clients configured from the arguments, topic creation and the
 * partition count from metadata (rdkafka_client.h): what the rdkafka engine
 * builds its clients with, and what the raw engine asks before it encodes
 * requests. */
#include <stdio.h>
#include <stdlib.h>

#include "rdkafka_client.h"

void perf_conf_set(rd_kafka_conf_t *c, const char *key, const char *value)
{
	char err[PERF_ERR_BYTES];
	if (rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "sluice-perf: %s\n", err);
		exit(2);
	}
}

rd_kafka_conf_t *perf_producer_conf(const struct perf_args *a)
{
	char num[32];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	perf_conf_set(c, "bootstrap.servers", a->brokers);
	perf_conf_set(c, "acks", a->acks);
	perf_conf_set(c, "compression.codec", a->compression);
	snprintf(num, sizeof(num), "%ld", a->linger_ms);
	perf_conf_set(c, "linger.ms", num);
	perf_conf_set(c, "enable.idempotence", a->idempotence ? "true" : "false");
	snprintf(num, sizeof(num), "%ld", a->batch_bytes);
	perf_conf_set(c, "batch.size", num);
	return c;
}

rd_kafka_conf_t *perf_consumer_conf(const struct perf_args *a)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	perf_conf_set(c, "bootstrap.servers", a->brokers);
	/* Without --group the id is only required by the client, never used. */
	perf_conf_set(c, "group.id", a->group ? a->group : "sluice-perf");
	perf_conf_set(c, "enable.auto.commit", a->group ? "true" : "false");
	perf_conf_set(c, "auto.offset.reset", a->from);
	perf_conf_set(c, "fetch.wait.max.ms", "10");
	return c;
}

rd_kafka_t *perf_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char err[PERF_ERR_BYTES];
	rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk)
		fprintf(stderr, "sluice-perf: %s\n", err);
	return rk;
}

rd_kafka_t *perf_producer_new_dr_events(rd_kafka_conf_t *conf,
					void (*on_events)(rd_kafka_t *rk, rd_kafka_event_t *ev, void *opaque))
{
	rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_DR);
	rd_kafka_conf_set_background_event_cb(conf, on_events);
	rd_kafka_t *rk = perf_client_new(RD_KAFKA_PRODUCER, conf);
	if (!rk)
		return NULL;
	rd_kafka_queue_t *main_q = rd_kafka_queue_get_main(rk);
	rd_kafka_queue_t *background = rd_kafka_queue_get_background(rk);
	rd_kafka_queue_forward(main_q, background);
	rd_kafka_queue_destroy(background);
	rd_kafka_queue_destroy(main_q);
	return rk;
}

void perf_create_topic(rd_kafka_t *rk, const struct perf_args *a)
{
	char err[PERF_ERR_BYTES];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(a->topic, (int)a->partitions, -1, err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, PERF_METADATA_MS);
	const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
	size_t n = 0;
	const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
	if (n == 1 && rd_kafka_topic_result_error(tr[0]) &&
	    rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
		fprintf(stderr, "sluice-perf: creating %s: %s (continuing with auto-creation)\n", a->topic,
			rd_kafka_topic_result_error_string(tr[0]));
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
}

int perf_topic_partition_count(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	int n = -1;
	if (!rd_kafka_metadata(rk, 0, t, &md, PERF_METADATA_MS) && md->topic_cnt == 1 &&
	    !md->topics[0].err)
		n = md->topics[0].partition_cnt;
	else
		fprintf(stderr, "sluice-perf: no metadata for topic %s\n", topic);
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return n;
}

int perf_topic_partitions(const struct perf_args *a)
{
	rd_kafka_t *rk = perf_client_new(RD_KAFKA_PRODUCER, perf_producer_conf(a));
	if (!rk)
		return -1;
	if (a->partitions)
		perf_create_topic(rk, a);
	int n = perf_topic_partition_count(rk, a->topic);
	rd_kafka_destroy(rk);
	return n;
}
