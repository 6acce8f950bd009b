/* Prometheus text rendering of every shard's counters, the core layout, topics
 * and partitions; the log layer's figures come from metrics_log.c. */
#include "core/net/metrics.h"
#include "core/net/metrics_out.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/meta/metadata_image.h"
#include "core/meta/topic_registry.h"
#include "core/meta/topics.h"
#include "core/net/conn.h"
#include "core/net/net.h"
#include "core/net/request.h"
#include "core/shard/shard.h"

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

/* Partitions placed on each io shard, from the metadata image. */
static void metrics_partitions(struct metrics_out *o, struct runtime *rt)
{
	metrics_printf(o, "# HELP sluice_partitions Partitions owned by each io shard.\n"
			  "# TYPE sluice_partitions gauge\n");
	struct metadata_image *im = metadata_current(rt);
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		uint64_t n = 0;
		for (size_t i = 0; i < im->topic_count; i++)
			for (int32_t p = 0; p < im->topics[i]->partition_count; p++)
				n += im->topics[i]->partitions[p].shard == k;
		metrics_printf(o, "sluice_partitions{shard=\"%u\"} %llu\n", k, (unsigned long long)n);
	}
}

size_t metrics_render(struct runtime *rt, char *buf, size_t cap)
{
	struct metrics_out o = { buf, cap, 0 };
	METRICS_COUNTER(&o, rt, connections_accepted, "Client connections accepted.");
	METRICS_COUNTER(&o, rt, connections_closed, "Client connections closed.");
	METRICS_COUNTER(&o, rt, request_errors, "Connections closed for a malformed request.");
	METRICS_COUNTER(&o, rt, produce_bytes, "Record batch bytes appended by Produce.");
	METRICS_COUNTER(&o, rt, produce_batches, "Record batches appended by Produce.");
	METRICS_COUNTER(&o, rt, produce_duplicates,
			"Idempotent batches already in the log, answered with their offsets, not written again.");
	METRICS_COUNTER(&o, rt, produce_sequence_errors,
			"Idempotent batches refused for their sequence number or producer epoch.");
	METRICS_COUNTER(&o, rt, fetch_bytes_zero_copy,
			"Log bytes sent to consumers by splice, never entering user space.");
	METRICS_COUNTER(&o, rt, fetch_bytes_copied,
			"Log bytes sent to consumers from user-space buffers.");
	METRICS_COUNTER(&o, rt, fetch_splices_offloaded,
			"File-to-pipe splices of fetched log bytes run in io_uring's workers because "
			"their pages were not in the page cache (the others run on the shard's loop).");
	METRICS_COUNTER(&o, rt, response_bytes, "Response bytes written to sockets.");
	METRICS_COUNTER(&o, rt, requests_forwarded,
			"Requests this shard received and handed whole to the control shard (shard 0).");
	metrics_printf(&o, "# HELP sluice_shard_calls_total Parts of requests this shard sent to "
			   "the io shards that own their partitions.\n"
			   "# TYPE sluice_shard_calls_total counter\n");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(&o, "sluice_shard_calls_total{shard=\"%u\"} %llu\n", i,
			       (unsigned long long)SHARD_COUNTER_READ(rt->shards[i].calls_started));
	METRICS_COUNTER(&o, rt, receive_pauses,
			"Times a connection stopped being read because of queued.max.request.bytes.");
	metrics_printf(&o, "# HELP sluice_requests_total Requests received, by API.\n"
			   "# TYPE sluice_requests_total counter\n");
	const struct api_table *apis = net_of(rt)->apis;
	for (size_t k = 0; k < apis->count; k++) {
		assert(apis->entries[k].key >= 0 && apis->entries[k].key < METRICS_API_KEYS);
		uint64_t v = 0;
		for (uint32_t i = 0; i < rt->shard_count; i++)
			v += METRIC_READ(conn_shard_of(&rt->shards[i])->metrics.requests[apis->entries[k].key]);
		metrics_printf(&o, "sluice_requests_total{api=\"%s\"} %llu\n", apis->entries[k].name,
			       (unsigned long long)v);
	}
	metrics_printf(&o, "# HELP sluice_shards Shards (threads) of this broker.\n"
			   "# TYPE sluice_shards gauge\nsluice_shards %u\n", rt->shard_count);
	metrics_printf(&o, "# HELP sluice_shard_info The core layout: each shard's CPU and roles.\n"
			   "# TYPE sluice_shard_info gauge\n");
	for (uint32_t i = 0; i < rt->shard_count; i++)
		metrics_printf(&o, "sluice_shard_info{shard=\"%u\",cpu=\"%d\",network=\"%s\",io=\"%s\"} 1\n",
			       i, rt->shards[i].cpu, rt->shards[i].network ? "true" : "false",
			       rt->shards[i].io ? "true" : "false");
	metrics_printf(&o, "# HELP sluice_topics Topics.\n# TYPE sluice_topics gauge\n"
			   "sluice_topics %zu\n", topics_registry(rt)->count);
	metrics_partitions(&o, rt);
	metrics_log_render(&o, rt);
	metrics_txn_render(&o, rt);
	return o.len;
}
