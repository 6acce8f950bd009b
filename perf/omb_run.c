/* sluice-perf omb: runs an OpenMessaging Benchmark workload (omb_workload.h)
 * against the broker with librdkafka clients, one thread each: the topics
 * are created, each subscription is a consumer group of
 * consumerPerSubscription consumers, and once every group has all of its
 * partitions assigned, topics x producersPerTopic producers share
 * producerRate. producerRate 0 asks, as in OpenMessaging Benchmark, for the
 * highest rate the broker sustains: the workload then runs once per rate of
 * sweep's series from OMB_SEARCH_FROM_RATE up (fresh topics each time), until
 * a rate is not sustained by sweep's rule (sweep_rule.h), and the figures are
 * those of the highest sustained rate. The warm-up is not
 * counted: the figures are the messages whose intended send time (publish)
 * or arrival (consume) falls in the test window. Publish latency is the
 * delivery report minus the intended send time, end-to-end latency the
 * arrival minus the intended send time stamped in the payload, both free of
 * coordinated omission as in e2e. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "omb_workload.h"
#include "perf.h"
#include "rdkafka_client.h"
#include "run.h"
#include "sweep_rule.h"

enum {
	OMB_ASSIGN_WAIT_MS = 30000, /* for every group to have its partitions */
	OMB_POLL_MS = 100,
	OMB_FLUSH_MS = 30000,
	OMB_NAME_BYTES = 256,       /* topic and group names */
	OMB_PATH_BYTES = 4096,
	OMB_SEARCH_FROM_RATE = 1000, /* msg/s, the search's first rate, as sweep's */
	OMB_SEARCH_STEPS_MAX = 40,   /* 1000 x the series' 1.5-2x steps reach PERF_RATE_MAX sooner */
};

/* The test window, set once the groups are assigned; until then nothing
 * counts and the consumers keep polling. */
struct omb_window {
	_Atomic uint64_t measure_ns;
	_Atomic uint64_t end_ns;
};

struct omb_producer {
	pthread_t th;
	rd_kafka_t *rk;
	char topic[OMB_NAME_BYTES];
	double rate;             /* msg/s */
	const char *payload;
	long size;
	struct omb_window *win;
	/* written by librdkafka's background thread until the flush returns */
	struct histogram latency_us;
	uint64_t messages, bytes, errors;
};

struct omb_consumer {
	pthread_t th;
	rd_kafka_t *rk;
	struct omb_window *win;
	atomic_int assigned;     /* partitions assigned at the last look */
	struct histogram latency_us;
	uint64_t messages, bytes;
};

static void omb_on_delivery(rd_kafka_t *rk, rd_kafka_event_t *ev, void *opaque)
{
	(void)rk;
	struct omb_producer *p = opaque;
	if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DR) {
		uint64_t now = perf_now_ns(), from = atomic_load(&p->win->measure_ns),
			 to = atomic_load(&p->win->end_ns);
		for (const rd_kafka_message_t *m; (m = rd_kafka_event_message_next(ev));) {
			uint64_t intended = (uint64_t)(uintptr_t)m->_private;
			if (m->err)
				p->errors++;
			else if (intended >= from && intended < to) {
				histogram_record(&p->latency_us, now > intended ? (now - intended) / 1000 : 0);
				p->messages++;
				p->bytes += m->len;
			}
		}
	}
	rd_kafka_event_destroy(ev);
}

/* Sends from `start_ns` to the window's end at the producer's rate. */
static void *omb_produce(void *arg)
{
	struct omb_producer *p = arg;
	char *payload = malloc((size_t)p->size);
	memcpy(payload, p->payload, (size_t)p->size);
	uint64_t start = perf_now_ns(), end = atomic_load(&p->win->end_ns), sent = 0;
	while (!perf_stop) {
		uint64_t intended = start + (uint64_t)((double)sent * 1e9 / p->rate);
		if (intended >= end)
			break;
		perf_sleep_until(intended);
		memcpy(payload, &intended, sizeof(intended));
		rd_kafka_resp_err_t e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(p->topic),
							  RD_KAFKA_V_VALUE(payload, (size_t)p->size),
							  RD_KAFKA_V_OPAQUE((void *)(uintptr_t)intended),
							  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			perf_sleep_until(perf_now_ns() + 1000000);
			continue;
		}
		if (e) {
			fprintf(stderr, "sluice-perf: omb produce to %s: %s\n", p->topic, rd_kafka_err2str(e));
			break;
		}
		sent++;
	}
	if (rd_kafka_flush(p->rk, OMB_FLUSH_MS))
		p->errors += (uint64_t)rd_kafka_outq_len(p->rk);
	free(payload);
	return NULL;
}

static void *omb_consume(void *arg)
{
	struct omb_consumer *c = arg;
	uint64_t looked = 0;
	for (;;) {
		uint64_t now = perf_now_ns();
		if (perf_stop || now >= atomic_load(&c->win->end_ns))
			break;
		if (now - looked > (uint64_t)OMB_POLL_MS * 1000000) {
			rd_kafka_topic_partition_list_t *parts = NULL;
			if (!rd_kafka_assignment(c->rk, &parts) && parts) {
				atomic_store(&c->assigned, parts->cnt);
				rd_kafka_topic_partition_list_destroy(parts);
			}
			looked = now;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, OMB_POLL_MS);
		if (!m)
			continue;
		now = perf_now_ns();
		if (!m->err && m->len >= sizeof(uint64_t) && now >= atomic_load(&c->win->measure_ns)) {
			uint64_t sent;
			memcpy(&sent, m->payload, sizeof(sent));
			histogram_record(&c->latency_us, now > sent ? (now - sent) / 1000 : 0);
			c->messages++;
			c->bytes += m->len;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c->rk);
	return NULL;
}

/* The message body: payloadFile's first messageSize bytes (the path taken
 * beside the workload file first, then as given), or filler. */
static char *omb_payload(const struct omb_workload *w, const char *workload_path)
{
	char *buf = malloc((size_t)w->message_size);
	memset(buf, 'p', (size_t)w->message_size);
	if (!w->payload_file[0])
		return buf;
	char dir[OMB_PATH_BYTES], path[OMB_PATH_BYTES * 2];
	snprintf(dir, sizeof(dir), "%s", workload_path);
	snprintf(path, sizeof(path), "%s/%s", dirname(dir), w->payload_file);
	FILE *f = fopen(w->payload_file[0] == '/' ? w->payload_file : path, "rb");
	if (!f)
		f = fopen(w->payload_file, "rb");
	size_t got = f ? fread(buf, 1, (size_t)w->message_size, f) : 0;
	if (f)
		fclose(f);
	if (got < (size_t)w->message_size) {
		fprintf(stderr, "sluice-perf: payloadFile %s: %s\n", w->payload_file,
			f ? "shorter than messageSize" : strerror(errno));
		free(buf);
		return NULL;
	}
	return buf;
}

struct omb_run {
	const struct perf_args *a;
	struct omb_workload w;
	char prefix[OMB_NAME_BYTES / 2];
	struct omb_window win;
	struct omb_producer *producers;
	struct omb_consumer *consumers;
	int producer_count, consumer_count;
	const char *payload;
	double rate; /* msg/s over all producers */
};

static void omb_topic_name(const struct omb_run *r, long t, char *out, size_t n)
{
	snprintf(out, n, "%s-%ld", r->prefix, t);
}

/* Creates the topics and checks each has partitionsPerTopic partitions. */
static int omb_create_topics(struct omb_run *r)
{
	rd_kafka_t *admin = perf_client_new(RD_KAFKA_PRODUCER, perf_producer_conf(r->a));
	if (!admin)
		return -1;
	int rc = 0;
	for (long t = 0; t < r->w.topics && rc == 0; t++) {
		char name[OMB_NAME_BYTES];
		omb_topic_name(r, t, name, sizeof(name));
		struct perf_args ta = *r->a;
		ta.topic = name;
		ta.partitions = r->w.partitions_per_topic;
		perf_create_topic(admin, &ta);
		int n = perf_topic_partition_count(admin, name);
		if (n != r->w.partitions_per_topic) {
			fprintf(stderr, "sluice-perf: topic %s has %d partitions, not %ld\n", name, n,
				r->w.partitions_per_topic);
			rc = -1;
		}
	}
	rd_kafka_destroy(admin);
	return rc;
}

static int omb_start_consumers(struct omb_run *r)
{
	int i = 0;
	for (long t = 0; t < r->w.topics; t++)
		for (long s = 0; s < r->w.subscriptions_per_topic; s++)
			for (long k = 0; k < r->w.consumer_per_subscription; k++, i++) {
				char topic[OMB_NAME_BYTES], group[OMB_NAME_BYTES + 32];
				omb_topic_name(r, t, topic, sizeof(topic));
				snprintf(group, sizeof(group), "%s-sub-%ld", topic, s);
				struct perf_args ca = *r->a;
				ca.group = group;
				struct omb_consumer *c = &r->consumers[i];
				c->win = &r->win;
				c->rk = perf_client_new(RD_KAFKA_CONSUMER, perf_consumer_conf(&ca));
				if (!c->rk)
					return -1;
				rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
				rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
				rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
				rd_kafka_topic_partition_list_destroy(sub);
				if (e || pthread_create(&c->th, NULL, omb_consume, c) != 0) {
					fprintf(stderr, "sluice-perf: consumer of %s: %s\n", topic,
						e ? rd_kafka_err2str(e) : "no thread");
					rd_kafka_destroy(c->rk);
					c->rk = NULL;
					return -1;
				}
				r->consumer_count = i + 1;
			}
	return 0;
}

/* Waits until every subscription's consumers together hold all partitions. */
static int omb_wait_assigned(struct omb_run *r)
{
	uint64_t deadline = perf_now_ns() + (uint64_t)OMB_ASSIGN_WAIT_MS * 1000000;
	long per_group = r->w.consumer_per_subscription;
	while (!perf_stop && perf_now_ns() < deadline) {
		bool all = true;
		for (int g = 0; per_group && g < r->consumer_count / per_group && all; g++) {
			long held = 0;
			for (long k = 0; k < per_group; k++)
				held += atomic_load(&r->consumers[g * per_group + k].assigned);
			all = held == r->w.partitions_per_topic;
		}
		if (all)
			return 0;
		perf_sleep_until(perf_now_ns() + (uint64_t)OMB_POLL_MS * 1000000);
	}
	fprintf(stderr, "sluice-perf: the consumer groups did not get their partitions in %d ms\n",
		OMB_ASSIGN_WAIT_MS);
	return -1;
}

static int omb_start_producers(struct omb_run *r)
{
	r->producer_count = (int)(r->w.topics * r->w.producers_per_topic);
	for (int i = 0; i < r->producer_count; i++) {
		struct omb_producer *p = &r->producers[i];
		omb_topic_name(r, i / r->w.producers_per_topic, p->topic, sizeof(p->topic));
		p->rate = r->rate / r->producer_count;
		p->payload = r->payload;
		p->size = r->w.message_size;
		p->win = &r->win;
		rd_kafka_conf_t *conf = perf_producer_conf(r->a);
		rd_kafka_conf_set_opaque(conf, p);
		p->rk = perf_producer_new_dr_events(conf, omb_on_delivery);
		if (!p->rk)
			return -1;
	}
	for (int i = 0; i < r->producer_count; i++)
		if (pthread_create(&r->producers[i].th, NULL, omb_produce, &r->producers[i]) != 0)
			abort(); /* our threads, a handful: a refusal here is the machine's, not a figure */
	return 0;
}

static void omb_latency(FILE *out, bool json, const char *key, const char *what, const struct histogram *h)
{
	static const double q[] = { 0.5, 0.75, 0.95, 0.99, 0.999, 0.9999 };
	static const char *const jn[] = { "50pct", "75pct", "95pct", "99pct", "999pct", "9999pct" };
	static const char *const tn[] = { "p50", "p75", "p95", "p99", "p99.9", "p99.99" };
	if (!json)
		fprintf(out, "%s latency (ms):", what);
	for (int i = 0; i < 6; i++) {
		double ms = (double)histogram_quantile(h, q[i]) / 1000;
		if (json)
			fprintf(out, ",\"%s%s\":%.3f", key, jn[i], ms);
		else
			fprintf(out, " %s %.3f", tn[i], ms);
	}
	if (json)
		fprintf(out, ",\"%sMax\":%.3f", key, (double)h->max / 1000);
	else
		fprintf(out, " max %.3f\n", (double)h->max / 1000);
}

/* `s` as a JSON string: quotes and backslashes escaped, control bytes
 * (which the parser never lets through) dropped. */
static void omb_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, out);
	}
	fputc('"', out);
}

/* OMB's figures: rates over the test window and the two latencies. */
static void omb_report(const struct omb_run *r, FILE *out, bool json, double window_s,
		       const struct histogram *pub, const struct histogram *e2e, uint64_t pub_msgs,
		       uint64_t pub_bytes, uint64_t con_msgs, uint64_t con_bytes, uint64_t errors)
{
	const struct omb_workload *w = &r->w;
	if (json) {
		fputs("{\"workload\":", out);
		omb_json_string(out, w->name);
		fprintf(out, ",\"topics\":%ld,\"partitions\":%ld,\"messageSize\":%ld,"
			"\"producers\":%d,\"consumers\":%d,\"testSeconds\":%.3f,\"publishRate\":%.1f,"
			"\"publishMBps\":%.3f,\"consumeRate\":%.1f,\"consumeMBps\":%.3f,\"errors\":%" PRIu64,
			w->topics, w->partitions_per_topic, w->message_size, r->producer_count,
			r->consumer_count, window_s, (double)pub_msgs / window_s, (double)pub_bytes / window_s / 1e6,
			(double)con_msgs / window_s, (double)con_bytes / window_s / 1e6, errors);
		omb_latency(out, true, "aggregatedPublishLatency", NULL, pub);
		omb_latency(out, true, "aggregatedEndToEndLatency", NULL, e2e);
		fprintf(out, "}\n");
		return;
	}
	fprintf(out, "omb: %s: %ld topics x %ld partitions, %d producers, %ld subscriptions x %ld consumers per topic, %ld B\n",
		w->name, w->topics, w->partitions_per_topic, r->producer_count, w->subscriptions_per_topic,
		w->consumer_per_subscription, w->message_size);
	fprintf(out, "publish rate %.1f msg/s %.3f MB/s | consume rate %.1f msg/s %.3f MB/s | %.1f s measured, %" PRIu64 " errors\n",
		(double)pub_msgs / window_s, (double)pub_bytes / window_s / 1e6, (double)con_msgs / window_s,
		(double)con_bytes / window_s / 1e6, window_s, errors);
	omb_latency(out, false, NULL, "publish", pub);
	omb_latency(out, false, NULL, "end-to-end", e2e);
}

/* Ends a run that could not start: the window closes now, the consumers
 * leave, and the producers made so far are destroyed. */
static void omb_abandon(struct omb_run *r)
{
	atomic_store(&r->win.end_ns, 0);
	for (int i = 0; i < r->consumer_count; i++) {
		pthread_join(r->consumers[i].th, NULL);
		rd_kafka_destroy(r->consumers[i].rk);
	}
	for (int i = 0; i < r->producer_count; i++)
		if (r->producers[i].rk)
			rd_kafka_destroy(r->producers[i].rk);
}

/* One run's figures over its test window. */
struct omb_figures {
	struct histogram pub, e2e;
	uint64_t pub_msgs, pub_bytes, con_msgs, con_bytes, errors;
	double window_s;
};

/* Joins every thread and merges their figures into `f`. */
static void omb_collect(struct omb_run *r, double window_s, struct omb_figures *f)
{
	memset(f, 0, sizeof(*f));
	f->window_s = window_s;
	for (int i = 0; i < r->producer_count; i++) {
		struct omb_producer *p = &r->producers[i];
		pthread_join(p->th, NULL);
		histogram_merge(&f->pub, &p->latency_us);
		f->pub_msgs += p->messages;
		f->pub_bytes += p->bytes;
		f->errors += p->errors;
		rd_kafka_destroy(p->rk);
	}
	for (int i = 0; i < r->consumer_count; i++) {
		struct omb_consumer *c = &r->consumers[i];
		pthread_join(c->th, NULL);
		histogram_merge(&f->e2e, &c->latency_us);
		f->con_msgs += c->messages;
		f->con_bytes += c->bytes;
		rd_kafka_destroy(c->rk);
	}
}

/* Reports `f` on stdout and in --json; 1 when it had errors. */
static int omb_output(const struct omb_run *r, const struct omb_figures *f)
{
	omb_report(r, stdout, false, f->window_s, &f->pub, &f->e2e, f->pub_msgs, f->pub_bytes, f->con_msgs,
		   f->con_bytes, f->errors);
	int rc = f->errors ? 1 : 0;
	if (r->a->json) {
		FILE *out = fopen(r->a->json, "w");
		if (out) {
			omb_report(r, out, true, f->window_s, &f->pub, &f->e2e, f->pub_msgs, f->pub_bytes,
				   f->con_msgs, f->con_bytes, f->errors);
			fclose(out);
		} else {
			fprintf(stderr, "sluice-perf: --json %s: %s\n", r->a->json, strerror(errno));
			rc = 1;
		}
	}
	return rc;
}

/* The test and warm-up lengths: --minutes sets the test and scales the
 * warm-up alike, --duration-scale multiplies both. */
static void omb_durations(const struct perf_args *a, const struct omb_workload *w, double *test_s, double *warm_s)
{
	double scale = a->duration_scale > 0 ? a->duration_scale : 1;
	if (a->minutes > 0)
		scale = a->minutes / w->test_duration_minutes;
	*test_s = w->test_duration_minutes * 60 * scale;
	*warm_s = w->warmup_duration_minutes * 60 * scale;
}

/* Runs the workload once at `r->rate` on topics named after `r->prefix`
 * into `f`; -1 when it could not start. */
static int omb_once(struct omb_run *r, struct omb_figures *f)
{
	atomic_store(&r->win.measure_ns, UINT64_MAX);
	atomic_store(&r->win.end_ns, UINT64_MAX);
	r->producer_count = r->consumer_count = 0;
	memset(r->producers, 0, OMB_PRODUCERS_MAX * sizeof(*r->producers));
	memset(r->consumers, 0, OMB_CONSUMERS_MAX * sizeof(*r->consumers));
	if (omb_create_topics(r) != 0 || omb_start_consumers(r) != 0 || omb_wait_assigned(r) != 0) {
		omb_abandon(r);
		return -1;
	}
	double test_s, warm_s;
	omb_durations(r->a, &r->w, &test_s, &warm_s);
	uint64_t measure = perf_now_ns() + (uint64_t)(warm_s * 1e9);
	atomic_store(&r->win.measure_ns, measure);
	atomic_store(&r->win.end_ns, measure + (uint64_t)(test_s * 1e9));
	fprintf(stderr, "sluice-perf: omb %s: %.0f msg/s, warm-up %.1f s, test %.1f s on topics %s-*\n", r->w.name,
		r->rate, warm_s, test_s, r->prefix);
	if (omb_start_producers(r) != 0) {
		omb_abandon(r);
		return -1;
	}
	omb_collect(r, test_s, f);
	return 0;
}

/* producerRate 0: runs the workload at sweep's rates from
 * OMB_SEARCH_FROM_RATE until one is not sustained, one line per rate, and
 * reports the highest sustained one (rc 1 when none was). */
static int omb_search(struct omb_run *r, const char *base)
{
	struct omb_figures *step = calloc(1, sizeof(*step)), *best = calloc(1, sizeof(*best));
	double best_rate = 0;
	int rc = 0;
	r->rate = OMB_SEARCH_FROM_RATE;
	for (int i = 0; i < OMB_SEARCH_STEPS_MAX && r->rate <= PERF_RATE_MAX && !perf_stop; i++) {
		snprintf(r->prefix, sizeof(r->prefix), "%s-r%.0f", base, r->rate);
		if (omb_once(r, step) != 0) {
			rc = 1;
			break;
		}
		double pub = (double)step->pub_msgs / step->window_s, con = (double)step->con_msgs / step->window_s;
		bool sustained = sweep_sustained(r->rate, pub, con, step->errors);
		printf("omb search: %.0f msg/s: publish %.1f msg/s, consume %.1f msg/s, %" PRIu64 " errors: %s\n",
		       r->rate, pub, con, step->errors, sustained ? "sustained" : "not sustained");
		if (!sustained)
			break;
		best_rate = r->rate;
		struct omb_figures *t = best;
		best = step;
		step = t;
		r->rate = sweep_next_rate(r->rate);
	}
	if (rc == 0 && best_rate > 0) {
		printf("omb search: maximum sustained rate %.0f msg/s (published and consumed >= %.0f%% of it, nothing lost)\n",
		       best_rate, SWEEP_SUSTAINED_FRACTION * 100);
		r->rate = best_rate;
		rc = omb_output(r, best);
	} else if (rc == 0) {
		printf("omb search: no rate was sustained\n");
		rc = 1;
	}
	free(step);
	free(best);
	return rc;
}

int perf_omb(const struct perf_args *a)
{
	struct omb_run *r = calloc(1, sizeof(*r));
	char err[OMB_ERR_BYTES];
	r->a = a;
	if (omb_workload_load(a->workload, &r->w, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice-perf: %s\n", err);
		free(r);
		return 2;
	}
	char base[OMB_NAME_BYTES / 4];
	if (a->topic)
		snprintf(base, sizeof(base), "%s", a->topic);
	else
		snprintf(base, sizeof(base), "omb-%d-%" PRIu64, (int)getpid(), perf_now_ns() / 1000000);
	r->producers = calloc(OMB_PRODUCERS_MAX, sizeof(*r->producers));
	r->consumers = calloc(OMB_CONSUMERS_MAX, sizeof(*r->consumers));
	char *payload = omb_payload(&r->w, a->workload);
	r->payload = payload;
	int rc = 1;
	if (payload && r->w.producer_rate > 0) {
		struct omb_figures *f = calloc(1, sizeof(*f));
		snprintf(r->prefix, sizeof(r->prefix), "%s", base);
		r->rate = r->w.producer_rate;
		if (omb_once(r, f) == 0)
			rc = omb_output(r, f);
		free(f);
	} else if (payload) {
		rc = omb_search(r, base);
	}
	free(payload);
	free(r->producers);
	free(r->consumers);
	free(r);
	return rc;
}
