/* Consumer groups in the Prometheus text: each group's state and members,
 * and its lag (log end offset minus committed offset) per topic and, when
 * sluice.metrics.partition.level is on, per partition with the committed
 * offset; from the rows gathered for this rendering (metrics_gather.h). */
#include <string.h>

#include "core/net/metrics.h"
#include "core/net/metrics_gather.h"
#include "core/net/metrics_out.h"
#include "core/shard/shard.h"

static void metrics_group_label(struct metrics_out *o, const char *name,
				const struct metrics_group_row *g)
{
	metrics_put_str(o, name);
	metrics_put_str(o, "{group=\"");
	metrics_put_label(o, g->id, g->id_len);
}

/* A committed offset's topic is the peer's string: escaped. */
static void metrics_topic_label(struct metrics_out *o, const char *topic)
{
	metrics_put_str(o, "\",topic=\"");
	metrics_put_label(o, topic, strlen(topic));
}

static void metrics_group_info(struct metrics_out *o, const struct metrics_gather *gt)
{
	metrics_printf(o, "# HELP sluice_consumer_group_members Members of each consumer group.\n"
			  "# TYPE sluice_consumer_group_members gauge\n");
	for (uint32_t s = 0; s < gt->part_count; s++)
		for (uint32_t i = 0; i < gt->parts[s].group_count; i++) {
			const struct metrics_group_row *g = &gt->parts[s].groups[i];
			metrics_group_label(o, "sluice_consumer_group_members", g);
			metrics_printf(o, "\"} %u\n", g->members);
		}
	metrics_printf(o, "# HELP sluice_consumer_group_info Each consumer group's state "
			  "(Kafka's names) and coordinating shard.\n"
			  "# TYPE sluice_consumer_group_info gauge\n");
	for (uint32_t s = 0; s < gt->part_count; s++)
		for (uint32_t i = 0; i < gt->parts[s].group_count; i++) {
			const struct metrics_group_row *g = &gt->parts[s].groups[i];
			metrics_group_label(o, "sluice_consumer_group_info", g);
			metrics_printf(o, "\",state=\"%s\",shard=\"%u\"} 1\n", g->state, s);
		}
}

/* Per partition: committed offset and lag of each group's offsets. */
static void metrics_group_partitions(struct metrics_out *o, const struct metrics_gather *gt,
				     bool lag)
{
	const char *name = lag ? "sluice_consumer_group_lag" : "sluice_consumer_group_committed_offset";
	metrics_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", name,
		       lag ? "Log end offset minus the group's committed offset, per partition."
			   : "The group's committed offset, per partition.",
		       name);
	for (uint32_t s = 0; s < gt->part_count; s++) {
		const struct metrics_gather_part *p = &gt->parts[s];
		for (uint32_t i = 0; i < p->group_count; i++) {
			const struct metrics_group_row *g = &p->groups[i];
			for (uint32_t k = 0; k < g->offset_count; k++) {
				const struct metrics_offset_row *r = &p->offsets[g->first_offset + k];
				int64_t v = lag ? r->lag : r->committed;
				if (v < 0)
					continue;
				metrics_group_label(o, name, g);
				metrics_topic_label(o, r->topic);
				metrics_put_str(o, "\",partition=\"");
				metrics_put_i64(o, r->partition);
				metrics_put_str(o, "\"} ");
				metrics_put_i64(o, v);
				metrics_put_str(o, "\n");
			}
		}
	}
}

/* Per group and topic: the sum of the partitions' lag (rows come sorted by
 * topic within a group). */
static void metrics_group_topics(struct metrics_out *o, const struct metrics_gather *gt)
{
	const char *name = "sluice_consumer_group_topic_lag";
	metrics_printf(o, "# HELP %s Log end offset minus committed offset, summed over the "
			  "partitions of each topic the group committed for.\n# TYPE %s gauge\n",
		       name, name);
	for (uint32_t s = 0; s < gt->part_count; s++) {
		const struct metrics_gather_part *p = &gt->parts[s];
		for (uint32_t i = 0; i < p->group_count; i++) {
			const struct metrics_group_row *g = &p->groups[i];
			const struct metrics_offset_row *rows = p->offsets + g->first_offset;
			for (uint32_t k = 0; k < g->offset_count;) {
				int64_t sum = 0;
				uint32_t end = k;
				bool any = false;
				for (; end < g->offset_count && strcmp(rows[end].topic, rows[k].topic) == 0; end++) {
					if (rows[end].lag >= 0) {
						sum += rows[end].lag;
						any = true;
					}
				}
				if (any) {
					metrics_group_label(o, name, g);
					metrics_topic_label(o, rows[k].topic);
					metrics_put_str(o, "\"} ");
					metrics_put_i64(o, sum);
					metrics_put_str(o, "\n");
				}
				k = end;
			}
		}
	}
}

void metrics_groups_render(struct metrics_out *o, const struct metrics_view *v)
{
	const struct metrics_gather *gt = v->groups;
	if (!gt)
		return;
	metrics_group_info(o, gt);
	if (v->rt->cfg.metrics_partition_level) {
		metrics_group_partitions(o, gt, false);
		metrics_group_partitions(o, gt, true);
	}
	metrics_group_topics(o, gt);
	uint64_t dropped = 0;
	for (uint32_t s = 0; s < gt->part_count; s++)
		dropped += gt->parts[s].rows_dropped;
	metrics_printf(o, "# HELP sluice_consumer_group_rows_dropped Groups and committed offsets "
			  "left out of this scrape (over 1024 groups or 16384 offsets per io shard).\n"
			  "# TYPE sluice_consumer_group_rows_dropped gauge\n"
			  "sluice_consumer_group_rows_dropped %llu\n", (unsigned long long)dropped);
}
