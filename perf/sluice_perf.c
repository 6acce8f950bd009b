/* sluice-perf: a Kafka load generator on librdkafka.
 *
 *   sluice-perf produce --brokers H:P --topic T [--size B] [--count N | --duration S]
 *                       [--rate MSG_PER_S] [--acks 0|1|all] [--compression C]
 *                       [--linger-ms MS] [--batch-bytes B] [--partitions N] [--keys N]
 *                       [--json FILE]
 *   sluice-perf consume --brokers H:P --topic T [--count N | --duration S]
 *                       [--from earliest|latest] [--json FILE]
 *
 * produce measures send -> delivery report latency; at a fixed --rate the
 * clock starts at each message's intended send time, so a stalled broker
 * shows up in the percentiles instead of slowing the load (no coordinated
 * omission). A progress line goes to stderr every second; the summary to
 * stdout, and with --json to a file. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "histogram.h"

enum { PERF_POLL_MS = 100, PERF_FLUSH_MS = 60000, PERF_ERR_BYTES = 512, PERF_KEY_BYTES = 32 };

struct perf_args {
	const char *mode;
	const char *brokers;
	const char *topic;
	long size;
	long count;
	double duration_s;
	double rate;
	const char *acks;
	const char *compression;
	long linger_ms;
	long batch_bytes;
	long partitions;
	long keys;
	const char *from;
	const char *json;
};

struct perf_stats {
	uint64_t messages;
	uint64_t bytes;
	uint64_t errors;
	double seconds;
	struct histogram latency_us;
};

static volatile sig_atomic_t perf_stop;

static void perf_on_signal(int sig)
{
	(void)sig;
	perf_stop = 1;
}

static uint64_t perf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void perf_usage(const char *why)
{
	if (why)
		fprintf(stderr, "sluice-perf: %s\n", why);
	fprintf(stderr,
		"usage: sluice-perf produce --brokers H:P --topic T [--size B] [--count N | --duration S]\n"
		"                           [--rate MSG_PER_S] [--acks 0|1|all] [--compression none|gzip|snappy|lz4|zstd]\n"
		"                           [--linger-ms MS] [--batch-bytes B] [--partitions N] [--keys N] [--json FILE]\n"
		"       sluice-perf consume --brokers H:P --topic T [--count N | --duration S]\n"
		"                           [--from earliest|latest] [--json FILE]\n");
	exit(2);
}

static long perf_long(const char *flag, const char *v, long min)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || !*v || *end || n < min) {
		char why[128];
		snprintf(why, sizeof(why), "%s: '%s' is not an integer >= %ld", flag, v, min);
		perf_usage(why);
	}
	return n;
}

static double perf_double(const char *flag, const char *v)
{
	char *end = NULL;
	double d = strtod(v, &end);
	if (!*v || *end || d < 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s: '%s' is not a non-negative number", flag, v);
		perf_usage(why);
	}
	return d;
}

static void perf_parse(int argc, char **argv, struct perf_args *a)
{
	*a = (struct perf_args){ .size = 1024, .acks = "1", .compression = "none", .linger_ms = 5,
				 .batch_bytes = 1000000, .partitions = 0, .from = "earliest" };
	if (argc < 2)
		perf_usage(NULL);
	a->mode = argv[1];
	if (strcmp(a->mode, "produce") && strcmp(a->mode, "consume"))
		perf_usage("the first argument is produce or consume");
	for (int i = 2; i < argc; i++) {
		const char *f = argv[i];
		if (i + 1 >= argc) {
			char why[128];
			snprintf(why, sizeof(why), "%s needs a value", f);
			perf_usage(why);
		}
		const char *v = argv[++i];
		if (!strcmp(f, "--brokers")) a->brokers = v;
		else if (!strcmp(f, "--topic")) a->topic = v;
		else if (!strcmp(f, "--size")) a->size = perf_long(f, v, 0);
		else if (!strcmp(f, "--count")) a->count = perf_long(f, v, 1);
		else if (!strcmp(f, "--duration")) a->duration_s = perf_double(f, v);
		else if (!strcmp(f, "--rate")) a->rate = perf_double(f, v);
		else if (!strcmp(f, "--acks")) a->acks = v;
		else if (!strcmp(f, "--compression")) a->compression = v;
		else if (!strcmp(f, "--linger-ms")) a->linger_ms = perf_long(f, v, 0);
		else if (!strcmp(f, "--batch-bytes")) a->batch_bytes = perf_long(f, v, 1);
		else if (!strcmp(f, "--partitions")) a->partitions = perf_long(f, v, 1);
		else if (!strcmp(f, "--keys")) a->keys = perf_long(f, v, 0);
		else if (!strcmp(f, "--from")) a->from = v;
		else if (!strcmp(f, "--json")) a->json = v;
		else {
			char why[128];
			snprintf(why, sizeof(why), "unknown flag %s", f);
			perf_usage(why);
		}
	}
	if (!a->brokers || !a->topic)
		perf_usage("--brokers and --topic are required");
	if (!a->count && a->duration_s <= 0)
		perf_usage("give --count or --duration");
	if (strcmp(a->acks, "0") && strcmp(a->acks, "1") && strcmp(a->acks, "all") && strcmp(a->acks, "-1"))
		perf_usage("--acks: 0, 1 or all");
	if (strcmp(a->from, "earliest") && strcmp(a->from, "latest"))
		perf_usage("--from: earliest or latest");
}

static void perf_conf_set(rd_kafka_conf_t *c, const char *key, const char *value)
{
	char err[PERF_ERR_BYTES];
	if (rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "sluice-perf: %s\n", err);
		exit(2);
	}
}

static rd_kafka_conf_t *perf_conf(const struct perf_args *a, bool producer)
{
	char num[32];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	perf_conf_set(c, "bootstrap.servers", a->brokers);
	if (!producer) {
		/* Assignment only: the group id is required by the client, never used. */
		perf_conf_set(c, "group.id", "sluice-perf");
		perf_conf_set(c, "enable.auto.commit", "false");
		return c;
	}
	perf_conf_set(c, "acks", a->acks);
	perf_conf_set(c, "compression.codec", a->compression);
	snprintf(num, sizeof(num), "%ld", a->linger_ms);
	perf_conf_set(c, "linger.ms", num);
	snprintf(num, sizeof(num), "%ld", a->batch_bytes);
	perf_conf_set(c, "batch.size", num);
	return c;
}

static struct perf_stats perf_stats;

static void perf_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		perf_stats.errors++;
		return;
	}
	uint64_t intended_ns = (uint64_t)(uintptr_t)m->_private;
	histogram_record(&perf_stats.latency_us, (perf_now_ns() - intended_ns) / 1000);
	perf_stats.messages++;
	perf_stats.bytes += m->len;
}

static void perf_progress(uint64_t start_ns, uint64_t *last_ns, bool latency)
{
	uint64_t now = perf_now_ns();
	if (now - *last_ns < 1000000000ull)
		return;
	*last_ns = now;
	double s = (double)(now - start_ns) / 1e9;
	fprintf(stderr, "%6.1fs %10.0f msg/s %8.1f MB/s", s, (double)perf_stats.messages / s,
		(double)perf_stats.bytes / s / 1e6);
	if (latency)
		fprintf(stderr, "  p99 %" PRIu64 " us", histogram_quantile(&perf_stats.latency_us, 0.99));
	fprintf(stderr, "  errors %" PRIu64 "\n", perf_stats.errors);
}

static bool perf_done(const struct perf_args *a, uint64_t sent, uint64_t start_ns)
{
	if (perf_stop)
		return true;
	if (a->count)
		return sent >= (uint64_t)a->count;
	return (double)(perf_now_ns() - start_ns) / 1e9 >= a->duration_s;
}

static void perf_create_topic(rd_kafka_t *rk, const struct perf_args *a)
{
	char err[PERF_ERR_BYTES];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(a->topic, (int)a->partitions, -1, err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
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

static int perf_produce(const struct perf_args *a)
{
	char err[PERF_ERR_BYTES];
	rd_kafka_conf_t *conf = perf_conf(a, true);
	rd_kafka_conf_set_dr_msg_cb(conf, perf_on_delivery);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "sluice-perf: %s\n", err);
		return 1;
	}
	if (a->partitions)
		perf_create_topic(rk, a);
	char *payload = malloc((size_t)a->size + 1);
	memset(payload, 'p', (size_t)a->size);
	uint64_t start = perf_now_ns(), last = start, sent = 0;
	while (!perf_done(a, sent, start)) {
		uint64_t intended = a->rate > 0 ? start + (uint64_t)((double)sent * 1e9 / a->rate) : perf_now_ns();
		while (a->rate > 0 && perf_now_ns() < intended)
			rd_kafka_poll(rk, 0);
		char key[PERF_KEY_BYTES];
		int klen = a->keys ? snprintf(key, sizeof(key), "k%" PRIu64, sent % (uint64_t)a->keys) : 0;
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_VALUE(payload, (size_t)a->size),
			RD_KAFKA_V_KEY(klen ? key : NULL, (size_t)klen),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)intended),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rd_kafka_poll(rk, 1);
			continue;
		}
		if (e) {
			fprintf(stderr, "sluice-perf: produce: %s\n", rd_kafka_err2str(e));
			perf_stats.errors++;
			break;
		}
		sent++;
		rd_kafka_poll(rk, 0);
		perf_progress(start, &last, true);
	}
	rd_kafka_flush(rk, PERF_FLUSH_MS);
	perf_stats.seconds = (double)(perf_now_ns() - start) / 1e9;
	perf_stats.errors += rd_kafka_outq_len(rk);
	rd_kafka_destroy(rk);
	free(payload);
	return 0;
}

static int perf_consume(const struct perf_args *a)
{
	char err[PERF_ERR_BYTES];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, perf_conf(a, false), err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "sluice-perf: %s\n", err);
		return 1;
	}
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, a->topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	if (rd_kafka_metadata(rk, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
		fprintf(stderr, "sluice-perf: no metadata for topic %s\n", a->topic);
		return 1;
	}
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(parts, a->topic, md->topics[0].partitions[i].id)->offset =
			strcmp(a->from, "earliest") ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	uint64_t start = 0, last = 0;
	while (!perf_done(a, perf_stats.messages, start ? start : perf_now_ns())) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, PERF_POLL_MS);
		if (!m)
			continue;
		if (!m->err) {
			if (!start)
				start = last = perf_now_ns();
			perf_stats.messages++;
			perf_stats.bytes += m->len;
		}
		rd_kafka_message_destroy(m);
		if (start)
			perf_progress(start, &last, false);
	}
	perf_stats.seconds = start ? (double)(perf_now_ns() - start) / 1e9 : 0;
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}

static void perf_report(const struct perf_args *a, FILE *out, bool json)
{
	double s = perf_stats.seconds > 0 ? perf_stats.seconds : 1e-9;
	const double q[] = { 0.5, 0.9, 0.99, 0.999, 0.9999 };
	const char *qn[] = { "p50", "p90", "p99", "p99.9", "p99.99" };
	bool lat = !strcmp(a->mode, "produce");
	if (json) {
		fprintf(out, "{\"mode\":\"%s\",\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
			",\"seconds\":%.3f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"errors\":%" PRIu64,
			a->mode, perf_stats.messages, perf_stats.bytes, s, (double)perf_stats.messages / s,
			(double)perf_stats.bytes / s / 1e6, perf_stats.errors);
		if (lat) {
			fprintf(out, ",\"latency_us\":{");
			for (int i = 0; i < 5; i++)
				fprintf(out, "\"%s\":%" PRIu64 ",", qn[i], histogram_quantile(&perf_stats.latency_us, q[i]));
			fprintf(out, "\"max\":%" PRIu64 "}", perf_stats.latency_us.max);
		}
		fprintf(out, "}\n");
		return;
	}
	fprintf(out, "%s: %" PRIu64 " messages, %" PRIu64 " bytes in %.3f s: %.0f msg/s, %.2f MB/s, %" PRIu64 " errors\n",
		a->mode, perf_stats.messages, perf_stats.bytes, s, (double)perf_stats.messages / s,
		(double)perf_stats.bytes / s / 1e6, perf_stats.errors);
	if (lat) {
		fprintf(out, "latency (send -> delivery report, us):");
		for (int i = 0; i < 5; i++)
			fprintf(out, " %s %" PRIu64, qn[i], histogram_quantile(&perf_stats.latency_us, q[i]));
		fprintf(out, " max %" PRIu64 "\n", perf_stats.latency_us.max);
	}
}

int main(int argc, char **argv)
{
	struct perf_args a;
	perf_parse(argc, argv, &a);
	signal(SIGINT, perf_on_signal);
	signal(SIGTERM, perf_on_signal);
	int rc = !strcmp(a.mode, "produce") ? perf_produce(&a) : perf_consume(&a);
	if (rc != 0)
		return rc;
	perf_report(&a, stdout, false);
	if (a.json) {
		FILE *f = fopen(a.json, "w");
		if (!f) {
			fprintf(stderr, "sluice-perf: --json %s: %s\n", a.json, strerror(errno));
			return 1;
		}
		perf_report(&a, f, true);
		fclose(f);
	}
	return perf_stats.errors ? 1 : 0;
}
