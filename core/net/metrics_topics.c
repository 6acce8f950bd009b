/* Traffic by topic (see metrics_topics.h): each shard's open-addressed table
 * of topic ids; the writer claims entries, readers on other shards probe the
 * same way and read published entries with relaxed loads. */
#include "core/net/metrics_topics.h"

#include <string.h>

#include "core/meta/topic_registry.h"
#include "core/net/conn.h"

_Static_assert((METRICS_TOPICS_MAX & (METRICS_TOPICS_MAX - 1)) == 0, "a power of two");

/* Probes at most this many entries from the id's home. */
enum { METRICS_TOPICS_PROBES = 64 };

static uint32_t metrics_topics_home(const struct kuuid *id)
{
	uint64_t h;
	memcpy(&h, id->b, sizeof(h));
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32) & (METRICS_TOPICS_MAX - 1);
}

/* The entry of id in m (claimed when `claim` and free), or NULL. */
static struct metrics_topic_traffic *metrics_topics_find(struct shard_metrics *m,
							 const struct kuuid *id, bool claim)
{
	uint32_t i = metrics_topics_home(id);
	for (uint32_t k = 0; k < METRICS_TOPICS_PROBES; k++, i = (i + 1) & (METRICS_TOPICS_MAX - 1)) {
		struct metrics_topic_traffic *e = &m->topics[i];
		if (!__atomic_load_n(&e->used, __ATOMIC_ACQUIRE)) {
			if (!claim)
				return NULL;
			e->id = *id;
			__atomic_store_n(&e->used, 1, __ATOMIC_RELEASE);
			return e;
		}
		if (memcmp(e->id.b, id->b, sizeof(id->b)) == 0)
			return e;
	}
	return NULL;
}

/* The topic's entry in shard s's table, or NULL after counting `bytes` as
 * untracked. */
static struct metrics_topic_traffic *metrics_topic_entry(struct shard *s, const struct topic *t,
							 uint64_t bytes)
{
	struct shard_metrics *m = &conn_shard_of(s)->metrics;
	struct metrics_topic_traffic *e = metrics_topics_find(m, &t->id, true);
	if (!e)
		METRIC_ADD(m->topics_untracked, bytes);
	return e;
}

void metrics_topic_in(struct shard *s, const struct topic *t, uint64_t bytes, uint64_t records)
{
	struct metrics_topic_traffic *e = metrics_topic_entry(s, t, bytes);
	if (e) {
		METRIC_ADD(e->bytes_in, bytes);
		METRIC_ADD(e->records_in, records);
	}
}

void metrics_topic_out(struct shard *s, const struct topic *t, uint64_t bytes, uint64_t records)
{
	struct metrics_topic_traffic *e = metrics_topic_entry(s, t, bytes);
	if (e) {
		METRIC_ADD(e->bytes_out, bytes);
		METRIC_ADD(e->records_out, records);
	}
}

void metrics_topic_totals(struct runtime *rt, const struct topic *t, struct metrics_topic_totals *out)
{
	*out = (struct metrics_topic_totals){ 0 };
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		struct shard_metrics *m = &conn_shard_of(&rt->shards[i])->metrics;
		const struct metrics_topic_traffic *e = metrics_topics_find(m, &t->id, false);
		if (!e)
			continue;
		out->bytes_in += METRIC_READ(e->bytes_in);
		out->records_in += METRIC_READ(e->records_in);
		out->bytes_out += METRIC_READ(e->bytes_out);
		out->records_out += METRIC_READ(e->records_out);
	}
}

uint64_t metrics_topics_untracked(struct runtime *rt)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < rt->shard_count; i++)
		n += METRIC_READ(conn_shard_of(&rt->shards[i])->metrics.topics_untracked);
	return n;
}
