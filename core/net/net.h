/* The network layer's broker-wide state (RUNTIME_SLOT_NET): the dispatch
 * table the API layer hands it, what connections hand their frames and
 * finished responses to (the request layer), and the metrics endpoint. */
#ifndef SLUICE_CORE_NET_NET_H
#define SLUICE_CORE_NET_NET_H

#include "core/shard/runtime.h"

struct api_table;
struct conn_handlers;
struct metrics_http;

struct net {
	const struct api_table *apis;
	const struct conn_handlers *conn_handlers;
	struct metrics_http *metrics_http; /* NULL: sluice.metrics.port is 0 */
};

static inline struct net *net_of(struct runtime *rt)
{
	return rt->slots[RUNTIME_SLOT_NET];
}

#endif
