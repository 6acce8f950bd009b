/* What the metrics endpoint and the status page need from the group
 * coordinators: each io shard's groups (state, members) and their committed
 * offsets, copied on the shard that owns them into rows the endpoint's shard
 * allocated (one shard call per io shard), then read there. Lag is computed
 * back on the endpoint's shard as each part returns, against the log end
 * offsets the partitions' owners publish: the high watermark (what consumers
 * can read up to) minus the committed offset, at least 0.
 * Rows are bounded per shard; what does not fit is counted, not copied. A
 * group's offsets come sorted by topic, then partition. */
#ifndef SLUICE_CORE_NET_METRICS_GATHER_H
#define SLUICE_CORE_NET_METRICS_GATHER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/meta/topic_registry.h"
#include "core/shard/shard_call.h"

enum {
	METRICS_GATHER_GROUPS_MAX = 1024,   /* per io shard */
	METRICS_GATHER_OFFSETS_MAX = 16384, /* per io shard */
	METRICS_GROUP_ID_BYTES = 255,       /* longer ids are cut */
};

struct metrics_group_row {
	char id[METRICS_GROUP_ID_BYTES + 1]; /* a Kafka string: NULs may be in it */
	uint32_t id_len;
	const char *state;        /* Kafka's name, a static string */
	uint32_t members;
	uint32_t first_offset;    /* its rows in the part's offsets */
	uint32_t offset_count;
};

struct metrics_offset_row {
	char topic[TOPIC_NAME_MAX + 1];
	int32_t partition;
	int64_t committed;
	int64_t lag;              /* -1: no such partition, or its log is offline */
};

struct metrics_gather;

struct metrics_gather_part {
	struct shard_call call;
	struct metrics_gather *gather;
	struct metrics_group_row *groups;
	uint32_t group_count;
	struct metrics_offset_row *offsets;
	uint32_t offset_count;
	uint64_t rows_dropped;    /* groups and offsets past the bounds */
};

struct metrics_gather {
	uint32_t pending;
	uint32_t part_count;      /* the io shards */
	struct metrics_gather_part *parts;
	void (*done)(struct metrics_gather *g);
};

/* From `origin`'s loop: visits every io shard; g->done runs on origin once
 * every part is back (possibly before this returns). Returns 0, or -1 when
 * out of memory (done does not run). */
int metrics_gather_start(struct metrics_gather *g, struct shard *origin,
			 void (*done)(struct metrics_gather *g));
/* Whether a gather is out (its memory must not be freed yet). */
bool metrics_gather_pending(const struct metrics_gather *g);
void metrics_gather_free(struct metrics_gather *g);

#endif
