/* The broker: the composition root. It owns the runtime (the shards) and the
 * broker-wide state of each layer, fills the runtime's slots, registers the
 * services' shard hooks, and starts and stops them in order. main.c is its
 * only user. */
#ifndef SLUICE_CORE_BROKER_H
#define SLUICE_CORE_BROKER_H

#include <stdbool.h>

#include "core/meta/topic_registry.h"
#include "core/net/listener.h"
#include "core/shard/runtime.h"
#include "io/reactor.h"

struct broker {
	struct runtime rt;              /* its cfg is the broker's configuration */
	struct topic_registry topics;   /* the control shard's; others read the image */
	struct net net;
	struct io_timer housekeeping_timer; /* shard 0: periodic checkpoints */
	bool started;
};

/* Opens the data directory: metadata, topics, logs (recovering after an
 * unclean stop), then the listener. Returns 0 or -1 after logging why. */
int broker_start(struct broker *b);
/* Runs the shards until stop_requested; -1 when the start was abandoned. */
int broker_run(struct broker *b);
/* Syncs logs, writes checkpoints and the clean-shutdown marker, closes. */
void broker_stop(struct broker *b);

/* Writes recovery-point and log-start checkpoints for every partition. */
void broker_write_checkpoints(struct broker *b);

#endif
