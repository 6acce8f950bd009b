/* Copies the group coordinators' groups and committed offsets for the
 * metrics (see metrics_gather.h): one call per io shard, run there. */
#include "core/net/metrics_gather.h"

#include <stdlib.h>
#include <string.h>

#include "core/group/group.h"
#include "core/group/group_coordinator.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/shard/shard.h"

static void metrics_gather_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void metrics_gather_offset(struct group_offset *o, void *ctx)
{
	struct metrics_gather_part *p = ctx;
	if (p->offset_count == METRICS_GATHER_OFFSETS_MAX) {
		p->rows_dropped++;
		return;
	}
	struct metrics_offset_row *r = &p->offsets[p->offset_count++];
	/* OffsetCommit takes offsets of existing topics only, whose names are
	 * of Kafka's legal characters; a NUL could come only from a hand-made
	 * log, and cuts the name here. */
	metrics_gather_copy(r->topic, sizeof(r->topic), o->topic.ptr);
	r->partition = o->partition;
	r->committed = o->offset;
	p->groups[p->group_count - 1].offset_count++;
}

static void metrics_gather_group(struct group *g, void *ctx)
{
	struct metrics_gather_part *p = ctx;
	if (p->group_count == METRICS_GATHER_GROUPS_MAX) {
		p->rows_dropped += 1 + g->offsets.count;
		return;
	}
	struct metrics_group_row *r = &p->groups[p->group_count++];
	r->id_len = (uint32_t)g->id.len < METRICS_GROUP_ID_BYTES ? (uint32_t)g->id.len
								  : METRICS_GROUP_ID_BYTES;
	memcpy(r->id, g->id.ptr, r->id_len);
	r->id[r->id_len] = '\0';
	r->state = group_state_name(g->state);
	r->members = g->member_count;
	r->first_offset = p->offset_count;
	r->offset_count = 0;
	group_offset_for_each(&g->offsets, metrics_gather_offset, p);
}

/* On the io shard. */
static void metrics_gather_run(struct shard_call *call)
{
	struct metrics_gather_part *p = (struct metrics_gather_part *)call;
	struct group_coordinator *gc = group_coordinator_of(call->target);
	if (gc)
		group_table_for_each(&gc->groups, metrics_gather_group, p);
	shard_call_return(call);
}

static int metrics_gather_offset_cmp(const void *a, const void *b)
{
	const struct metrics_offset_row *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The row's lag (see metrics_gather.h), -1 when it has none. */
static int64_t metrics_gather_lag(const struct metadata_image *im, const struct metrics_offset_row *r)
{
	struct topic *t = metadata_image_find(im, (struct kstr){ r->topic, (int32_t)strlen(r->topic) });
	if (!t || r->partition < 0 || r->partition >= t->partition_count ||
	    !t->partitions[r->partition].log)
		return -1;
	struct log_stats st;
	partition_log_stats(t->partitions[r->partition].log, &st);
	return st.high_watermark > r->committed ? st.high_watermark - r->committed : 0;
}

/* Back on the origin: sorts each group's offsets and computes their lag
 * there, off the owner. */
static void metrics_gather_part_done(struct shard_call *call)
{
	struct metrics_gather_part *p = (struct metrics_gather_part *)call;
	struct metrics_gather *g = p->gather;
	for (uint32_t i = 0; i < p->group_count; i++)
		qsort(p->offsets + p->groups[i].first_offset, p->groups[i].offset_count,
		      sizeof(*p->offsets), metrics_gather_offset_cmp);
	struct metadata_image *im = metadata_current(call->origin->rt);
	for (uint32_t i = 0; i < p->offset_count; i++)
		p->offsets[i].lag = metrics_gather_lag(im, &p->offsets[i]);
	if (--g->pending == 0)
		g->done(g);
}

int metrics_gather_start(struct metrics_gather *g, struct shard *origin,
			 void (*done)(struct metrics_gather *g))
{
	struct runtime *rt = origin->rt;
	*g = (struct metrics_gather){ .part_count = rt->io_shards, .done = done };
	g->parts = calloc(rt->io_shards, sizeof(*g->parts));
	bool ok = g->parts != NULL;
	for (uint32_t i = 0; ok && i < rt->io_shards; i++) {
		struct metrics_gather_part *p = &g->parts[i];
		p->groups = malloc(METRICS_GATHER_GROUPS_MAX * sizeof(*p->groups));
		p->offsets = malloc(METRICS_GATHER_OFFSETS_MAX * sizeof(*p->offsets));
		ok = p->groups && p->offsets;
		p->gather = g;
		p->call = (struct shard_call){ .origin = origin, .target = &rt->shards[i],
					       .run = metrics_gather_run,
					       .done = metrics_gather_part_done };
	}
	if (!ok) {
		metrics_gather_free(g);
		return -1;
	}
	_Static_assert(offsetof(struct metrics_gather_part, call) == 0,
		       "a part is found from its call");
	if (shard_calls_start_each(&g->parts[0].call, sizeof(g->parts[0]), g->part_count,
				   &g->pending))
		done(g);
	return 0;
}

bool metrics_gather_pending(const struct metrics_gather *g)
{
	return g->pending > 0;
}

void metrics_gather_free(struct metrics_gather *g)
{
	for (uint32_t i = 0; g->parts && i < g->part_count; i++) {
		free(g->parts[i].groups);
		free(g->parts[i].offsets);
	}
	free(g->parts);
	g->parts = NULL;
	g->part_count = 0;
}
