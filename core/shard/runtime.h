/* The runtime's types: a shard; the shards of one broker and what running
 * them shares (the core layout, the mailboxes, the start barrier, the stop,
 * the published metadata snapshot of metadata_sync.h); and the services that
 * the layers above register with it.
 *
 * The runtime knows no Kafka API, group or connection. A feature keeps its
 * broker-wide state in one of the runtime's slots and its per-shard state in
 * a slot of each shard, both reserved here by name and never dereferenced by
 * the runtime; its serve, turn, stop and quiet hooks (struct shard_service)
 * are what the shards' loops call. The composition
 * root (core/broker.c) fills the slots and registers the hooks before the
 * shards run. */
#ifndef SLUICE_CORE_SHARD_RUNTIME_H
#define SLUICE_CORE_SHARD_RUNTIME_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "io/reactor.h"

struct mailbox;

/* The published metadata's bookkeeping (metadata_sync.h has the protocol). */
/* What the control shard publishes: an immutable snapshot embeds this, and
 * is released through `release` once no shard can hold it any more. */
struct sync_snapshot {
	uint64_t generation;
	struct sync_snapshot *next_retired;
	void (*release)(struct sync_snapshot *snap);
};

/* Something on the control shard waiting for a round to complete. */
struct metadata_sync_waiter {
	struct metadata_sync_waiter *next;
	uint64_t generation;
	void (*done)(struct metadata_sync_waiter *w);
};

/* The control shard's side. */
struct metadata_sync {
	uint64_t generation;            /* of the published image */
	uint64_t *acked;                /* per io shard: highest round acknowledged */
	uint64_t complete;              /* every io shard acknowledged up to here */
	struct sync_snapshot *retired;  /* older snapshots, newest first */
	struct metadata_sync_waiter *waiters;
	bool self_pending;              /* the control shard's own sync is due */
};

/* One shard's side. */
struct metadata_sync_shard {
	uint64_t *flushed_from; /* io shards: per shard, the highest marker received */
	uint64_t acked;         /* io shards: the highest round acknowledged */
};

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
	SHARD_SLOT_TXN,         /* the transactional ids this io shard coordinates (txn/) */
	SHARD_SLOT_TOPICS,      /* logs of deleted partitions still draining (meta/) */
	SHARD_SLOTS,
};

/* A shard: one thread pinned to one CPU, one reactor, and what it owns:
 * what the services keep in its slots — client connections on network
 * shards, partitions and the groups whose __consumer_offsets partitions they
 * are on io shards, and on shard 0 the topic registry (the control shard).
 * Shards talk only through mailboxes (shard_mail.h). */
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

/* Broker-wide state of the layers above, one slot each. */
enum runtime_slot {
	RUNTIME_SLOT_TOPICS,   /* the topic registry and the metadata store (meta/) */
	RUNTIME_SLOT_NET,      /* the dispatch table and the metrics endpoint (net/) */
	RUNTIME_SLOTS,
};

/* One service's hooks, run on each shard's own thread in the order the
 * services were registered. Any hook may be NULL. */
struct shard_service {
	const char *name;
	/* Once every shard is up, before the loop's first turn. */
	void (*serve)(struct shard *s);
	/* At the start of every loop turn. */
	void (*turn)(struct shard *s);
	/* The broker stops: stop taking work, answer what waits, close. */
	void (*stop)(struct shard *s);
	/* After the stop: whether nothing of this service remains on the shard
	 * that another shard could still need (the shard leaves its loop only
	 * once every shard is quiet). */
	bool (*quiet)(const struct shard *s);
};

enum { RUNTIME_SERVICES_MAX = 8 };

struct runtime {
	struct broker_config cfg;
	struct shard *shards;
	uint32_t shard_count;         /* max(network shards, io shards) */
	uint32_t network_shards;      /* shards 0..network_shards-1 own connections */
	uint32_t io_shards;           /* shards 0..io_shards-1 own partitions (and coordinate
				       * the groups of their __consumer_offsets partitions);
				       * shard 0 is also the control shard (the registry) */
	cpu_set_t worker_cpus;        /* cpu.affinity: where io_uring workers may run */
	_Atomic bool worker_cpus_refused; /* the kernel refused worker_cpus (logged once) */
	struct mailbox *mailboxes;    /* shard_count x shard_count, [from][to] */
	bool mailboxes_ready;
	_Atomic uint32_t shards_running; /* shard threads not yet finished */
	_Atomic uint32_t shards_ready;  /* shards whose ring is enabled (the start barrier) */
	_Atomic bool start_abandoned;   /* a shard could not start: none may serve */
	_Atomic int stop_requested;   /* set by the signal handler (lock-free) */
	_Atomic uint32_t shards_quiet; /* shards stopped whose services are all quiet */
	/* Runs first on every shard's thread (the executable gives each shard
	 * its own allocator arena). */
	void (*thread_init)(uint32_t shard);
	/* Runs once, on the control shard, when every shard has passed the start
	 * barrier: from then on the broker serves (the executable tells systemd). */
	void (*serving)(void);
	bool shards_running_loops;    /* set before the shard threads start */
	struct sync_snapshot *_Atomic snapshot; /* published by the control shard */
	struct metadata_sync sync;    /* the control shard's rounds */
	void *slots[RUNTIME_SLOTS];
	const struct shard_service *services[RUNTIME_SERVICES_MAX];
	uint32_t service_count;
};

/* Adds a service's hooks (before the shards run). */
void runtime_service_add(struct runtime *rt, const struct shard_service *svc);

#endif
