/* A shard: one thread pinned to one CPU, one reactor, and what it owns:
 * client connections (network shards), partitions and the groups whose
 * __consumer_offsets partitions they are (io shards), and on shard 0 the
 * topic registry (the control shard). Shards talk only through mailboxes
 * (shard_mail.h). */
#ifndef SLUICE_CORE_SHARD_SHARD_H
#define SLUICE_CORE_SHARD_SHARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/net/conn.h"
#include "core/shard/metadata_sync.h"
#include "core/net/metrics.h"
#include "io/reactor.h"

struct broker;
struct conn;
struct group_coordinator;
struct shard_outbox;
struct log_grave;
struct offload;
struct list_offsets_shard;
struct produce_shard;

/* Shard 0 is also the control shard: it owns the topic registry (and
 * publishes it, metadata_sync.h) and creates __consumer_offsets. */
enum { SHARD_CONTROL = 0 };

struct shard {
	uint32_t id;
	struct broker *broker;
	struct reactor *reactor;
	bool network;                 /* owns client connections */
	bool io;                      /* owns partitions */
	int cpu;                      /* pinned to this CPU */
	pthread_t thread;
	bool own_thread;              /* not the main thread */
	struct shard_outbox *outbox;  /* per destination shard */

	int listen_fd;
	struct io_op accept_op;
	struct io_op listen_cancel_op;
	bool accept_armed;

	struct conn *conns;
	uint32_t conn_count;
	uint64_t next_conn_id;
	struct conn_shard net;        /* deadlines, descriptor reserve, accept back-off */

	/* Back-pressure: bytes of requests received and not yet freed. */
	uint64_t request_bytes_in_flight;
	uint64_t request_bytes_max;
	struct conn *paused_head;

	struct offload *offload;      /* io shards: the helper thread for blocking work */
	/* ListOffsets by time (handle_list_offsets.c): searches on the helper
	 * (bounded: each holds a descriptor) and the calls waiting for room. */
	uint32_t time_searches;
	struct list_offsets_shard *time_search_waiting, *time_search_waiting_tail;
	/* Produce parts (handle_produce.c) waiting, in arrival order, behind
	 * the first one, whose batches are being validated on the helper. */
	struct produce_shard *produce_waiting, *produce_waiting_tail;
	struct group_coordinator *groups; /* groups whose __consumer_offsets partition is ours */
	struct metadata_sync_shard sync;
	struct log_grave *graveyard;  /* logs of deleted partitions with writes in flight */
	struct io_timer reaper_timer;
	struct io_timer housekeeping_timer;
	struct shard_metrics metrics;
	bool stopping;
};

/* Request bytes accounting; resuming paused connections when under budget. */
void shard_request_bytes_add(struct shard *s, uint64_t n);
void shard_request_bytes_sub(struct shard *s, uint64_t n);
bool shard_over_budget(const struct shard *s);
void shard_pause_conn(struct shard *s, struct conn *c);

/* The shard whose thread calls (NULL outside the shards' loops). */
struct shard *shard_current(void);

int shard_open_listener(struct shard *s, char *err, size_t errlen);
/* The shard's loop, on its own thread (shard 0: the main thread), once every
 * shard has enabled its ring; returns at once when the start was abandoned. */
void shard_run(struct shard *s);
/* Starts a shard (other than the first) on a new thread pinned to its CPU.
 * Returns 0 or -errno. */
int shard_spawn(struct shard *s);
/* Pins `thread` to the shard's CPU; returns 0 or an errno. */
int shard_pin(struct shard *s, pthread_t thread);

#endif
