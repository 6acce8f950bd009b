/* A shard: one thread pinned to one CPU, one reactor, and what it owns:
 * what the services keep in its slots (runtime.h): client connections on
 * network shards, partitions and the groups whose __consumer_offsets
 * partitions they are on io shards, and on shard 0 the topic registry (the
 * control shard). Shards talk only through mailboxes (shard_mail.h). */
#ifndef SLUICE_CORE_SHARD_SHARD_H
#define SLUICE_CORE_SHARD_SHARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/shard/runtime.h"
#include "io/reactor.h"

struct shard_outbox;
struct offload;

/* Shard 0 is also the control shard: it owns the topic registry (and
 * publishes it) and creates __consumer_offsets. */
enum { SHARD_CONTROL = 0 };

/* Per-shard state of the layers above, one slot each (see runtime.h). */
enum shard_slot {
	SHARD_SLOT_NET,         /* listener, connections, request-byte budget (net/) */
	SHARD_SLOT_HANDLERS,    /* what API handlers queue on the shard (api/) */
	SHARD_SLOT_GROUPS,      /* the groups this io shard coordinates (group/) */
	SHARD_SLOT_TOPICS,      /* logs of deleted partitions still draining (meta/) */
	SHARD_SLOTS,
};

struct shard {
	uint32_t id;
	struct runtime *rt;
	struct reactor *reactor;
	bool network;                 /* owns client connections */
	bool io;                      /* owns partitions */
	int cpu;                      /* pinned to this CPU */
	pthread_t thread;
	bool own_thread;              /* not the main thread */
	struct shard_outbox *outbox;  /* per destination shard */
	struct offload *offload;      /* io shards: the helper thread for blocking work */
	struct metadata_sync_shard sync;
	uint64_t calls_started;       /* shard calls sent to other shards (SHARD_COUNTER_ADD) */
	bool stopping;
	void *slots[SHARD_SLOTS];
};

/* Single-writer counters: the owning shard stores the incremented value with
 * a relaxed atomic store (plain instructions, no lock prefix); a reader on
 * another shard loads with relaxed atomic loads. */
#define SHARD_COUNTER_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (uint64_t)(n), \
			 __ATOMIC_RELAXED)
#define SHARD_COUNTER_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* The shard whose thread calls (NULL outside the shards' loops). */
struct shard *shard_current(void);

/* The shard's loop, on its own thread (shard 0: the main thread), once every
 * shard has enabled its ring; returns at once when the start was abandoned. */
void shard_run(struct shard *s);
/* Starts a shard (other than the first) on a new thread pinned to its CPU.
 * Returns 0 or -errno. */
int shard_spawn(struct shard *s);
/* Pins `thread` to the shard's CPU; returns 0 or an errno. */
int shard_pin(struct shard *s, pthread_t thread);

#endif
