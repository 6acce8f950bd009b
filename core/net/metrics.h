/* Prometheus text exposition of every shard's counters (counters.h, and the
 * runtime's own), the core layout, topics and partitions, consumer groups
 * and the process; and the figures the status page shares with it. */
#ifndef SLUICE_CORE_NET_METRICS_H
#define SLUICE_CORE_NET_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct runtime;
struct metrics_out;
struct metrics_gather;
struct metadata_image;

/* A shard's reactor as last sampled by the endpoint (its own state, on its
 * shard): utilisation is busy time over wall time between two samples. */
struct metrics_shard_sample {
	uint64_t at_ns;
	uint64_t idle_ns;
	double utilisation;
};

/* Samples taken closer together than this keep the previous utilisation. */
enum { METRICS_SAMPLE_MIN_NS = 200 * 1000 * 1000 };

/* What one rendering reads besides the runtime. */
struct metrics_view {
	struct runtime *rt;
	const struct metrics_gather *groups;       /* gathered for this rendering */
	const struct metrics_shard_sample *samples; /* one per shard */
};

/* Updates each shard's sample (samples[rt->shard_count]). */
void metrics_sample_shards(struct runtime *rt, struct metrics_shard_sample *samples);
/* Busy seconds of shard i's reactor since it was created. */
double metrics_shard_busy_seconds(struct runtime *rt, uint32_t i);
/* Messages waiting in the mailboxes into shard i. */
uint64_t metrics_shard_mailbox_depth(struct runtime *rt, uint32_t i);
/* Partitions placed on io shard k, and partitions whose log could not be
 * opened, from the image. */
uint64_t metrics_shard_partitions(const struct metadata_image *im, uint32_t k);
uint64_t metrics_offline_partitions(const struct metadata_image *im);

/* Renders the whole exposition into o. */
void metrics_render(struct metrics_out *o, const struct metrics_view *v);

/* The sections of other files, for metrics_render. */
void metrics_log_render(struct metrics_out *o, struct runtime *rt);
void metrics_txn_render(struct metrics_out *o, struct runtime *rt);
void metrics_groups_render(struct metrics_out *o, const struct metrics_view *v);
void metrics_process_render(struct metrics_out *o);

/* The process's figures (metrics_process.c), for the page too. */
const char *metrics_version(void);
/* Seconds since the epoch when the process started; 0 when unknown. */
double metrics_process_start_seconds(void);

#endif
