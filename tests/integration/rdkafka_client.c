/* A librdkafka program: produces N keyed messages to one partition with
 * delivery reports, then consumes them back by assignment and checks every
 * key, value and offset. Usage: rdkafka_client BOOTSTRAP TOPIC N */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PAYLOAD_BYTES = 80, POLL_MS = 100, DEADLINE_S = 60 };

static long delivered_ok;
static long delivered_err;
static int64_t next_expected_offset;
static int offsets_in_order = 1;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		delivered_err++;
		fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
		return;
	}
	if (m->offset != next_expected_offset)
		offsets_in_order = 0;
	next_expected_offset = m->offset + 1;
	delivered_ok++;
}

static rd_kafka_conf_t *conf_new(const char *bootstrap)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "group.id", "rdkafka-client-test", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		exit(2);
	}
	return conf;
}

static void value_of(long i, char *buf)
{
	int width = (int)(i % 40);
	int n = snprintf(buf, PAYLOAD_BYTES, "value-%ld-", i);
	for (int k = 0; k < width && n + 1 < PAYLOAD_BYTES; k++)
		buf[n++] = (char)('0' + (i + k) % 10);
	buf[n] = '\0';
}

static int produce(const char *bootstrap, const char *topic, long n)
{
	char err[256];
	rd_kafka_conf_t *conf = conf_new(bootstrap);
	rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "producer: %s\n", err);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		char key[32], value[PAYLOAD_BYTES];
		snprintf(key, sizeof(key), "k%ld", i);
		value_of(i, value);
		rd_kafka_resp_err_t e;
		while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
					      RD_KAFKA_V_KEY(key, strlen(key)),
					      RD_KAFKA_V_VALUE(value, strlen(value)),
					      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
		       RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(p, POLL_MS);
		if (e) {
			fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
			return 1;
		}
		rd_kafka_poll(p, 0);
	}
	rd_kafka_flush(p, DEADLINE_S * 1000);
	rd_kafka_destroy(p);
	if (delivered_ok != n || delivered_err || !offsets_in_order) {
		fprintf(stderr, "delivered %ld ok, %ld failed, in order: %d\n", delivered_ok,
			delivered_err, offsets_in_order);
		return 1;
	}
	return 0;
}

static int consume(const char *bootstrap, const char *topic, long n)
{
	char err[256];
	rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf_new(bootstrap), err, sizeof(err));
	if (!c) {
		fprintf(stderr, "consumer: %s\n", err);
		return 1;
	}
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(c, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	long got = 0;
	time_t deadline = time(NULL) + DEADLINE_S;
	int rc = 0;
	while (got < n && time(NULL) < deadline && rc == 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, POLL_MS);
		if (!m)
			continue;
		if (!m->err) {
			char key[32], value[PAYLOAD_BYTES];
			snprintf(key, sizeof(key), "k%ld", got);
			value_of(got, value);
			if (m->offset != got || m->key_len != strlen(key) ||
			    memcmp(m->key, key, m->key_len) != 0 || m->len != strlen(value) ||
			    memcmp(m->payload, value, m->len) != 0) {
				fprintf(stderr, "message %ld differs (offset %" PRId64 ")\n", got, m->offset);
				rc = 1;
			}
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	if (rc == 0 && got != n) {
		fprintf(stderr, "consumed %ld of %ld\n", got, n);
		rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: rdkafka_client BOOTSTRAP TOPIC N\n");
		return 2;
	}
	long n = strtol(argv[3], NULL, 10);
	if (produce(argv[1], argv[2], n) != 0)
		return 1;
	return consume(argv[1], argv[2], n);
}
