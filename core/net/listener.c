/* A network shard's listener and accept loop, and the network layer's shard
 * hooks (see listener.h). */
#include "core/net/listener.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/net/conn.h"
#include "core/net/metrics_http.h"
#include "core/shard/shard.h"
#include "core/slog.h"

enum {
	NET_LISTEN_BACKLOG = 1024,
	NET_PROBE_TRIES = 100,
	NET_PROBE_RETRY_US = 50000, /* 100 x 50 ms: five seconds at most */
};

/* Arms the multishot accept again (after it ended, or after a back-off). */
static void net_accept_again(struct conn_listener *l)
{
	struct conn_shard *n = container_of(l, struct conn_shard, listener);
	struct shard *s = n->shard;
	if (!n->accept_armed && !s->stopping) {
		n->accept_armed = true;
		io_accept_multishot(s->reactor, n->listen_fd, &n->accept_op);
	}
}

static void net_on_accept(struct io_op *op, int32_t res, uint32_t flags)
{
	struct conn_shard *n = container_of(op, struct conn_shard, accept_op);
	struct shard *s = n->shard;
	if (!(flags & IO_MORE))
		n->accept_armed = false;
	if (res >= 0) {
		if (s->stopping)
			close(res);
		else
			conn_open(s, res);
	} else if (conn_listener_failed(&n->listener, res)) {
		return; /* out of descriptors: accepting resumes after the back-off */
	} else if (res != -ECANCELED && res != -EINTR && res != -ECONNABORTED) {
		slog_warn("shard", "accept on shard %u: %s", s->id, strerror(-res));
	}
	net_accept_again(&n->listener);
}

static void net_on_listen_cancel(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}

/* SO_REUSEPORT lets the network shards share one address, but it also lets
 * another process of the same user join the group and take a share of the
 * connections unseen. So before the first shard binds, a probe without
 * SO_REUSEPORT must get the address: a listener already there (another
 * broker) fails the start, as Kafka's "Address already in use" does. A broker
 * killed a moment ago keeps its listener until the kernel has torn its ring
 * down: the probe waits for that, boundedly. */
static int net_address_free(const struct addrinfo *ai)
{
	int one = 1;
	for (int i = 0;; i++) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		int rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
				 bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
			 ? 0
			 : -errno;
		close(fd);
		if (rc != -EADDRINUSE || i + 1 >= NET_PROBE_TRIES)
			return rc;
		usleep(NET_PROBE_RETRY_US);
	}
}

int net_open_listener(struct shard *s, char *err, size_t errlen)
{
	const struct broker_config *cfg = &s->rt->cfg;
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
	int probe = s->id == 0 ? net_address_free(res) : 0;
	if (probe != 0) {
		snprintf(err, errlen, "listeners: cannot listen on %s:%u: %s%s",
			 cfg->listen_host[0] ? cfg->listen_host : "*", cfg->listen_port,
			 strerror(-probe),
			 probe == -EADDRINUSE ? " (another process listens there)" : "");
		freeaddrinfo(res);
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, NET_LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "listeners: cannot listen on %s:%u: %s",
			 cfg->listen_host[0] ? cfg->listen_host : "*", cfg->listen_port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	conn_shard_of(s)->listen_fd = fd;
	return 0;
}

static void net_shard_serve(struct shard *s)
{
	struct conn_shard *n = conn_shard_of(s);
	if (n->listen_fd < 0)
		return;
	char name[CONN_LISTENER_NAME_BYTES];
	snprintf(name, sizeof(name), "shard %u", s->id);
	conn_listener_init(&n->listener, s->reactor, name, net_accept_again);
	n->accept_op.done = net_on_accept;
	n->accept_armed = true;
	io_accept_multishot(s->reactor, n->listen_fd, &n->accept_op);
}

static void net_shard_stop(struct shard *s)
{
	struct conn_shard *n = conn_shard_of(s);
	if (n->listen_fd >= 0 && n->accept_armed) {
		n->listen_cancel_op.done = net_on_listen_cancel;
		io_cancel_fd(s->reactor, n->listen_fd, &n->listen_cancel_op);
	}
	if (s->id == 0)
		metrics_http_stop(s->rt);
	for (struct conn *c = n->conns; c;) {
		struct conn *next = c->next;
		conn_close(c, NULL);
		c = next;
	}
}

static bool net_shard_quiet(const struct shard *s)
{
	return !conn_shard_of(s)->conns && (s->id != 0 || metrics_http_quiet(s->rt));
}

const struct shard_service net_shard_service = {
	.name = "net",
	.serve = net_shard_serve,
	.stop = net_shard_stop,
	.quiet = net_shard_quiet,
};

int net_shards_create(struct runtime *rt)
{
	for (uint32_t i = 0; i < rt->shard_count; i++) {
		struct shard *s = &rt->shards[i];
		struct conn_shard *n = calloc(1, sizeof(*n));
		if (!n) {
			slog_error("net", "out of memory for shard %u's connections", i);
			return -1;
		}
		n->shard = s;
		n->listen_fd = -1;
		s->slots[SHARD_SLOT_NET] = n;
		conn_shard_init(s);
	}
	return 0;
}

void net_shards_free(struct runtime *rt)
{
	for (uint32_t i = 0; rt->shards && i < rt->shard_count; i++) {
		struct conn_shard *n = conn_shard_of(&rt->shards[i]);
		if (!n)
			continue;
		if (n->listen_fd >= 0)
			close(n->listen_fd);
		free(n);
		rt->shards[i].slots[SHARD_SLOT_NET] = NULL;
	}
}
