/* A shard's listener, accept loop, run loop and request-byte budget. */
#include "core/shard/shard.h"

#include <arpa/inet.h>
#include <assert.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/net/conn.h"
#include "core/log/fetch_wait.h"
#include "core/group/group_coordinator.h"
#include "core/slog.h"
#include "core/net/metrics_http.h"
#include "core/shard/shard_mail.h"

enum {
	SHARD_LISTEN_BACKLOG = 1024,
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

void shard_request_bytes_add(struct shard *s, uint64_t n)
{
	s->request_bytes_in_flight += n;
}

bool shard_over_budget(const struct shard *s)
{
	return s->request_bytes_in_flight > s->request_bytes_max;
}

void shard_pause_conn(struct shard *s, struct conn *c)
{
	if (c->paused)
		return;
	c->paused = true;
	METRIC_ADD(s->metrics.receive_pauses, 1);
	c->paused_next = s->paused_head;
	s->paused_head = c;
}

void shard_request_bytes_sub(struct shard *s, uint64_t n)
{
	assert(s->request_bytes_in_flight >= n);
	s->request_bytes_in_flight -= n;
	if ((shard_over_budget(s) && !conn_budget_needs_a_finisher(s)) || !s->paused_head)
		return;
	/* Detach first: a connection still at its own request limit pauses
	 * itself again onto the fresh list. */
	struct conn *list = s->paused_head;
	s->paused_head = NULL;
	while (list) {
		struct conn *c = list;
		list = c->paused_next;
		c->paused_next = NULL;
		conn_resume(c);
	}
}

/* Arms the multishot accept again (after it ended, or after a back-off). */
static void shard_accept_again(struct conn_listener *l)
{
	struct shard *s = container_of(l, struct shard, net.listener);
	if (!s->accept_armed && !s->stopping) {
		s->accept_armed = true;
		io_accept_multishot(s->reactor, s->listen_fd, &s->accept_op);
	}
}

static void shard_on_accept(struct io_op *op, int32_t res, uint32_t flags)
{
	struct shard *s = container_of(op, struct shard, accept_op);
	if (!(flags & IO_MORE))
		s->accept_armed = false;
	if (res >= 0) {
		if (s->stopping)
			close(res);
		else
			conn_open(s, res);
	} else if (conn_listener_failed(&s->net.listener, res)) {
		return; /* out of descriptors: accepting resumes after the back-off */
	} else if (res != -ECANCELED && res != -EINTR && res != -ECONNABORTED) {
		slog_warn("shard", "accept on shard %u: %s", s->id, strerror(-res));
	}
	shard_accept_again(&s->net.listener);
}

static void shard_on_listen_cancel(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}

/* Binds the configured listener with SO_REUSEPORT so that later shards can
 * bind the same address and the kernel spreads connections over them. The
 * shard starts accepting on its own thread. */
int shard_open_listener(struct shard *s, char *err, size_t errlen)
{
	const struct broker_config *cfg = &s->broker->cfg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	const char *host = cfg->listen_host[0] ? cfg->listen_host : NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "listeners: cannot resolve '%s': %s", cfg->listen_host,
			 gai_strerror(gai));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SHARD_LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "listeners: cannot listen on %s:%u: %s",
			 cfg->listen_host[0] ? cfg->listen_host : "*", cfg->listen_port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	s->listen_fd = fd;
	return 0;
}

static void shard_arm_accept(struct shard *s)
{
	if (s->listen_fd < 0)
		return;
	char name[CONN_LISTENER_NAME_BYTES];
	snprintf(name, sizeof(name), "shard %u", s->id);
	conn_listener_init(&s->net.listener, s->reactor, name, shard_accept_again);
	s->accept_op.done = shard_on_accept;
	s->accept_armed = true;
	io_accept_multishot(s->reactor, s->listen_fd, &s->accept_op);
}

/* Whether the shard may leave its loop after the stop: its connections are
 * gone, its ring is idle, its outgoing messages left, no network shard still
 * has a connection (whose requests could need this shard's partitions), and
 * (the control shard, which the others report to) every other shard is done. */
static bool shard_finished(struct shard *s)
{
	if (s->conns || reactor_inflight(s->reactor) > 0 || !shard_mail_sent(s))
		return false;
	struct broker *b = s->broker;
	if (atomic_load(&b->network_shards_quiet) < b->network_shards)
		return false;
	return s->id != 0 || atomic_load(&b->shards_running) == 1;
}

static void shard_turn(struct shard *s)
{
	metadata_sync_turn(s);
	bool more = shard_mail_drain(s);
	reactor_run_once(s->reactor, more ? 0 : SHARD_POLL_NS);
}

/* The shard's thread stays on its CPU, but the kernel workers that copy its
 * buffered appends into the page cache may run on any of cpu.affinity:
 * confined to the shard's CPU they would queue behind it. */
static void shard_free_workers(struct shard *s)
{
	int rc = reactor_set_worker_cpus(s->reactor, &s->broker->worker_cpus);
	if (rc != 0)
		slog_warn("shard", "shard %u: io_uring workers stay on CPU %d: %s", s->id, s->cpu,
			  strerror(-rc));
}

/* The start barrier: nothing may be posted to a shard before its ring is
 * enabled (a doorbell into a disabled ring is refused), so each shard, once
 * its ring and mailboxes are ready, waits here for every other before it
 * accepts a connection or sends a message. False when the start was
 * abandoned (a shard's thread could not be created). */
static bool shard_wait_for_all(struct shard *s)
{
	struct broker *b = s->broker;
	atomic_fetch_add(&b->shards_ready, 1);
	uint64_t deadline_ns = reactor_now_ns() + SHARD_START_TIMEOUT_MS * 1000000ull;
	while (atomic_load(&b->shards_ready) < b->shard_count) {
		if (atomic_load(&b->start_abandoned))
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

/* Serves until the broker asks to stop, then closes every connection,
 * answers what waits on this shard's data, and stays until no other shard
 * can still need it. */
static void shard_serve(struct shard *s)
{
	shard_arm_accept(s);
	while (!atomic_load(&s->broker->stop_requested))
		shard_turn(s);
	s->stopping = true;
	if (s->listen_fd >= 0 && s->accept_armed) {
		s->listen_cancel_op.done = shard_on_listen_cancel;
		io_cancel_fd(s->reactor, s->listen_fd, &s->listen_cancel_op);
	}
	if (s->id == 0)
		metrics_http_stop(s->broker);
	if (s->io) {
		fetch_waiters_finish_all(s);
		group_coordinator_shutdown(s);
	}
	for (struct conn *c = s->conns; c;) {
		struct conn *next = c->next;
		conn_close(c, NULL);
		c = next;
	}
	bool quiet = !s->network;
	while (!shard_finished(s)) {
		if (!quiet && !s->conns) {
			quiet = true;
			atomic_fetch_add(&s->broker->network_shards_quiet, 1);
		}
		shard_turn(s);
	}
	if (s->id != 0)
		atomic_fetch_sub(&s->broker->shards_running, 1);
}

void shard_run(struct shard *s)
{
	shard_self = s;
	shard_free_workers(s);
	shard_mail_attach(s);
	if (shard_wait_for_all(s))
		shard_serve(s);
	shard_mail_detach(s);
	while (!shard_mail_detached(s) || reactor_inflight(s->reactor) > 0)
		reactor_run_once(s->reactor, SHARD_POLL_NS);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		s->listen_fd = -1;
	}
}

static void *shard_thread_main(void *arg)
{
	struct shard *s = arg;
	struct broker *b = s->broker;
	if (b->thread_init)
		b->thread_init(s->id);
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
