/* The status page (see status_page.h): plain HTML tables, rendered on the
 * endpoint's shard from the metadata image, the per-shard counters and the
 * groups gathered for this request. */
#include "core/net/status_page.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topic_registry.h"
#include "core/net/conn.h"
#include "core/net/metrics.h"
#include "core/net/metrics_gather.h"
#include "core/net/metrics_out.h"
#include "core/net/metrics_topics.h"
#include "core/shard/shard.h"

struct status_page_rate {
	struct kuuid id;
	uint64_t records_in, bytes_in, bytes_out;
};

struct status_page_rates {
	uint64_t at_ns;
	struct status_page_rate *rows; /* sorted by id */
	size_t count;
};

struct status_page_rates *status_page_rates_new(void)
{
	return calloc(1, sizeof(struct status_page_rates));
}

void status_page_rates_free(struct status_page_rates *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r);
}

static int status_page_rate_cmp(const void *a, const void *b)
{
	return memcmp(((const struct status_page_rate *)a)->id.b,
		      ((const struct status_page_rate *)b)->id.b, sizeof(struct kuuid));
}

static int status_page_topic_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct topic *const *)a)->name, (*(const struct topic *const *)b)->name);
}

static void status_page_html(struct metrics_out *o, const char *s)
{
	metrics_put_html(o, s, strlen(s));
}

/* bytes as B, KiB, MiB, GiB, TiB. */
static void status_page_bytes(struct metrics_out *o, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;
	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	metrics_printf(o, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static const char status_page_style[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222;background:#fafafa}"
	"h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}"
	"p.sub{color:#555;margin:0}"
	"table{border-collapse:collapse;background:#fff;min-width:40em}"
	"th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
	"th{background:#eee}td.name,th.name{text-align:left}td.name{font-family:monospace}"
	".bar{display:inline-block;height:.7em;background:#3a7;vertical-align:middle}"
	".lag{color:#b40}.empty{color:#777;font-style:italic}";

static void status_page_head(struct metrics_out *o, const struct metrics_view *v)
{
	struct runtime *rt = v->rt;
	metrics_printf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			  "<meta http-equiv=\"refresh\" content=\"%d\"><title>sluice status</title>"
			  "<style>%s</style></head><body>\n<h1>sluice ", STATUS_PAGE_REFRESH_S,
		       status_page_style);
	status_page_html(o, metrics_version());
	double start = metrics_process_start_seconds();
	long up = start > 0 ? (long)((double)time(NULL) - start) : 0;
	metrics_printf(o, "</h1>\n<p class=\"sub\">node %d &middot; up %ldd %02ldh %02ldm %02lds "
			  "&middot; Kafka listener ", rt->cfg.node_id, up / 86400, up / 3600 % 24,
		       up / 60 % 60, up % 60);
	status_page_html(o, rt->cfg.listen_host[0] ? rt->cfg.listen_host : "*");
	metrics_printf(o, ":%u &middot; %u shards (%u network, %u io) &middot; refreshes every "
			  "%d s</p>\n", rt->cfg.listen_port, rt->shard_count, rt->network_shards,
		       rt->io_shards, STATUS_PAGE_REFRESH_S);
}

static void status_page_shards(struct metrics_out *o, const struct metrics_view *v)
{
	struct runtime *rt = v->rt;
	struct metadata_image *im = metadata_current(rt);
	metrics_printf(o, "<h2>Shards</h2>\n<table id=\"shards\"><tr><th>shard</th><th>CPU</th>"
			  "<th class=\"name\">roles</th><th class=\"name\">utilisation</th>"
			  "<th>partitions</th><th>connections</th><th>mailbox depth</th></tr>\n");
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		const struct shard *s = &rt->shards[i];
		const struct shard_metrics *m = &conn_shard_of(&rt->shards[i])->metrics;
		double u = v->samples[i].utilisation;
		metrics_printf(o, "<tr><td>%u</td><td>%d</td><td class=\"name\">%s%s%s</td>"
				  "<td class=\"name\"><span class=\"bar\" style=\"width:%.0fpx\"></span> "
				  "%.1f%%</td><td>%llu</td><td>%llu</td><td>%llu</td></tr>\n",
			       i, s->cpu, s->network ? "network" : "", s->network && s->io ? " + " : "",
			       s->io ? "io" : "", u * 100, u * 100,
			       (unsigned long long)(s->io ? metrics_shard_partitions(im, i) : 0),
			       (unsigned long long)(METRIC_READ(m->connections_accepted) -
						    METRIC_READ(m->connections_closed)),
			       (unsigned long long)metrics_shard_mailbox_depth(rt, i));
	}
	metrics_printf(o, "</table>\n");
}

/* The topic's previous figures, or NULL. */
static const struct status_page_rate *status_page_prev(const struct status_page_rates *r,
						       const struct kuuid *id)
{
	struct status_page_rate key = { .id = *id };
	return r->count ? bsearch(&key, r->rows, r->count, sizeof(*r->rows), status_page_rate_cmp)
			: NULL;
}

static void status_page_rate_cell(struct metrics_out *o, uint64_t now, uint64_t prev,
				  double dt_s, bool bytes)
{
	metrics_printf(o, "<td>");
	if (dt_s <= 0 || now < prev)
		metrics_printf(o, "&ndash;");
	else if (bytes) {
		status_page_bytes(o, (double)(now - prev) / dt_s);
		metrics_printf(o, "/s");
	} else
		metrics_printf(o, "%.1f/s", (double)(now - prev) / dt_s);
	metrics_printf(o, "</td>");
}

static void status_page_topic(struct metrics_out *o, struct runtime *rt, const struct topic *t,
			      const struct status_page_rate *prev, double dt_s,
			      struct status_page_rate *now)
{
	struct metrics_topic_totals tt;
	metrics_topic_totals(rt, t, &tt);
	uint64_t size = 0, end = 0;
	int32_t offline = 0;
	for (int32_t p = 0; p < t->partition_count; p++) {
		struct log_stats st;
		if (!t->partitions[p].log) {
			offline++;
			continue;
		}
		partition_log_stats(t->partitions[p].log, &st);
		size += st.size_bytes;
		end += (uint64_t)st.high_watermark;
	}
	*now = (struct status_page_rate){ .id = t->id, .records_in = tt.records_in,
					  .bytes_in = tt.bytes_in, .bytes_out = tt.bytes_out };
	metrics_printf(o, "<tr><td class=\"name\">");
	status_page_html(o, t->name);
	metrics_printf(o, "%s</td><td>%d%s</td><td>", t->internal ? " (internal)" : "",
		       t->partition_count, offline ? " (offline: see log)" : "");
	status_page_bytes(o, (double)size);
	metrics_printf(o, "</td><td>%llu</td><td>%llu</td>", (unsigned long long)end,
		       (unsigned long long)tt.records_in);
	status_page_rate_cell(o, tt.records_in, prev ? prev->records_in : 0, prev ? dt_s : 0, false);
	status_page_rate_cell(o, tt.bytes_in, prev ? prev->bytes_in : 0, prev ? dt_s : 0, true);
	status_page_rate_cell(o, tt.bytes_out, prev ? prev->bytes_out : 0, prev ? dt_s : 0, true);
	metrics_printf(o, "</tr>\n");
}

/* Topics by name, with rates since the previous rendering. */
static void status_page_topics(struct metrics_out *o, const struct metrics_view *v,
			       struct status_page_rates *r)
{
	struct metadata_image *im = metadata_current(v->rt);
	size_t n = im->topic_count;
	const struct topic **sorted = malloc((n ? n : 1) * sizeof(*sorted));
	struct status_page_rate *rows = malloc((n ? n : 1) * sizeof(*rows));
	if (!sorted || !rows) {
		free(sorted);
		free(rows);
		o->cut = true;
		return;
	}
	memcpy(sorted, im->topics, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), status_page_topic_cmp);
	uint64_t now_ns = reactor_now_ns();
	double dt_s = r->at_ns ? (double)(now_ns - r->at_ns) / 1e9 : 0;
	metrics_printf(o, "<h2>Topics</h2>\n<table id=\"topics\"><tr><th class=\"name\">topic</th>"
			  "<th>partitions</th><th>size</th><th>log end offsets</th>"
			  "<th>records in</th><th>records in/s</th><th>bytes in/s</th>"
			  "<th>bytes out/s</th></tr>\n");
	for (size_t i = 0; i < n; i++)
		status_page_topic(o, v->rt, sorted[i], status_page_prev(r, &sorted[i]->id), dt_s,
				  &rows[i]);
	if (n == 0)
		metrics_printf(o, "<tr><td class=\"empty name\" colspan=\"8\">no topics</td></tr>\n");
	metrics_printf(o, "</table>\n");
	qsort(rows, n, sizeof(*rows), status_page_rate_cmp);
	free(r->rows);
	r->rows = rows;
	r->count = n;
	r->at_ns = now_ns;
	free(sorted);
}

static void status_page_group(struct metrics_out *o, const struct metrics_gather_part *p,
			      const struct metrics_group_row *g, uint32_t shard)
{
	int64_t lag = 0;
	uint32_t partitions = 0;
	for (uint32_t k = 0; k < g->offset_count; k++) {
		int64_t l = p->offsets[g->first_offset + k].lag;
		if (l >= 0) {
			lag += l;
			partitions++;
		}
	}
	metrics_printf(o, "<tr><td class=\"name\">");
	metrics_put_html(o, g->id, g->id_len);
	metrics_printf(o, "</td><td class=\"name\">%s</td><td>%u</td><td>%u</td><td>%u</td>"
			  "<td%s>%lld</td><td class=\"name\">", g->state, g->members, shard,
		       partitions, lag ? " class=\"lag\"" : "", (long long)lag);
	for (uint32_t k = 0; k < g->offset_count; k++) {
		const struct metrics_offset_row *r = &p->offsets[g->first_offset + k];
		if (k > 0 && strcmp(r->topic, p->offsets[g->first_offset + k - 1].topic) == 0)
			continue;
		metrics_printf(o, "%s", k ? " " : "");
		status_page_html(o, r->topic);
	}
	metrics_printf(o, "</td></tr>\n");
}

static void status_page_groups(struct metrics_out *o, const struct metrics_view *v)
{
	const struct metrics_gather *gt = v->groups;
	metrics_printf(o, "<h2>Consumer groups</h2>\n<table id=\"groups\"><tr>"
			  "<th class=\"name\">group</th><th class=\"name\">state</th><th>members</th>"
			  "<th>coordinator shard</th><th>partitions committed</th><th>lag</th>"
			  "<th class=\"name\">topics</th></tr>\n");
	uint32_t shown = 0;
	uint64_t dropped = 0;
	for (uint32_t s = 0; s < gt->part_count; s++) {
		for (uint32_t i = 0; i < gt->parts[s].group_count; i++, shown++)
			status_page_group(o, &gt->parts[s], &gt->parts[s].groups[i], s);
		dropped += gt->parts[s].rows_dropped;
	}
	if (shown == 0)
		metrics_printf(o, "<tr><td class=\"empty name\" colspan=\"7\">no groups</td></tr>\n");
	metrics_printf(o, "</table>\n");
	if (dropped)
		metrics_printf(o, "<p class=\"sub\">%llu groups or offsets left out (bounds per "
				  "shard)</p>\n", (unsigned long long)dropped);
}

void status_page_render(struct metrics_out *o, const struct metrics_view *v,
			struct status_page_rates *r)
{
	status_page_head(o, v);
	status_page_shards(o, v);
	status_page_topics(o, v, r);
	status_page_groups(o, v);
	metrics_printf(o, "<p class=\"sub\">Prometheus metrics: <a href=\"/metrics\">/metrics</a> "
			  "&middot; health: <a href=\"/health\">/health</a></p>\n</body></html>\n");
}
