/* Prometheus text rendering of every shard's counters. */
#include "core/net/metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "core/broker.h"
#include "core/meta/metadata_image.h"
#include "core/net/request.h"
#include "core/shard/shard.h"

struct metrics_out {
	char *buf;
	size_t cap;
	size_t len;
};

static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	if (o->len >= o->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap;
}

/* One counter: HELP, TYPE, then a sample per shard. */
static void metrics_counter(struct metrics_out *o, struct broker *b, const char *name,
			    const char *help, size_t field_offset)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (uint32_t i = 0; i < b->shard_count; i++) {
		char *base = (char *)&b->shards[i].metrics;
		uint64_t v = METRIC_READ(*(uint64_t *)(base + field_offset));
		metrics_printf(o, "%s{shard=\"%u\"} %llu\n", name, i, (unsigned long long)v);
	}
}

#define METRICS_COUNTER(o, b, field, help) \
	metrics_counter(o, b, "sluice_" #field "_total", help, offsetof(struct shard_metrics, field))

/* Partitions placed on each io shard, from the metadata image. */
static void metrics_partitions(struct metrics_out *o, struct broker *b)
{
	metrics_printf(o, "# HELP sluice_partitions Partitions owned by each io shard.\n"
			  "# TYPE sluice_partitions gauge\n");
	struct metadata_image *im = metadata_current(b);
	for (uint32_t k = 0; k < b->io_shards; k++) {
		uint64_t n = 0;
		for (size_t i = 0; i < im->topic_count; i++)
			for (int32_t p = 0; p < im->topics[i]->partition_count; p++)
				n += im->topics[i]->partitions[p].shard == k;
		metrics_printf(o, "sluice_partitions{shard=\"%u\"} %llu\n", k, (unsigned long long)n);
	}
}

size_t metrics_render(struct broker *b, char *buf, size_t cap)
{
	struct metrics_out o = { buf, cap, 0 };
	METRICS_COUNTER(&o, b, connections_accepted, "Client connections accepted.");
	METRICS_COUNTER(&o, b, connections_closed, "Client connections closed.");
	METRICS_COUNTER(&o, b, request_errors, "Connections closed for a malformed request.");
	METRICS_COUNTER(&o, b, produce_bytes, "Record batch bytes appended by Produce.");
	METRICS_COUNTER(&o, b, produce_batches, "Record batches appended by Produce.");
	METRICS_COUNTER(&o, b, fetch_bytes_zero_copy,
			"Log bytes sent to consumers by splice, never entering user space.");
	METRICS_COUNTER(&o, b, fetch_bytes_copied,
			"Log bytes sent to consumers from user-space buffers.");
	METRICS_COUNTER(&o, b, response_bytes, "Response bytes written to sockets.");
	METRICS_COUNTER(&o, b, requests_forwarded,
			"Requests this shard received and handed whole to the control shard (shard 0).");
	METRICS_COUNTER(&o, b, shard_calls,
			"Parts of requests this shard sent to the io shards that own their partitions.");
	METRICS_COUNTER(&o, b, receive_pauses,
			"Times a connection stopped being read because of queued.max.request.bytes.");
	metrics_printf(&o, "# HELP sluice_requests_total Requests received, by API.\n"
			   "# TYPE sluice_requests_total counter\n");
	size_t n;
	const struct api_entry *apis = api_entries(&n);
	for (size_t k = 0; k < n; k++) {
		uint64_t v = 0;
		for (uint32_t i = 0; i < b->shard_count; i++)
			v += METRIC_READ(b->shards[i].metrics.requests[apis[k].key]);
		metrics_printf(&o, "sluice_requests_total{api=\"%s\"} %llu\n", apis[k].name,
			       (unsigned long long)v);
	}
	metrics_printf(&o, "# HELP sluice_shards Shards (threads) of this broker.\n"
			   "# TYPE sluice_shards gauge\nsluice_shards %u\n", b->shard_count);
	metrics_printf(&o, "# HELP sluice_shard_info The core layout: each shard's CPU and roles.\n"
			   "# TYPE sluice_shard_info gauge\n");
	for (uint32_t i = 0; i < b->shard_count; i++)
		metrics_printf(&o, "sluice_shard_info{shard=\"%u\",cpu=\"%d\",network=\"%s\",io=\"%s\"} 1\n",
			       i, b->shards[i].cpu, b->shards[i].network ? "true" : "false",
			       b->shards[i].io ? "true" : "false");
	metrics_printf(&o, "# HELP sluice_topics Topics.\n# TYPE sluice_topics gauge\n"
			   "sluice_topics %zu\n", b->topics.count);
	metrics_partitions(&o, b);
	return o.len;
}
