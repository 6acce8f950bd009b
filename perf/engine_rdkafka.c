/* The rdkafka engine: produce, consume (by assignment or in a group) and
 * end-to-end latency with librdkafka, a client users actually run. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "perf.h"
#include "rdkafka_client.h"
#include "run.h"

enum {
	PERF_POLL_MS = 100,
	PERF_FLUSH_MS = 60000,
	PERF_KEY_BYTES = 32,
	E2E_GRACE_MS = 10000,       /* how long the consumer waits after the last send */
};

static const char E2E_ACK_WHAT[] = "produce ack: intended send -> delivery report";

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		perf_stats.errors++;
		return;
	}
	if (perf_stats.latency_what) {
		uint64_t intended_ns = (uint64_t)(uintptr_t)m->_private;
		histogram_record(&perf_stats.latency_us, (perf_now_ns() - intended_ns) / 1000);
	}
	perf_stats.messages++;
	perf_stats.bytes += m->len;
}

/* The e2e producer's delivery reports arrive as events on librdkafka's
 * background thread, which serves them as soon as the broker's answer is
 * in: on the producing thread they would wait until its next send (up to
 * 1 ms at 1000 msg/s) and that wait would be timed as produce-ack latency.
 * That thread is the only one that writes perf_stats until the flush has
 * waited for every report. */
static void on_delivery_event(rd_kafka_t *rk, rd_kafka_event_t *ev, void *opaque)
{
	if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DR)
		for (const rd_kafka_message_t *m; (m = rd_kafka_event_message_next(ev));)
			on_delivery(rk, m, opaque);
	rd_kafka_event_destroy(ev);
}

/* Serves delivery reports for up to `ms` on this thread; with `events` the
 * background thread serves them (and a poll here would drop them), so this
 * only waits. */
static void produce_serve(rd_kafka_t *rk, int ms, bool events)
{
	if (!events)
		rd_kafka_poll(rk, ms);
	else if (ms > 0)
		nanosleep(&(struct timespec){ .tv_nsec = (long)ms * 1000000 }, NULL);
}

/* Sleeps until the intended send time, serving delivery reports meanwhile
 * unless `events`. Spinning instead would take a whole core from the broker
 * and the client's own threads, which on a small machine is what the tail
 * latency measured. */
static void perf_pace_until(rd_kafka_t *rk, uint64_t intended, bool events)
{
	produce_serve(rk, 0, events);
	perf_sleep_until(intended);
}

/* Sends at --rate (or as fast as the client takes them) until the run is over;
 * with `stamp` the payload starts with the intended send time, delivery
 * reports are served on the background thread (on_delivery_event), and the
 * progress line is left to the e2e consumer, which has the latencies. */
static void produce_loop(rd_kafka_t *rk, const struct perf_args *a, bool stamp)
{
	char *payload = malloc((size_t)a->size + 1);
	memset(payload, 'p', (size_t)a->size);
	uint64_t start = perf_now_ns(), last = start, sent = 0;
	perf_stats.start_ns = start;
	while (!perf_done(a, sent, start)) {
		uint64_t intended = a->rate > 0 ? start + (uint64_t)((double)sent * 1e9 / a->rate) : perf_now_ns();
		if (a->rate > 0)
			perf_pace_until(rk, intended, stamp);
		if (stamp)
			memcpy(payload, &intended, sizeof(intended));
		char key[PERF_KEY_BYTES];
		int klen = a->keys ? snprintf(key, sizeof(key), "k%" PRIu64, sent % (uint64_t)a->keys) : 0;
		rd_kafka_headers_t *hdrs = NULL;
		if (a->headers) {
			hdrs = rd_kafka_headers_new((size_t)a->headers);
			for (long h = 0; h < a->headers; h++)
				rd_kafka_header_add(hdrs, "sluice-perf", -1, "header-value", -1);
		}
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_VALUE(payload, (size_t)a->size),
			RD_KAFKA_V_KEY(klen ? key : NULL, (size_t)klen),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)intended),
			RD_KAFKA_V_HEADERS(hdrs),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e && hdrs)
			rd_kafka_headers_destroy(hdrs);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			produce_serve(rk, 1, stamp);
			continue;
		}
		if (e) {
			fprintf(stderr, "sluice-perf: produce: %s\n", rd_kafka_err2str(e));
			perf_stats.errors++;
			break;
		}
		sent++;
		produce_serve(rk, 0, stamp);
		if (!stamp)
			perf_progress(&perf_stats, start, &last);
	}
	rd_kafka_flush(rk, PERF_FLUSH_MS);
	perf_stats.seconds = (double)(perf_now_ns() - start) / 1e9;
	perf_stats.errors += (uint64_t)rd_kafka_outq_len(rk);
	free(payload);
}

int perf_rdkafka_produce(const struct perf_args *a)
{
	rd_kafka_conf_t *conf = perf_producer_conf(a);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_t *rk = perf_client_new(RD_KAFKA_PRODUCER, conf);
	if (!rk)
		return 1;
	if (a->partitions)
		perf_create_topic(rk, a);
	perf_stats.latency_what = "send -> delivery report";
	produce_loop(rk, a, false);
	rd_kafka_destroy(rk);
	return 0;
}

/* Assigns every partition at `offset`, or at its high watermark when
 * `at_end_now` (so that nothing produced after this call is missed). */
static int consumer_assign_all(rd_kafka_t *rk, const char *topic, int64_t offset, bool at_end_now)
{
	int n = perf_topic_partition_count(rk, topic);
	if (n < 0)
		return -1;
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
	for (int i = 0; i < n; i++) {
		int64_t lo = 0, hi = offset;
		if (at_end_now && rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi, PERF_METADATA_MS)) {
			fprintf(stderr, "sluice-perf: no watermarks for %s-%d\n", topic, i);
			rd_kafka_topic_partition_list_destroy(parts);
			return -1;
		}
		rd_kafka_topic_partition_list_add(parts, topic, i)->offset = hi;
	}
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	return 0;
}

/* --rewind: a partition read to its end is read again from its start. The
 * seek is asynchronous (timeout 0): waiting for it stalled the other
 * partitions' reads and, on a loaded machine, timed out; a failed seek comes
 * back as an error from the poll. */
static void consume_rewind(rd_kafka_t *rk, const rd_kafka_message_t *m)
{
	rd_kafka_topic_partition_list_t *p = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(p, rd_kafka_topic_name(m->rkt), m->partition)->offset =
		RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_error_t *e = rd_kafka_seek_partitions(rk, p, 0);
	if (e) {
		fprintf(stderr, "sluice-perf: rewinding: %s\n", rd_kafka_error_string(e));
		perf_stats.errors++;
		rd_kafka_error_destroy(e);
	}
	rd_kafka_topic_partition_list_destroy(p);
}

int perf_rdkafka_consume(const struct perf_args *a)
{
	rd_kafka_conf_t *conf = perf_consumer_conf(a);
	if (a->rewind)
		perf_conf_set(conf, "enable.partition.eof", "true");
	rd_kafka_t *rk = perf_client_new(RD_KAFKA_CONSUMER, conf);
	if (!rk)
		return 1;
	if (a->group) {
		rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(sub, a->topic, RD_KAFKA_PARTITION_UA);
		rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, sub);
		rd_kafka_topic_partition_list_destroy(sub);
		if (e) {
			fprintf(stderr, "sluice-perf: subscribe: %s\n", rd_kafka_err2str(e));
			rd_kafka_destroy(rk);
			return 1;
		}
	} else if (consumer_assign_all(rk, a->topic, strcmp(a->from, "earliest") ? RD_KAFKA_OFFSET_END
										: RD_KAFKA_OFFSET_BEGINNING,
				       false) != 0) {
		rd_kafka_destroy(rk);
		return 1;
	}
	/* Throughput counts from the first message; --duration from launch, so a
	 * topic that stays empty still ends the run. */
	uint64_t launched = perf_now_ns(), start = 0, last = 0;
	while (!perf_done(a, perf_stats.messages, launched)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, PERF_POLL_MS);
		if (!m)
			continue;
		if (!m->err) {
			if (!start)
				start = last = perf_now_ns();
			perf_stats.messages++;
			perf_stats.bytes += m->len;
		} else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && a->rewind) {
			consume_rewind(rk, m);
		}
		rd_kafka_message_destroy(m);
		if (start)
			perf_progress(&perf_stats, start, &last);
	}
	perf_stats.seconds = start ? (double)(perf_now_ns() - start) / 1e9 : 0;
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}

struct e2e_consumer {
	rd_kafka_t *rk;
	_Atomic uint64_t want;       /* lowered to what was delivered once the producer is done */
	atomic_bool producer_done;
	struct perf_stats stats; /* this thread's own: the producer thread never reads it */
};

/* The send time travels as CLOCK_MONOTONIC nanoseconds: producer and consumer
 * share this process (and so one host and one clock), which is what makes the
 * two ends comparable. */
static void *e2e_consume(void *arg)
{
	struct e2e_consumer *c = arg;
	uint64_t idle_since = 0, start = perf_now_ns(), last = start;
	while (c->stats.messages < atomic_load(&c->want) && !perf_stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, PERF_POLL_MS);
		uint64_t now = perf_now_ns();
		perf_progress(&c->stats, start, &last);
		if (!m) {
			if (atomic_load(&c->producer_done) && !idle_since)
				idle_since = now;
			if (idle_since && now - idle_since > (uint64_t)E2E_GRACE_MS * 1000000)
				break;
			continue;
		}
		if (!m->err && m->len >= sizeof(uint64_t)) {
			uint64_t sent;
			memcpy(&sent, m->payload, sizeof(sent));
			histogram_record(&c->stats.latency_us, now > sent ? (now - sent) / 1000 : 0);
			c->stats.last_arrival_ns = now;
			c->stats.messages++;
			c->stats.bytes += m->len;
		}
		rd_kafka_message_destroy(m);
	}
	return NULL;
}

/* Waits until the consumer has reached the end of every partition, so that
 * its connection and first fetches are not counted as latency. */
static int e2e_wait_fetching(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t *assigned = NULL;
	if (rd_kafka_assignment(rk, &assigned) || !assigned)
		return -1;
	int want = assigned->cnt, eofs = 0;
	rd_kafka_topic_partition_list_destroy(assigned);
	uint64_t deadline = perf_now_ns() + (uint64_t)E2E_GRACE_MS * 1000000;
	while (eofs < want && perf_now_ns() < deadline && !perf_stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, PERF_POLL_MS);
		if (!m)
			continue;
		eofs += m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
		rd_kafka_message_destroy(m);
	}
	if (eofs < want)
		fprintf(stderr, "sluice-perf: the e2e consumer did not reach the end of %d of %d partitions\n",
			want - eofs, want);
	return eofs < want ? -1 : 0;
}

int perf_rdkafka_e2e(const struct perf_args *a)
{
	rd_kafka_t *producer = perf_producer_new_dr_events(perf_producer_conf(a), on_delivery_event);
	if (!producer)
		return 1;
	if (a->partitions)
		perf_create_topic(producer, a);
	/* One unmeasured message first: the producer learns the partition
	 * leaders and connects before the clock starts. */
	char *warm = calloc(1, (size_t)a->size + 1);
	rd_kafka_resp_err_t werr = warm ? rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(a->topic),
							     RD_KAFKA_V_VALUE(warm, (size_t)a->size),
							     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
							     RD_KAFKA_V_END)
					: RD_KAFKA_RESP_ERR__FAIL;
	free(warm);
	if (werr || rd_kafka_flush(producer, PERF_FLUSH_MS)) {
		fprintf(stderr, "sluice-perf: the e2e warm-up message was not delivered\n");
		rd_kafka_destroy(producer);
		return 1;
	}
	/* From here on the delivery reports time the produce ack from the
	 * intended send time too (on_delivery), the run's second latency. */
	perf_stats = (struct perf_stats){ .latency_what = E2E_ACK_WHAT };
	struct e2e_consumer c = { .want = a->count ? (uint64_t)a->count : UINT64_MAX };
	c.stats.latency_what = "end to end: intended send -> consumer";
	rd_kafka_conf_t *cconf = perf_consumer_conf(a);
	perf_conf_set(cconf, "enable.partition.eof", "true");
	c.rk = perf_client_new(RD_KAFKA_CONSUMER, cconf);
	if (!c.rk || consumer_assign_all(c.rk, a->topic, 0, true) != 0) {
		rd_kafka_destroy(producer);
		if (c.rk)
			rd_kafka_destroy(c.rk);
		return 1;
	}
	if (e2e_wait_fetching(c.rk) != 0) {
		rd_kafka_destroy(c.rk);
		rd_kafka_destroy(producer);
		return 1;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, e2e_consume, &c) != 0) {
		fprintf(stderr, "sluice-perf: cannot start the e2e consumer thread\n");
		rd_kafka_destroy(c.rk);
		rd_kafka_destroy(producer);
		return 1;
	}
	produce_loop(producer, a, true);
	uint64_t sent = perf_stats.messages;
	atomic_store(&c.want, sent);
	atomic_store(&c.producer_done, true);
	pthread_join(th, NULL);
	/* Throughput is the producer's: the consumer's clock started before it. */
	c.stats.seconds = perf_stats.seconds;
	c.stats.start_ns = perf_stats.start_ns;
	c.stats.errors += perf_stats.errors + (sent > c.stats.messages ? sent - c.stats.messages : 0);
	c.stats.second_us = perf_stats.latency_us;
	c.stats.second_what = E2E_ACK_WHAT;
	perf_stats = c.stats;
	rd_kafka_consumer_close(c.rk);
	rd_kafka_destroy(c.rk);
	rd_kafka_destroy(producer);
	return 0;
}
