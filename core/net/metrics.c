/* Prometheus text rendering of every shard's counters. */
#include "core/net/metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/log/log_flush.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topic_registry.h"
#include "core/meta/topics.h"
#include "core/net/conn.h"
#include "core/net/net.h"
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

#define FLUSH_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* One flush counter per io shard (log_flush.h). */
static void metrics_flush_counter(struct metrics_out *o, struct runtime *rt, const char *name,
				  const char *help, size_t field_offset)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (uint32_t i = 0; i < rt->io_shards; i++) {
		const struct topics_shard *ts = topics_shard_of(&rt->shards[i]);
		if (!ts)
			continue;
		const char *base = (const char *)&ts->flush.stats;
		uint64_t v = FLUSH_READ(*(const uint64_t *)(base + field_offset));
		metrics_printf(o, "%s{shard=\"%u\"} %llu\n", name, i, (unsigned long long)v);
	}
}

#define METRICS_FLUSH_COUNTER(o, rt, name, field, help) \
	metrics_flush_counter(o, rt, name, help, offsetof(struct log_flush_stats, field))

/* The flush policy's fsyncs: counts, what they covered, and their latency
 * as a Prometheus histogram in seconds (cumulative buckets). */
static void metrics_flush(struct metrics_out *o, struct runtime *rt)
{
	METRICS_FLUSH_COUNTER(o, rt, "sluice_log_fsyncs_total", fsyncs,
			      "fdatasyncs of the flush policy (flush.messages, flush.ms) completed.");
	METRICS_FLUSH_COUNTER(o, rt, "sluice_log_fsync_failures_total", fsync_failures,
			      "fdatasyncs of the flush policy that failed (the partition went offline).");
	METRICS_FLUSH_COUNTER(o, rt, "sluice_log_fsync_appends_total", appends,
			      "Appends whose acknowledgement a group-commit fsync released.");
	METRICS_FLUSH_COUNTER(o, rt, "sluice_log_fsync_records_total", records,
			      "Offsets made durable by the flush policy's fsyncs.");
	static const uint64_t bounds_us[LOG_FSYNC_BUCKETS] = LOG_FSYNC_BUCKET_BOUNDS_US;
	const char *name = "sluice_log_fsync_seconds";
	metrics_printf(o, "# HELP %s Latency of the flush policy's fdatasyncs.\n"
			  "# TYPE %s histogram\n", name, name);
	for (uint32_t i = 0; i < rt->io_shards; i++) {
		const struct topics_shard *ts = topics_shard_of(&rt->shards[i]);
		if (!ts)
			continue;
		const struct log_flush_stats *st = &ts->flush.stats;
		uint64_t cumulative = 0;
		for (uint32_t b = 0; b <= LOG_FSYNC_BUCKETS; b++) {
			cumulative += FLUSH_READ(st->latency_buckets[b]);
			if (b < LOG_FSYNC_BUCKETS)
				metrics_printf(o, "%s_bucket{shard=\"%u\",le=\"%g\"} %llu\n", name, i,
					       (double)bounds_us[b] / 1e6, (unsigned long long)cumulative);
			else
				metrics_printf(o, "%s_bucket{shard=\"%u\",le=\"+Inf\"} %llu\n", name, i,
					       (unsigned long long)cumulative);
		}
		metrics_printf(o, "%s_sum{shard=\"%u\"} %.6f\n%s_count{shard=\"%u\"} %llu\n", name, i,
			       (double)FLUSH_READ(st->latency_us_sum) / 1e6, name, i,
			       (unsigned long long)cumulative);
	}
	const struct log_space *sp = &topics_registry(rt)->space;
	metrics_printf(o, "# HELP sluice_log_dir_free_bytes Free bytes of log.dirs' filesystem at the "
			  "last check.\n# TYPE sluice_log_dir_free_bytes gauge\n"
			  "sluice_log_dir_free_bytes %llu\n"
			  "# HELP sluice_log_dir_min_free_bytes The free-space floor below which produce "
			  "is refused.\n# TYPE sluice_log_dir_min_free_bytes gauge\n"
			  "sluice_log_dir_min_free_bytes %llu\n"
			  "# HELP sluice_log_dir_refusing 1 while produce is refused for lack of space.\n"
			  "# TYPE sluice_log_dir_refusing gauge\nsluice_log_dir_refusing %d\n",
		       (unsigned long long)atomic_load_explicit(&sp->free_bytes, memory_order_relaxed),
		       (unsigned long long)atomic_load_explicit(&sp->floor_bytes, memory_order_relaxed),
		       log_space_refusing(sp) ? 1 : 0);
}

/* One gauge or counter per partition with an open log, from the figures its
 * owner publishes (partition_log_stats). */
static void metrics_logs(struct metrics_out *o, struct runtime *rt, const char *name,
			 const char *type, const char *help, size_t field_offset, bool is_signed)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	struct metadata_image *im = metadata_current(rt);
	for (size_t i = 0; i < im->topic_count; i++) {
		const struct topic *t = im->topics[i];
		for (int32_t p = 0; p < t->partition_count; p++) {
			if (!t->partitions[p].log)
				continue;
			struct log_stats st;
			partition_log_stats(t->partitions[p].log, &st);
			const char *f = (const char *)&st + field_offset;
			long long v = is_signed ? (long long)*(const int64_t *)f
						: (long long)*(const uint64_t *)f;
			metrics_printf(o, "%s{topic=\"%s\",partition=\"%d\"} %lld\n", name, t->name, p, v);
		}
	}
}

#define METRICS_LOG(o, rt, name, type, field, is_signed, help) \
	metrics_logs(o, rt, "sluice_" name, type, help, offsetof(struct log_stats, field), is_signed)

static void metrics_partition_logs(struct metrics_out *o, struct runtime *rt)
{
	METRICS_LOG(o, rt, "log_start_offset", "gauge", start_offset, true,
		    "The partition's log start offset (ListOffsets earliest).");
	METRICS_LOG(o, rt, "log_end_offset", "gauge", high_watermark, true,
		    "The partition's high watermark (ListOffsets latest).");
	METRICS_LOG(o, rt, "log_size_bytes", "gauge", size_bytes, false,
		    "Bytes of the partition's segments on disk.");
	METRICS_LOG(o, rt, "log_segments", "gauge", segments, false,
		    "Segments of the partition's log.");
	METRICS_LOG(o, rt, "log_retention_deleted_segments_total", "counter", deleted_segments, false,
		    "Segments removed by retention and DeleteRecords since the broker started.");
	METRICS_LOG(o, rt, "log_retention_deleted_bytes_total", "counter", deleted_bytes, false,
		    "Segment bytes removed by retention and DeleteRecords since the broker started.");
}

static void metrics_count_producers(struct topic *t, void *ctx)
{
	uint64_t *n = ctx;
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i].log)
			*n += partition_log_producers_published(t->partitions[i].log);
}

/* On the control shard (the registry's): the producers every partition's
 * owner last published. */
static void metrics_producers(struct metrics_out *o, struct runtime *rt)
{
	uint64_t n = 0;
	topics_for_each(topics_registry(rt), metrics_count_producers, &n);
	metrics_printf(o, "# HELP sluice_producer_ids Producer ids with state in a partition, "
			  "summed over partitions.\n# TYPE sluice_producer_ids gauge\n"
			  "sluice_producer_ids %llu\n", (unsigned long long)n);
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
	metrics_flush(&o, rt);
	metrics_partition_logs(&o, rt);
	metrics_producers(&o, rt);
	return o.len;
}
