/* The broker: configuration, metadata, topics and shards, started by main. */
#ifndef SLUICE_CORE_BROKER_H
#define SLUICE_CORE_BROKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/topics.h"

struct metadata_store;
struct shard;
struct metrics_http;

struct broker {
	struct broker_config cfg;
	struct metadata_store *meta;
	struct topic_registry topics;
	struct shard *shards;
	uint32_t shard_count;
	volatile sig_atomic_t stop_requested;
	bool started;
	struct metrics_http *metrics_http;
};

/* Opens the data directory: metadata, topics, logs (recovering after an
 * unclean stop), then the listener. Returns 0 or -1 after logging why. */
int broker_start(struct broker *b);
/* Runs the shards until stop_requested. */
void broker_run(struct broker *b);
/* Syncs logs, writes checkpoints and the clean-shutdown marker, closes. */
void broker_stop(struct broker *b);

/* Writes recovery-point and log-start checkpoints for every partition. */
void broker_write_checkpoints(struct broker *b);

#endif
