/* A shard's thread, start barrier and run loop, and the services' hooks. */
#include "core/shard/shard.h"

#include <assert.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/shard/shard_mail.h"
#include "core/slog.h"

enum {
	SHARD_START_TIMEOUT_MS = 30000, /* every shard's thread is up by then */
	SHARD_START_POLL_NS = 100000,   /* how often a shard looks at the start barrier */
};

/* Which shard this thread runs: thread-local, never shared. */
static __thread struct shard *shard_self;

struct shard *shard_current(void)
{
	return shard_self;
}

/* The longest the loop sleeps before it looks at the stop flag. */
static const uint64_t SHARD_POLL_NS = 100ull * 1000 * 1000;

void runtime_service_add(struct runtime *rt, const struct shard_service *svc)
{
	if (rt->service_count >= RUNTIME_SERVICES_MAX) {
		slog_error("shard", "more than %d services registered (service %s)",
			   RUNTIME_SERVICES_MAX, svc->name);
		abort();
	}
	rt->services[rt->service_count++] = svc;
}

/* Whether every service is done with the shard after the stop. */
static bool shard_services_quiet(const struct shard *s)
{
	const struct runtime *rt = s->rt;
	for (uint32_t i = 0; i < rt->service_count; i++)
		if (rt->services[i]->quiet && !rt->services[i]->quiet(s))
			return false;
	return true;
}

/* Whether the shard may leave its loop after the stop: its services are
 * quiet, its ring is idle, its outgoing messages left, every other shard is
 * quiet too (a shard with a connection left could still need this shard's
 * partitions), and (the control shard, which the others report to) every
 * other shard is done. */
static bool shard_finished(struct shard *s)
{
	if (!shard_services_quiet(s) || reactor_inflight(s->reactor) > 0 || !shard_mail_sent(s))
		return false;
	struct runtime *rt = s->rt;
	if (atomic_load(&rt->shards_quiet) < rt->shard_count)
		return false;
	return s->id != 0 || atomic_load(&rt->shards_running) == 1;
}

static void shard_turn(struct shard *s)
{
	const struct runtime *rt = s->rt;
	for (uint32_t i = 0; i < rt->service_count; i++)
		if (rt->services[i]->turn)
			rt->services[i]->turn(s);
	bool more = shard_mail_drain(s);
	reactor_run_once(s->reactor, more ? 0 : SHARD_POLL_NS);
}

/* The shard's thread stays on its CPU, but the kernel workers that copy its
 * buffered appends into the page cache may run on any of cpu.affinity:
 * confined to the shard's CPU they would queue behind it. A kernel that
 * refuses the setting refuses it for every shard: one line says so. */
static void shard_free_workers(struct shard *s)
{
	int rc = reactor_set_worker_cpus(s->reactor, &s->rt->worker_cpus);
	if (rc != 0 && !atomic_exchange(&s->rt->worker_cpus_refused, true))
		slog_info("shard", "io_uring workers stay on their shard's CPU (the kernel refused "
			  "cpu.affinity for them: %s): harmless; buffered appends only wait a little "
			  "longer behind a busy shard", strerror(-rc));
}

/* The start barrier: nothing may be posted to a shard before its ring is
 * enabled (a doorbell into a disabled ring is refused), so each shard, once
 * its ring and mailboxes are ready, waits here for every other before it
 * accepts a connection or sends a message. False when the start was
 * abandoned (a shard's thread could not be created). */
static bool shard_wait_for_all(struct shard *s)
{
	struct runtime *rt = s->rt;
	atomic_fetch_add(&rt->shards_ready, 1);
	uint64_t deadline_ns = reactor_now_ns() + SHARD_START_TIMEOUT_MS * 1000000ull;
	while (atomic_load(&rt->shards_ready) < rt->shard_count) {
		if (atomic_load(&rt->start_abandoned))
			return false;
		if (reactor_now_ns() > deadline_ns) {
			slog_error("shard", "shard %u: the other shards did not start within %u ms",
				   s->id, SHARD_START_TIMEOUT_MS);
			abort();
		}
		struct timespec pause = { 0, SHARD_START_POLL_NS };
		nanosleep(&pause, NULL);
	}
	return true;
}

/* Serves until the broker asks to stop, then has every service stop (close
 * its connections, answer what waits on this shard's data), and stays until
 * no other shard can still need it. */
static void shard_serve(struct shard *s)
{
	struct runtime *rt = s->rt;
	for (uint32_t i = 0; i < rt->service_count; i++)
		if (rt->services[i]->serve)
			rt->services[i]->serve(s);
	while (!atomic_load(&rt->stop_requested))
		shard_turn(s);
	s->stopping = true;
	for (uint32_t i = 0; i < rt->service_count; i++)
		if (rt->services[i]->stop)
			rt->services[i]->stop(s);
	bool quiet = false;
	while (!shard_finished(s)) {
		if (!quiet && shard_services_quiet(s)) {
			quiet = true;
			atomic_fetch_add(&rt->shards_quiet, 1);
		}
		shard_turn(s);
	}
	if (s->id != 0)
		atomic_fetch_sub(&rt->shards_running, 1);
}

void shard_run(struct shard *s)
{
	shard_self = s;
	shard_free_workers(s);
	shard_mail_attach(s);
	if (shard_wait_for_all(s)) {
		if (s->id == SHARD_CONTROL && s->rt->serving)
			s->rt->serving();
		shard_serve(s);
	}
	shard_mail_detach(s);
	while (!shard_mail_detached(s) || reactor_inflight(s->reactor) > 0)
		reactor_run_once(s->reactor, SHARD_POLL_NS);
}

static void *shard_thread_main(void *arg)
{
	struct shard *s = arg;
	struct runtime *rt = s->rt;
	if (rt->thread_init)
		rt->thread_init(s->id);
	int rc = reactor_enable(s->reactor);
	if (rc != 0) {
		slog_error("shard", "shard %u cannot own its ring: %s", s->id, strerror(-rc));
		abort();
	}
	shard_run(s);
	return NULL;
}

int shard_pin(struct shard *s, pthread_t thread)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	return pthread_setaffinity_np(thread, sizeof(set), &set);
}


int shard_spawn(struct shard *s)
{
	sigset_t all, old;
	sigfillset(&all);
	/* Signals go to the main thread, which runs the first shard. */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, shard_thread_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	s->own_thread = true;
	rc = shard_pin(s, s->thread);
	if (rc != 0)
		slog_warn("shard", "shard %u: cannot pin to CPU %d: %s", s->id, s->cpu, strerror(rc));
	return 0;
}
