/* Prometheus text rendering of every shard's counters, requests (counts,
 * refusals, latency), connections, the core layout with each shard's
 * utilisation and mailbox depth, topics' traffic and partitions; the log
 * layer's figures come from metrics_log.c, the groups' from
 * metrics_groups.c, the process's from metrics_process.c. */
#include "core/net/metrics.h"
#include "core/net/metrics_out.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topic_registry.h"
#include "core/meta/topics.h"
#include "core/net/conn.h"
#include "core/net/metrics_topics.h"
#include "core/net/net.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "io/mailbox.h"

/* One counter: HELP, TYPE, then a sample per shard. */
static void metrics_counter(struct metrics_out *o, struct runtime *rt, const char *name,
			    const char *help, size_t field_offset)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		char *base = (char *)&conn_shard_of(&rt->shards[i])->metrics;
		uint64_t v = METRIC_READ(*(uint64_t *)(base + field_offset));
		metrics_printf(o, "%s{shard=\"%u\"} %llu\n", name, i, (unsigned long long)v);
	}
}

#define METRICS_COUNTER(o, rt, field, help) \
	metrics_counter(o, rt, "sluice_" #field "_total", help, offsetof(struct shard_metrics, field))

static void metrics_head(struct metrics_out *o, const char *name, const char *type,
			 const char *help)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

uint64_t metrics_shard_partitions(const struct metadata_image *im, uint32_t k)
{
	uint64_t n = 0;
	for (size_t i = 0; i < im->topic_count; i++)
		for (int32_t p = 0; p < im->topics[i]->partition_count; p++)
			n += im->topics[i]->partitions[p].shard == k;
	return n;
}

uint64_t metrics_offline_partitions(const struct metadata_image *im)
{
	uint64_t n = 0;
	for (size_t i = 0; i < im->topic_count; i++)
		for (int32_t p = 0; p < im->topics[i]->partition_count; p++)
			n += im->topics[i]->partitions[p].log == NULL;
	return n;
}

/* Partitions placed on each io shard, and those the broker cannot serve. */
static void metrics_partitions(struct metrics_out *o, struct runtime *rt)
{
	struct metadata_image *im = metadata_current(rt);
	metrics_head(o, "sluice_partitions", "gauge", "Partitions owned by each io shard.");
	for (uint32_t k = 0; k < rt->io_shards; k++)
		metrics_printf(o, "sluice_partitions{shard=\"%u\"} %llu\n", k,
			       (unsigned long long)metrics_shard_partitions(im, k));
	metrics_head(o, "sluice_offline_partitions", "gauge",
		     "Partitions whose log could not be opened at start (served with "
		     "KAFKA_STORAGE_ERROR).");
	metrics_printf(o, "sluice_offline_partitions %llu\n",
		       (unsigned long long)metrics_offline_partitions(im));
	metrics_head(o, "sluice_under_replicated_partitions", "gauge",
		     "Partitions with fewer in-sync replicas than replicas (a single node has one "
		     "replica per partition: always 0).");
	metrics_printf(o, "sluice_under_replicated_partitions 0\n");
}

/* One topic's figures, in the order of metrics_topics' series. */
enum { METRICS_TOPIC_SERIES = 6 };

static void metrics_topic_figures(struct runtime *rt, const struct topic *t,
				  uint64_t v[METRICS_TOPIC_SERIES])
{
	struct metrics_topic_totals tt;
	metrics_topic_totals(rt, t, &tt);
	uint64_t size = 0;
	for (int32_t p = 0; p < t->partition_count; p++) {
		if (!t->partitions[p].log)
			continue;
		struct log_stats st;
		partition_log_stats(t->partitions[p].log, &st);
		size += st.size_bytes;
	}
	uint64_t all[METRICS_TOPIC_SERIES] = { tt.bytes_in, tt.records_in, tt.bytes_out,
					       tt.records_out, size, (uint64_t)t->partition_count };
	memcpy(v, all, sizeof(all));
}

/* Traffic and size by topic: always per topic, whatever
 * sluice.metrics.partition.level says. */
static void metrics_topics(struct metrics_out *o, struct runtime *rt)
{
	static const struct {
		const char *name, *type, *help;
	} series[METRICS_TOPIC_SERIES] = {
		{ "sluice_topic_bytes_in_total", "counter", "Record batch bytes Produce appended to the topic." },
		{ "sluice_topic_records_in_total", "counter", "Records in the batches Produce appended to the topic." },
		{ "sluice_topic_bytes_out_total", "counter", "Log bytes of the topic that Fetch answered with." },
		{ "sluice_topic_records_out_total", "counter",
		  "Offsets of the topic those fetched bytes carried past their fetch offsets." },
		{ "sluice_topic_log_size_bytes", "gauge", "Bytes of the topic's segments on disk." },
		{ "sluice_topic_partitions", "gauge", "Partitions of the topic." },
	};
	struct metadata_image *im = metadata_current(rt);
	uint64_t (*v)[METRICS_TOPIC_SERIES] = calloc(im->topic_count ? im->topic_count : 1, sizeof(*v));
	if (!v) {
		o->cut = true;
		return;
	}
	for (size_t i = 0; i < im->topic_count; i++)
		metrics_topic_figures(rt, im->topics[i], v[i]);
	for (size_t s = 0; s < METRICS_TOPIC_SERIES; s++) {
		metrics_head(o, series[s].name, series[s].type, series[s].help);
		for (size_t i = 0; i < im->topic_count; i++) {
			const struct topic *t = im->topics[i];
			metrics_printf(o, "%s{topic=\"", series[s].name);
			metrics_put_label(o, t->name, t->name_len);
			metrics_printf(o, "\"} %llu\n", (unsigned long long)v[i][s]);
		}
	}
	free(v);
	metrics_head(o, "sluice_topic_bytes_untracked_total", "counter",
		     "Bytes in or out of topics that found no room in a shard's per-topic table "
		     "(4096 topics per shard).");
	metrics_printf(o, "sluice_topic_bytes_untracked_total %llu\n",
		       (unsigned long long)metrics_topics_untracked(rt));
}

/* Requests by API: counts, errors by Kafka error name, and latency (frame
 * whole to response sent) summed over shards. */
static void metrics_requests(struct metrics_out *o, struct runtime *rt)
{
	const struct api_table *apis = net_of(rt)->apis;
	metrics_head(o, "sluice_requests_total", "counter", "Requests received, by API.");
	for (size_t k = 0; k < apis->count; k++) {
		int16_t key = apis->entries[k].key;
		assert(key >= 0 && key < METRICS_API_KEYS);
		uint64_t v = 0;
		for (uint32_t i = 0; i < rt->shard_count; i++)
			v += METRIC_READ(conn_shard_of(&rt->shards[i])->metrics.requests[key]);
		metrics_printf(o, "sluice_requests_total{api=\"%s\"} %llu\n", apis->entries[k].name,
			       (unsigned long long)v);
	}
	metrics_head(o, "sluice_request_errors_total", "counter",
		     "Error codes other than NONE, by API and Kafka error name: one per error code a "
		     "response carries (per partition, topic, group or resource, and the whole "
		     "response's, as Kafka's ErrorsPerSec counts them), and the request layer's "
		     "refusals: UNSUPPORTED_VERSION for a version sluice does not serve (other APIs "
		     "than ApiVersions close the connection), INVALID_REQUEST for a header or body "
		     "that did not decode (the connection closes). Series appear once counted, "
		     "except those two, which every served API has from the start.");
	for (size_t k = 0; k < apis->count; k++) {
		int16_t key = apis->entries[k].key;
		for (int16_t code = -1; code <= METRICS_ERROR_SLOTS - 2; code++) {
			const char *name = kafka_error_name(code);
			if (!name || code == KERR_NONE)
				continue;
			uint64_t v = 0;
			for (uint32_t i = 0; i < rt->shard_count; i++)
				v += METRIC_READ(conn_shard_of(&rt->shards[i])
							 ->metrics.request_errors[key][metrics_error_slot(code)]);
			bool always = code == KERR_UNSUPPORTED_VERSION || code == KERR_INVALID_REQUEST;
			if (v || always)
				metrics_printf(o, "sluice_request_errors_total{api=\"%s\",error=\"%s\"} "
					       "%llu\n", apis->entries[k].name, name, (unsigned long long)v);
		}
	}
	metrics_head(o, "sluice_request_latency_seconds", "histogram",
		     "Time from a request's last byte received to its response's last byte sent "
		     "(or dropped), by API.");
	for (size_t k = 0; k < apis->count; k++) {
		struct metrics_histogram h = { 0 };
		for (uint32_t i = 0; i < rt->shard_count; i++)
			metrics_histogram_sum(&h, &conn_shard_of(&rt->shards[i])
							   ->metrics.request_latency[apis->entries[k].key]);
		char labels[64];
		snprintf(labels, sizeof(labels), "api=\"%s\"", apis->entries[k].name);
		metrics_histogram_render(o, "sluice_request_latency_seconds", labels, &h);
	}
	metrics_head(o, "sluice_request_queue_seconds", "histogram",
		     "Time from a request's last byte received to its handler's start, by the shard "
		     "running the handler (includes the mailbox wait of a request sent to "
		     "another shard).");
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		struct metrics_histogram h = { 0 };
		metrics_histogram_sum(&h, &conn_shard_of(&rt->shards[i])->metrics.request_queue);
		char labels[32];
		snprintf(labels, sizeof(labels), "shard=\"%u\"", i);
		metrics_histogram_render(o, "sluice_request_queue_seconds", labels, &h);
	}
}

/* Open connections by shard and by the client software they named. */
static void metrics_connections(struct metrics_out *o, struct runtime *rt)
{
	metrics_head(o, "sluice_connections", "gauge", "Client connections open, by shard.");
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		const struct shard_metrics *m = &conn_shard_of(&rt->shards[i])->metrics;
		uint64_t open = METRIC_READ(m->connections_accepted) - METRIC_READ(m->connections_closed);
		metrics_printf(o, "sluice_connections{shard=\"%u\"} %llu\n", i, (unsigned long long)open);
	}
	metrics_head(o, "sluice_connections_by_client", "gauge",
		     "Client connections open, by the client software their ApiVersions (v3+) "
		     "named (KIP-511); at most 32 distinct (name, version) pairs per shard.");
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		const struct shard_metrics *m = &conn_shard_of(&rt->shards[i])->metrics;
		uint32_t n = __atomic_load_n(&m->software_count, __ATOMIC_ACQUIRE);
		for (uint32_t k = 0; k < n; k++) {
			const struct metrics_client_software *e = &m->software[k];
			metrics_printf(o, "sluice_connections_by_client{shard=\"%u\",client_software_name=\"", i);
			metrics_put_label(o, e->name, strlen(e->name));
			metrics_printf(o, "\",client_software_version=\"");
			metrics_put_label(o, e->version, strlen(e->version));
			metrics_printf(o, "\"} %llu\n", (unsigned long long)METRIC_READ(e->connections));
		}
	}
	metrics_head(o, "sluice_connections_by_client_other", "gauge",
		     "Client connections open whose client software found the shard's table of 32 "
		     "pairs full.");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(o, "sluice_connections_by_client_other{shard=\"%u\"} %llu\n", i,
			       (unsigned long long)METRIC_READ(
				       conn_shard_of(&rt->shards[i])->metrics.software_other));
}

void metrics_sample_shards(struct runtime *rt, struct metrics_shard_sample *samples)
{
	uint64_t now = reactor_now_ns();
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		struct metrics_shard_sample *s = &samples[i];
		struct reactor *r = rt->shards[i].reactor;
		uint64_t idle = reactor_idle_ns(r);
		if (s->at_ns == 0) {
			s->at_ns = reactor_created_ns(r);
			s->idle_ns = 0;
		}
		if (now - s->at_ns < METRICS_SAMPLE_MIN_NS)
			continue;
		uint64_t wall = now - s->at_ns;
		uint64_t idle_delta = idle - s->idle_ns < wall ? idle - s->idle_ns : wall;
		s->utilisation = (double)(wall - idle_delta) / (double)wall;
		s->at_ns = now;
		s->idle_ns = idle;
	}
}

double metrics_shard_busy_seconds(struct runtime *rt, uint32_t i)
{
	struct reactor *r = rt->shards[i].reactor;
	uint64_t wall = reactor_now_ns() - reactor_created_ns(r);
	uint64_t idle = reactor_idle_ns(r);
	return (double)(wall > idle ? wall - idle : 0) / 1e9;
}

uint64_t metrics_shard_mailbox_depth(struct runtime *rt, uint32_t i)
{
	if (!rt->mailboxes_ready)
		return 0;
	uint64_t n = 0;
	for (uint32_t from = 0; from < rt->shard_count; from++)
		n += mailbox_pending(&rt->mailboxes[from * rt->shard_count + i]);
	return n;
}

/* The core layout, and each shard's reactor: utilisation and mailboxes. */
static void metrics_shards(struct metrics_out *o, const struct metrics_view *v)
{
	struct runtime *rt = v->rt;
	metrics_printf(o, "# HELP sluice_shards Shards (threads) of this broker.\n"
			  "# TYPE sluice_shards gauge\nsluice_shards %u\n", rt->shard_count);
	metrics_head(o, "sluice_shard_info", "gauge", "The core layout: each shard's CPU and roles.");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(o, "sluice_shard_info{shard=\"%u\",cpu=\"%d\",network=\"%s\",io=\"%s\"} 1\n",
			       i, rt->shards[i].cpu, rt->shards[i].network ? "true" : "false",
			       rt->shards[i].io ? "true" : "false");
	metrics_head(o, "sluice_reactor_busy_seconds_total", "counter",
		     "Time each shard's loop spent not waiting for completions or timers.");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(o, "sluice_reactor_busy_seconds_total{shard=\"%u\"} %.6f\n", i,
			       metrics_shard_busy_seconds(rt, i));
	metrics_head(o, "sluice_reactor_utilization", "gauge",
		     "Busy time over wall time of each shard's loop since the endpoint's previous "
		     "sample (at least 0.2 s before).");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(o, "sluice_reactor_utilization{shard=\"%u\"} %.4f\n", i,
			       v->samples[i].utilisation);
	metrics_head(o, "sluice_shard_mailbox_depth", "gauge",
		     "Messages from other shards waiting in each shard's mailboxes.");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(o, "sluice_shard_mailbox_depth{shard=\"%u\"} %llu\n", i,
			       (unsigned long long)metrics_shard_mailbox_depth(rt, i));
	metrics_printf(o, "# HELP sluice_shard_calls_total Parts of requests this shard sent to "
			  "the io shards that own their partitions.\n"
			  "# TYPE sluice_shard_calls_total counter\n");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(o, "sluice_shard_calls_total{shard=\"%u\"} %llu\n", i,
			       (unsigned long long)SHARD_COUNTER_READ(rt->shards[i].calls_started));
}

void metrics_render(struct metrics_out *o, const struct metrics_view *v)
{
	struct runtime *rt = v->rt;
	METRICS_COUNTER(o, rt, connections_accepted, "Client connections accepted.");
	METRICS_COUNTER(o, rt, connections_closed, "Client connections closed.");
	METRICS_COUNTER(o, rt, requests_unserved_api,
			"Requests for an API key sluice does not serve (the connection closes).");
	METRICS_COUNTER(o, rt, frames_refused,
			"Requests whose size is outside [header, socket.request.max.bytes] (the "
			"connection closes).");
	METRICS_COUNTER(o, rt, produce_bytes, "Record batch bytes appended by Produce.");
	METRICS_COUNTER(o, rt, produce_batches, "Record batches appended by Produce.");
	METRICS_COUNTER(o, rt, produce_duplicates,
			"Idempotent batches already in the log, answered with their offsets, not written again.");
	METRICS_COUNTER(o, rt, produce_sequence_errors,
			"Idempotent batches refused for their sequence number or producer epoch.");
	METRICS_COUNTER(o, rt, fetch_bytes_zero_copy,
			"Log bytes sent to consumers by splice, never entering user space.");
	METRICS_COUNTER(o, rt, fetch_bytes_copied,
			"Log bytes sent to consumers from user-space buffers.");
	METRICS_COUNTER(o, rt, fetch_splices_offloaded,
			"File-to-pipe splices of fetched log bytes run in io_uring's workers because "
			"their pages were not in the page cache (the others run on the shard's loop).");
	METRICS_COUNTER(o, rt, response_bytes, "Response bytes written to sockets.");
	METRICS_COUNTER(o, rt, requests_forwarded,
			"Requests this shard received and handed whole to another shard (the control "
			"shard, or a group's coordinator).");
	METRICS_COUNTER(o, rt, receive_pauses,
			"Times a connection stopped being read because of queued.max.request.bytes.");
	metrics_requests(o, rt);
	metrics_connections(o, rt);
	metrics_shards(o, v);
	metrics_printf(o, "# HELP sluice_topics Topics.\n# TYPE sluice_topics gauge\n"
			  "sluice_topics %zu\n", topics_registry(rt)->count);
	metrics_partitions(o, rt);
	metrics_topics(o, rt);
	metrics_log_render(o, rt);
	metrics_txn_render(o, rt);
	metrics_groups_render(o, v);
	metrics_process_render(o);
}
