/* The Prometheus endpoint: accepts on its own port, reads one request head,
 * answers GET /metrics with the text exposition format, and closes. */
#include "core/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/shard.h"

enum {
	METRICS_HTTP_REQUEST_BYTES = 4096,
	METRICS_HTTP_BODY_BYTES = 256 * 1024,
	METRICS_HTTP_CLIENTS_MAX = 16,
	METRICS_HTTP_BIND_TRIES = 100,
	METRICS_HTTP_BIND_RETRY_US = 50000, /* 100 x 50 ms: five seconds at most */
};

struct metrics_client {
	struct metrics_http *server;
	uint32_t slot;
	int fd;
	struct io_op op;
	char req[METRICS_HTTP_REQUEST_BYTES];
	size_t req_len;
	char *resp;
	size_t resp_len;
	size_t resp_sent;
	bool sending;
};

struct metrics_http {
	struct broker *broker;
	struct shard *shard;
	int listen_fd;
	struct io_op accept_op;
	struct io_op cancel_op;
	bool accept_armed;
	bool stopping;
	struct conn_listener listener;
	uint32_t clients;
	struct metrics_client *slots[METRICS_HTTP_CLIENTS_MAX];
};

static void metrics_client_free(struct metrics_client *c)
{
	c->server->clients--;
	c->server->slots[c->slot] = NULL;
	close(c->fd);
	free(c->resp);
	free(c);
}

static void metrics_client_respond(struct metrics_client *c)
{
	bool get_metrics = strncmp(c->req, "GET /metrics", 12) == 0;
	char *body = malloc(METRICS_HTTP_BODY_BYTES);
	c->resp = malloc(METRICS_HTTP_BODY_BYTES + 256);
	if (!body || !c->resp) {
		free(body);
		metrics_client_free(c);
		return;
	}
	size_t body_len = get_metrics ? metrics_render(c->server->broker, body, METRICS_HTTP_BODY_BYTES)
				      : (size_t)snprintf(body, METRICS_HTTP_BODY_BYTES, "not found\n");
	int n = snprintf(c->resp, 256, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 get_metrics ? "200 OK" : "404 Not Found", body_len);
	memcpy(c->resp + n, body, body_len);
	free(body);
	c->resp_len = (size_t)n + body_len;
	c->sending = true;
	io_send(c->server->shard->reactor, c->fd, c->resp, c->resp_len, 0, &c->op);
}

static void metrics_client_on_io(struct io_op *op, int32_t res, uint32_t flags)
{
	struct metrics_client *c = container_of(op, struct metrics_client, op);
	(void)flags;
	if (res <= 0 || c->server->stopping) {
		metrics_client_free(c);
		return;
	}
	struct reactor *r = c->server->shard->reactor;
	if (c->sending) {
		c->resp_sent += (size_t)res;
		if (c->resp_sent >= c->resp_len)
			metrics_client_free(c);
		else
			io_send(r, c->fd, c->resp + c->resp_sent, c->resp_len - c->resp_sent, 0, &c->op);
		return;
	}
	c->req_len += (size_t)res;
	c->req[c->req_len < sizeof(c->req) ? c->req_len : sizeof(c->req) - 1] = '\0';
	if (strstr(c->req, "\r\n\r\n") || c->req_len >= sizeof(c->req) - 1)
		metrics_client_respond(c);
	else
		io_recv(r, c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, &c->op);
}

/* Arms the multishot accept again (after it ended, or after a back-off). */
static void metrics_http_accept_again(struct conn_listener *l)
{
	struct metrics_http *m = container_of(l, struct metrics_http, listener);
	if (!m->accept_armed && !m->stopping) {
		m->accept_armed = true;
		io_accept_multishot(m->shard->reactor, m->listen_fd, &m->accept_op);
	}
}

static void metrics_http_on_accept(struct io_op *op, int32_t res, uint32_t flags)
{
	struct metrics_http *m = container_of(op, struct metrics_http, accept_op);
	if (!(flags & IO_MORE))
		m->accept_armed = false;
	if (res >= 0) {
		struct metrics_client *c = NULL;
		if (!m->stopping && m->clients < METRICS_HTTP_CLIENTS_MAX)
			c = calloc(1, sizeof(*c));
		if (!c) {
			close(res);
		} else {
			m->clients++;
			for (c->slot = 0; m->slots[c->slot]; c->slot++)
				;
			m->slots[c->slot] = c;
			c->server = m;
			c->fd = res;
			c->op.done = metrics_client_on_io;
			io_recv(m->shard->reactor, res, c->req, sizeof(c->req) - 1, &c->op);
		}
	} else if (conn_listener_failed(&m->listener, res)) {
		return; /* out of descriptors: accepting resumes after the back-off */
	}
	metrics_http_accept_again(&m->listener);
}

static void metrics_http_on_cancel(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}

int metrics_http_start(struct broker *b, struct shard *s, char *err, size_t errlen)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(b->cfg.metrics_port) };
	const char *host = b->cfg.listen_host[0] ? b->cfg.listen_host : "0.0.0.0";
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	bool ok = inet_pton(AF_INET, host, &addr.sin_addr) == 1 && fd >= 0 &&
		  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0;
	/* A previous broker killed with SIGKILL keeps its listener until the
	 * kernel has torn its ring down; wait for that, boundedly. */
	for (int i = 0; ok && i < METRICS_HTTP_BIND_TRIES; i++) {
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		ok = errno == EADDRINUSE && i + 1 < METRICS_HTTP_BIND_TRIES;
		if (ok)
			usleep(METRICS_HTTP_BIND_RETRY_US);
	}
	if (!ok || listen(fd, 64) != 0) {
		snprintf(err, errlen, "sluice.metrics.port: cannot listen on %s:%u: %s", host,
			 b->cfg.metrics_port, fd < 0 ? strerror(errno) : strerror(errno));
		if (fd >= 0)
			close(fd);
		free(m);
		return -1;
	}
	m->broker = b;
	m->shard = s;
	m->listen_fd = fd;
	m->accept_op.done = metrics_http_on_accept;
	m->cancel_op.done = metrics_http_on_cancel;
	conn_listener_init(&m->listener, s->reactor, "metrics", metrics_http_accept_again);
	m->accept_armed = true;
	io_accept_multishot(s->reactor, fd, &m->accept_op);
	b->metrics_http = m;
	slog_info("metrics", "Prometheus metrics on http://%s:%u/metrics", host, b->cfg.metrics_port);
	return 0;
}

void metrics_http_stop(struct broker *b)
{
	struct metrics_http *m = b->metrics_http;
	if (!m || m->stopping)
		return;
	m->stopping = true;
	conn_listener_stop(&m->listener);
	if (m->accept_armed)
		io_cancel_fd(m->shard->reactor, m->listen_fd, &m->cancel_op);
	/* A scraper that never finishes its request must not hold up the stop. */
	for (uint32_t i = 0; i < METRICS_HTTP_CLIENTS_MAX; i++)
		if (m->slots[i])
			shutdown(m->slots[i]->fd, SHUT_RDWR);
}

void metrics_http_free(struct broker *b)
{
	struct metrics_http *m = b->metrics_http;
	if (!m)
		return;
	close(m->listen_fd);
	free(m);
	b->metrics_http = NULL;
}
