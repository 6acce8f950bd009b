/* The broker: configuration, metadata, topics and shards, started by main. */
#ifndef SLUICE_CORE_BROKER_H
#define SLUICE_CORE_BROKER_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/shard/metadata_sync.h"
#include "core/meta/topics.h"

struct metadata_store;
struct shard;
struct metrics_http;
struct mailbox;

struct broker {
	struct broker_config cfg;
	struct metadata_store *meta;
	struct topic_registry topics;   /* the control shard's; others read the image */
	struct metadata_image *_Atomic image; /* published by the control shard */
	struct metadata_sync sync;      /* the control shard's rounds */
	struct shard *shards;
	uint32_t shard_count;         /* max(network shards, io shards) */
	uint32_t network_shards;      /* shards 0..network_shards-1 own connections */
	uint32_t io_shards;           /* shards 0..io_shards-1 own partitions (and coordinate
				       * the groups of their __consumer_offsets partitions);
				       * shard 0 is also the control shard (the registry) */
	cpu_set_t worker_cpus;        /* cpu.affinity: where io_uring workers may run */
	struct mailbox *mailboxes;    /* shard_count x shard_count, [from][to] */
	bool mailboxes_ready;
	_Atomic uint32_t shards_running; /* shard threads not yet finished */
	_Atomic uint32_t shards_ready;  /* shards whose ring is enabled (the start barrier) */
	_Atomic bool start_abandoned;   /* a shard could not start: none may serve */
	_Atomic int stop_requested;   /* set by the signal handler (lock-free) */
	/* Runs first on every shard's thread (the executable gives each shard
	 * its own allocator arena). */
	void (*thread_init)(uint32_t shard);
	bool started;
	bool shards_running_loops;    /* set before the shard threads start */
	_Atomic uint32_t network_shards_quiet; /* network shards stopped with no connection left */
	struct metrics_http *metrics_http;
};

/* Opens the data directory: metadata, topics, logs (recovering after an
 * unclean stop), then the listener. Returns 0 or -1 after logging why. */
int broker_start(struct broker *b);
/* Runs the shards until stop_requested. */
int broker_run(struct broker *b);
/* Syncs logs, writes checkpoints and the clean-shutdown marker, closes. */
void broker_stop(struct broker *b);

/* Writes recovery-point and log-start checkpoints for every partition. */
void broker_write_checkpoints(struct broker *b);

#endif
