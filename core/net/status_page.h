/* The status page at / on the metrics port: one server-rendered HTML page
 * (no scripts, no external styles or fonts) that refreshes itself every
 * STATUS_PAGE_REFRESH_S seconds: the broker (version, uptime, shards and
 * their CPUs, utilisation, partitions), topics (partitions, size, traffic
 * and rates), consumer groups (state, members, lag). Every name is escaped. */
#ifndef SLUICE_CORE_NET_STATUS_PAGE_H
#define SLUICE_CORE_NET_STATUS_PAGE_H

struct metrics_out;
struct metrics_view;

enum { STATUS_PAGE_REFRESH_S = 5 };

/* The figures of the previous rendering, from which the page's rates come;
 * owned by the endpoint, used on its shard only. */
struct status_page_rates;

struct status_page_rates *status_page_rates_new(void);
void status_page_rates_free(struct status_page_rates *r);

/* Renders the page and keeps this rendering's figures in r. */
void status_page_render(struct metrics_out *o, const struct metrics_view *v,
			struct status_page_rates *r);

#endif
