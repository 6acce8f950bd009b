/* Traffic by topic for the metrics and the status page: bytes and records
 * in (Produce) and out (Fetch), counted on the io shard that owns the
 * partition in its own table (counters.h), summed over shards when read. */
#ifndef SLUICE_CORE_NET_METRICS_TOPICS_H
#define SLUICE_CORE_NET_METRICS_TOPICS_H

#include <stdint.h>

struct runtime;
struct shard;
struct topic;

struct metrics_topic_totals {
	uint64_t bytes_in;
	uint64_t records_in;
	uint64_t bytes_out;
	uint64_t records_out;
};

/* On shard s (the partition's owner): an append of `records` records in
 * `bytes` bytes was accepted; a fetch answered with `bytes` bytes carrying
 * `records` offsets. */
void metrics_topic_in(struct shard *s, const struct topic *t, uint64_t bytes, uint64_t records);
void metrics_topic_out(struct shard *s, const struct topic *t, uint64_t bytes, uint64_t records);

/* Any shard: the topic's traffic summed over every shard. */
void metrics_topic_totals(struct runtime *rt, const struct topic *t, struct metrics_topic_totals *out);
/* Any shard: traffic that found no room in some shard's table. */
uint64_t metrics_topics_untracked(struct runtime *rt);

#endif
