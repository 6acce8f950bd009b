/* librdkafka clients configured from sluice-perf's arguments, and the topic
 * administration both engines need before a run: creating the topic and
 * reading its partition count from metadata. */
#ifndef SLUICE_PERF_RDKAFKA_CLIENT_H
#define SLUICE_PERF_RDKAFKA_CLIENT_H

#include <librdkafka/rdkafka.h>

#include "perf.h"

enum {
	PERF_METADATA_MS = 10000,   /* bound on each metadata, admin or watermark call */
};

/* Sets one client property; a property librdkafka refuses is a usage error:
 * logged, exits 2. */
void perf_conf_set(rd_kafka_conf_t *c, const char *key, const char *value);
/* A producer's configuration from --brokers, --acks, --compression,
 * --linger-ms and --batch-bytes. */
rd_kafka_conf_t *perf_producer_conf(const struct perf_args *a);
/* A consumer's configuration from --brokers, --group and --from. */
rd_kafka_conf_t *perf_consumer_conf(const struct perf_args *a);
/* A client of `type` that owns `conf`; NULL (logged) when librdkafka refuses. */
rd_kafka_t *perf_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);
/* A producer that owns `conf` and whose delivery reports go to `on_events`
 * on librdkafka's background thread, the moment they arrive (its main queue
 * is forwarded to the background queue); the producing thread must then
 * neither poll nor serve them. NULL (logged) when librdkafka refuses. */
rd_kafka_t *perf_producer_new_dr_events(rd_kafka_conf_t *conf,
					void (*on_events)(rd_kafka_t *rk, rd_kafka_event_t *ev, void *opaque));
/* Creates the topic with --partitions (an existing topic is fine). */
void perf_create_topic(rd_kafka_t *rk, const struct perf_args *a);
/* The partition count of `topic` from metadata; -1 (logged) when unknown. */
int perf_topic_partition_count(rd_kafka_t *rk, const char *topic);
/* The topic's partition count from metadata, after creating the topic when
 * --partitions is given; -1 (logged) when unknown. */
int perf_topic_partitions(const struct perf_args *a);

#endif
