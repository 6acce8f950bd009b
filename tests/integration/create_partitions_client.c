/* A librdkafka program on the admin API: creates TOPIC with 2 partitions,
 * validates a growth to 6 (nothing changes), grows it to 4 with
 * rd_kafka_CreatePartitions, checks the count in the metadata, and checks that
 * asking for 4 again is INVALID_PARTITIONS. Exits 0 when every step answered
 * as expected. Usage: create_partitions_client BOOTSTRAP TOPIC */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ADMIN_TIMEOUT_MS = 30000, INITIAL = 2, GROWN = 4, VALIDATED = 6 };

static rd_kafka_t *client_new(const char *bootstrap)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		exit(2);
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "rd_kafka_new: %s\n", err);
		exit(2);
	}
	return rk;
}

/* Waits for the admin result of `type` on q; the caller destroys it. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
	if (!ev || rd_kafka_event_type(ev) != type) {
		fprintf(stderr, "no admin result of type %d\n", (int)type);
		exit(1);
	}
	if (rd_kafka_event_error(ev)) {
		fprintf(stderr, "admin request failed: %s\n", rd_kafka_event_error_string(ev));
		exit(1);
	}
	return ev;
}

static void create_topic(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic)
{
	char err[256];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, INITIAL, 1, err, sizeof(err));
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
	size_t n = 0;
	const rd_kafka_topic_result_t **r =
		rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	if (n != 1 || rd_kafka_topic_result_error(r[0])) {
		fprintf(stderr, "CreateTopics: %s\n", n ? rd_kafka_topic_result_error_string(r[0]) : "?");
		exit(1);
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
}

/* Asks for `count` partitions; returns the topic's error code, with its
 * message printed when there is one. */
static rd_kafka_resp_err_t create_partitions(rd_kafka_t *rk, rd_kafka_queue_t *q,
					     const char *topic, int count, int validate_only)
{
	char err[256];
	rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)count, err,
								  sizeof(err));
	rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
	if (!np || !opts ||
	    rd_kafka_AdminOptions_set_validate_only(opts, validate_only, err, sizeof(err)) ||
	    rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, err, sizeof(err))) {
		fprintf(stderr, "NewPartitions: %s\n", err);
		exit(2);
	}
	rd_kafka_CreatePartitions(rk, &np, 1, opts, q);
	rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT);
	size_t n = 0;
	const rd_kafka_topic_result_t **r = rd_kafka_CreatePartitions_result_topics(
		rd_kafka_event_CreatePartitions_result(ev), &n);
	if (n != 1 || strcmp(rd_kafka_topic_result_name(r[0]), topic) != 0) {
		fprintf(stderr, "CreatePartitions: %zu result(s) for %s\n", n, topic);
		exit(1);
	}
	rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r[0]);
	if (e)
		printf("CreatePartitions %s -> %d: %s: %s\n", topic, count, rd_kafka_err2name(e),
		       rd_kafka_topic_result_error_string(r[0]));
	rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_NewPartitions_destroy(np);
	return e;
}

static int partition_count(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	if (rd_kafka_metadata(rk, 0, t, &md, ADMIN_TIMEOUT_MS) || md->topic_cnt != 1) {
		fprintf(stderr, "metadata of %s failed\n", topic);
		exit(1);
	}
	int n = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return n;
}

static void expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "failed: %s\n", what);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s BOOTSTRAP TOPIC\n", argv[0]);
		return 2;
	}
	const char *topic = argv[2];
	rd_kafka_t *rk = client_new(argv[1]);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	create_topic(rk, q, topic);
	expect(create_partitions(rk, q, topic, VALIDATED, 1) == RD_KAFKA_RESP_ERR_NO_ERROR,
	       "validate_only growth accepted");
	expect(partition_count(rk, topic) == INITIAL, "validate_only changes nothing");
	expect(create_partitions(rk, q, topic, GROWN, 0) == RD_KAFKA_RESP_ERR_NO_ERROR,
	       "growth accepted");
	expect(partition_count(rk, topic) == GROWN, "grown topic has its new count");
	expect(create_partitions(rk, q, topic, GROWN, 0) == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
	       "same count is INVALID_PARTITIONS");
	expect(create_partitions(rk, q, "create-partitions-missing", GROWN, 0) ==
		       RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
	       "unknown topic is UNKNOWN_TOPIC_OR_PART");
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	printf("create_partitions_client: ok\n");
	return 0;
}
