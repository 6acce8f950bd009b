/* The network layer as a service of the runtime: each shard's connections
 * state (conn.h) and listener, and the shard hooks that start accepting and,
 * at the stop, close every connection. */
#ifndef SLUICE_CORE_NET_LISTENER_H
#define SLUICE_CORE_NET_LISTENER_H

#include <stddef.h>

#include "core/net/net.h"
#include "core/shard/runtime.h"

struct shard;

/* Every shard's connections state (network shards accept; every shard keeps
 * counters), before the loops run. Returns 0 or -1 after logging why. */
int net_shards_create(struct runtime *rt);
/* After the loops ended: closes the listeners and frees what create made. */
void net_shards_free(struct runtime *rt);

/* Binds the configured listener with SO_REUSEPORT so that every network
 * shard can bind the same address and the kernel spreads connections over
 * them. The shard starts accepting on its own thread (net_shard_service). */
int net_open_listener(struct shard *s, char *err, size_t errlen);

extern const struct shard_service net_shard_service;

#endif
