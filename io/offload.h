/* A shard's helper thread for blocking work: decompression, reads and scans
 * that a peer can make large, which must not stall the shard's loop.
 *
 * The owning shard hands a job over with everything it needs (the job owns
 * its buffers and any descriptor it reads, e.g. a dup()ed one, until done
 * runs); the helper runs `run` on its own thread; `done` then runs on the
 * owner's thread, from the owner's reactor, in the order the jobs were
 * submitted. At most OFFLOAD_QUEUE_MAX jobs are handed over at once; more
 * wait on the owner, in order, in the jobs themselves (nothing is allocated
 * per job: the callers' own budgets bound how many they submit).
 *
 * The handoff is two lock-free single-producer/single-consumer rings (owner
 * to helper, helper to owner) and two eventfds: the helper sleeps in a read
 * of its own, and the owner's reactor has a read armed on the other while a
 * job is in flight, so a pending job counts in reactor_inflight and an owner
 * that waits for an idle reactor waits for its jobs. Each eventfd is written
 * only when its reader may have gone past the last write. */
#ifndef SLUICE_IO_OFFLOAD_H
#define SLUICE_IO_OFFLOAD_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "io/reactor.h"

enum { OFFLOAD_QUEUE_MAX = 64 }; /* jobs handed to the helper at once (a power of two) */

struct offload_job {
	void (*run)(struct offload_job *job);  /* on the helper thread; must be bounded */
	void (*done)(struct offload_job *job); /* on the owner's thread, after run */
	struct offload_job *next;              /* offload's: waiting on the owner */
};

struct offload;

/* Starts the helper thread (signals blocked, allowed on `cpus`, or where the
 * caller may run when NULL) for the reactor `owner`. On failure returns NULL
 * with the reason in err. Callable before the owner's thread runs. */
struct offload *offload_create(struct reactor *owner, const cpu_set_t *cpus, const char *name,
			       char *err, size_t errlen);
/* Owner's thread: hands the job over, or queues it behind the ones that are. */
void offload_submit(struct offload *o, struct offload_job *job);
/* Jobs submitted whose done has not run yet; of them, those waiting on the
 * owner for room in the handoff. */
uint32_t offload_in_flight(const struct offload *o);
uint32_t offload_waiting(const struct offload *o);
/* Waits for every job in flight (running the owner's reactor: on the owner's
 * thread, unless none is in flight), stops the helper and frees. */
void offload_destroy(struct offload *o);

#endif
