/* The log layer's figures in the Prometheus text (see metrics_out.h): the
 * flush policy's fsyncs and the free-space floor, each partition's log
 * (offsets, size, segments, retention), the log cleaner, the producers with
 * state. Each comes from what the owning shard published. The per-partition
 * series are left out when sluice.metrics.partition.level is false. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/log/log_cleaner.h"
#include "core/log/log_flush.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topic_registry.h"
#include "core/meta/topics.h"
#include "core/meta/topics_shard.h"
#include "core/net/metrics.h"
#include "core/net/metrics_out.h"
#include "core/shard/shard.h"

/* One counter of the io shards: HELP, TYPE, then a sample per io shard whose
 * stats_of gives figures (NULL: that shard has none), divided by per_unit
 * (milliseconds exposed as seconds, as Prometheus names them). */
static void metrics_io_counter_scaled(struct metrics_out *o, struct runtime *rt, const char *name,
				      const char *help,
				      const void *(*stats_of)(const struct topics_shard *),
				      size_t field_offset, uint64_t per_unit)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (uint32_t i = 0; i < rt->io_shards; i++) {
		const struct topics_shard *ts = topics_shard_of(&rt->shards[i]);
		const char *base = ts ? stats_of(ts) : NULL;
		if (!base)
			continue;
		uint64_t v = SHARD_COUNTER_READ(*(const uint64_t *)(base + field_offset));
		if (per_unit == 1)
			metrics_printf(o, "%s{shard=\"%u\"} %llu\n", name, i, (unsigned long long)v);
		else
			metrics_printf(o, "%s{shard=\"%u\"} %.3f\n", name, i, (double)v / (double)per_unit);
	}
}

static void metrics_io_counter(struct metrics_out *o, struct runtime *rt, const char *name,
			       const char *help, const void *(*stats_of)(const struct topics_shard *),
			       size_t field_offset)
{
	metrics_io_counter_scaled(o, rt, name, help, stats_of, field_offset, 1);
}

static const void *metrics_flush_stats(const struct topics_shard *ts)
{
	return &ts->flush.stats;
}

#define METRICS_FLUSH_COUNTER(o, rt, name, field, help) \
	metrics_io_counter(o, rt, name, help, metrics_flush_stats, \
			   offsetof(struct log_flush_stats, field))

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
			cumulative += SHARD_COUNTER_READ(st->latency_buckets[b]);
			if (b < LOG_FSYNC_BUCKETS)
				metrics_printf(o, "%s_bucket{shard=\"%u\",le=\"%g\"} %llu\n", name, i,
					       (double)bounds_us[b] / 1e6, (unsigned long long)cumulative);
			else
				metrics_printf(o, "%s_bucket{shard=\"%u\",le=\"+Inf\"} %llu\n", name, i,
					       (unsigned long long)cumulative);
		}
		metrics_printf(o, "%s_sum{shard=\"%u\"} %.6f\n%s_count{shard=\"%u\"} %llu\n", name, i,
			       (double)SHARD_COUNTER_READ(st->latency_us_sum) / 1e6, name, i,
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

/* One partition's published figures, read once per rendering. */
struct metrics_log_row {
	const struct topic *topic;
	int32_t partition;
	struct log_stats st;
};

/* One gauge or counter per partition with an open log, from the rows. */
static void metrics_logs(struct metrics_out *o, const struct metrics_log_row *rows, size_t n,
			 const char *name, const char *type, const char *help, size_t field_offset,
			 bool is_signed)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < n; i++) {
		const char *f = (const char *)&rows[i].st + field_offset;
		long long v = is_signed ? (long long)*(const int64_t *)f : (long long)*(const uint64_t *)f;
		metrics_put_str(o, name);
		metrics_put_str(o, "{topic=\"");
		metrics_put_bytes(o, rows[i].topic->name, rows[i].topic->name_len);
		metrics_put_str(o, "\",partition=\"");
		metrics_put_i64(o, rows[i].partition);
		metrics_put_str(o, "\"} ");
		metrics_put_i64(o, v);
		metrics_put_str(o, "\n");
	}
}

#define METRICS_LOG(o, rows, n, name, type, field, is_signed, help) \
	metrics_logs(o, rows, n, "sluice_" name, type, help, offsetof(struct log_stats, field), is_signed)

/* Every partition's figures, each read once from what its owner publishes
 * (partition_log_stats); NULL when out of memory. */
static struct metrics_log_row *metrics_log_rows(struct runtime *rt, size_t *n)
{
	struct metadata_image *im = metadata_current(rt);
	size_t cap = 0;
	for (size_t i = 0; i < im->topic_count; i++)
		cap += (size_t)im->topics[i]->partition_count;
	struct metrics_log_row *rows = malloc((cap ? cap : 1) * sizeof(*rows));
	*n = 0;
	for (size_t i = 0; rows && i < im->topic_count; i++) {
		const struct topic *t = im->topics[i];
		for (int32_t p = 0; p < t->partition_count; p++) {
			if (!t->partitions[p].log)
				continue;
			rows[*n] = (struct metrics_log_row){ .topic = t, .partition = p };
			partition_log_stats(t->partitions[p].log, &rows[*n].st);
			(*n)++;
		}
	}
	return rows;
}

static void metrics_partition_logs(struct metrics_out *o, struct runtime *rt)
{
	size_t n;
	struct metrics_log_row *rows = metrics_log_rows(rt, &n);
	if (!rows) {
		o->cut = true;
		return;
	}
	METRICS_LOG(o, rows, n, "log_start_offset", "gauge", start_offset, true,
		    "The partition's log start offset (ListOffsets earliest).");
	METRICS_LOG(o, rows, n, "log_end_offset", "gauge", high_watermark, true,
		    "The partition's high watermark (ListOffsets latest).");
	METRICS_LOG(o, rows, n, "log_size_bytes", "gauge", size_bytes, false,
		    "Bytes of the partition's segments on disk.");
	METRICS_LOG(o, rows, n, "log_segments", "gauge", segments, false,
		    "Segments of the partition's log.");
	METRICS_LOG(o, rows, n, "log_appends_mapped_total", "counter", mapped_appends, false,
		    "Appends copied into the active segment's mapping on the shard.");
	METRICS_LOG(o, rows, n, "log_appends_written_total", "counter", written_appends, false,
		    "Appends written by io_uring write (larger than "
		    "sluice.log.append.mapped.max.bytes, or no prepared range).");
	METRICS_LOG(o, rows, n, "log_retention_deleted_segments_total", "counter", deleted_segments,
		    false, "Segments removed by retention and DeleteRecords since the broker started.");
	METRICS_LOG(o, rows, n, "log_retention_deleted_bytes_total", "counter", deleted_bytes, false,
		    "Segment bytes removed by retention and DeleteRecords since the broker started.");
	free(rows);
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

static const void *metrics_cleaner_stats(const struct topics_shard *ts)
{
	return ts->cleaner ? log_cleaner_stats(ts->cleaner) : NULL;
}

#define METRICS_CLEANER(o, rt, field, help)                                              \
	metrics_io_counter(o, rt, "sluice_log_cleaner_" #field "_total", help,             \
			   metrics_cleaner_stats, offsetof(struct log_cleaner_stats, field))

/* The cleaner's counters per io shard, and each compacted partition's dirty
 * ratio as its owner last measured it. */
static void metrics_cleaner(struct metrics_out *o, struct runtime *rt)
{
	METRICS_CLEANER(o, rt, runs, "Log cleaner passes completed.");
	METRICS_CLEANER(o, rt, failures, "Log cleaner passes that failed (the log left as it was).");
	METRICS_CLEANER(o, rt, bytes_read, "Segment bytes the log cleaner read.");
	METRICS_CLEANER(o, rt, bytes_written, "Cleaned segment bytes the log cleaner wrote.");
	METRICS_CLEANER(o, rt, records_dropped, "Records the log cleaner removed.");
	metrics_io_counter_scaled(o, rt, "sluice_log_cleaner_duration_seconds_total",
				  "Time the log cleaner's passes took.", metrics_cleaner_stats,
				  offsetof(struct log_cleaner_stats, duration_ms), 1000);
	metrics_io_counter_scaled(o, rt, "sluice_log_cleaner_throttled_seconds_total",
				  "Time the log cleaner slept for log.cleaner.io.max.bytes.per.second.",
				  metrics_cleaner_stats, offsetof(struct log_cleaner_stats, throttled_ms),
				  1000);
	if (!rt->cfg.metrics_partition_level)
		return;
	metrics_printf(o, "# HELP sluice_log_cleaner_dirty_ratio Dirty bytes over all bytes of "
			  "the closed segments of each compacted partition.\n"
			  "# TYPE sluice_log_cleaner_dirty_ratio gauge\n");
	struct metadata_image *im = metadata_current(rt);
	for (size_t i = 0; i < im->topic_count; i++) {
		const struct topic *t = im->topics[i];
		if (!topic_config_current(t)->cleanup_compact)
			continue;
		for (int32_t p = 0; p < t->partition_count; p++) {
			if (!t->partitions[p].log)
				continue;
			int64_t offset;
			uint32_t ppm;
			log_cleaner_published(t->partitions[p].log, &offset, &ppm);
			metrics_printf(o, "sluice_log_cleaner_dirty_ratio{topic=\"%s\",partition=\"%d\"} "
				       "%.6f\n", t->name, p, ppm / 1e6);
		}
	}
}

static const void *metrics_cold_stats(const struct topics_shard *ts)
{
	return &ts->cold.stats;
}

#define METRICS_COLD(o, rt, name, field, help) \
	metrics_io_counter(o, rt, "sluice_fetch_cold_" name, help, metrics_cold_stats, \
			   offsetof(struct cold_read_stats, field))

/* Fetches that found their bytes out of the page cache (cold_read.h). */
static void metrics_cold_reads(struct metrics_out *o, struct runtime *rt)
{
	METRICS_COLD(o, rt, "fetches_total", requested,
		     "Partition fetches whose first batch was not in the page cache.");
	METRICS_COLD(o, rt, "reads_total", reads,
		     "Cold reads completed (segment bytes read into the page cache off the loop).");
	METRICS_COLD(o, rt, "bytes_total", bytes, "Bytes the cold reads brought into the page cache.");
	METRICS_COLD(o, rt, "queued_total", queued,
		     "Cold reads that waited for one of sluice.fetch.cold.reads.max slots.");
	METRICS_COLD(o, rt, "dropped_total", dropped,
		     "Cold reads not queued (queue full); their fetches read without the gate.");
	METRICS_COLD(o, rt, "unwaited_total", unwaited,
		     "Cold partition fetches that could not wait for a cold read (max_wait_ms 0 or "
		     "spent, or none taken): planned through every page, sent by the kernel's workers.");
	METRICS_COLD(o, rt, "failures_total", failures, "Cold reads that failed (logged).");
	metrics_printf(o, "# HELP sluice_fetch_cold_reads_running Cold reads in the kernel's "
			  "workers now.\n# TYPE sluice_fetch_cold_reads_running gauge\n");
	for (uint32_t i = 0; i < rt->io_shards; i++) {
		const struct topics_shard *ts = topics_shard_of(&rt->shards[i]);
		if (ts)
			metrics_printf(o, "sluice_fetch_cold_reads_running{shard=\"%u\"} %llu\n", i,
				       (unsigned long long)SHARD_COUNTER_READ(ts->cold.stats.running));
	}
}

void metrics_log_render(struct metrics_out *o, struct runtime *rt)
{
	metrics_cold_reads(o, rt);
	metrics_flush(o, rt);
	if (rt->cfg.metrics_partition_level)
		metrics_partition_logs(o, rt);
	metrics_producers(o, rt);
	metrics_cleaner(o, rt);
}
