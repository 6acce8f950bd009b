/* The Prometheus endpoint: accepts on its own port, reads one request head
 * within a deadline, answers it (GET /metrics: the text exposition format;
 * GET /: the status page; GET /health), and closes. Slots are bounded; see
 * metrics_http.h for who gets one. */
#include "core/net/metrics_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdatomic.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/net/net.h"
#include "core/net/conn.h"
#include "core/slog.h"
#include "core/net/metrics.h"
#include "core/net/metrics_gather.h"
#include "core/net/metrics_out.h"
#include "core/net/status_page.h"
#include "core/shard/shard.h"

enum {
	METRICS_HTTP_REQUEST_BYTES = 4096,
	/* 10,000 partitions take about 10 MiB of exposition. */
	METRICS_HTTP_BODY_MAX_BYTES = 64 * 1024 * 1024,
	METRICS_HTTP_ERROR_BODY_BYTES = 64,
	METRICS_HTTP_HEADER_BYTES = 256,
	METRICS_HTTP_CLIENTS_MAX = 16,
	/* Evicted clients wait for their op to end before they are freed: this
	 * many at most, then newcomers get 503. */
	METRICS_HTTP_CLOSING_MAX = 16,
	METRICS_HTTP_DEADLINE_MS = 5000,
	METRICS_HTTP_BIND_TRIES = 100,
	METRICS_HTTP_BIND_RETRY_US = 50000, /* 100 x 50 ms: five seconds at most */
	METRICS_HTTP_LISTEN_BACKLOG = 64,
};

/* ---- the request head ---- */

/* RFC 9110 tchar. */
static bool metrics_http_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The request line in line[0, len), its line end removed. */
static bool metrics_http_parse_request_line(const char *line, size_t len,
					    struct metrics_http_head *out)
{
	static const char version[] = "HTTP/d.d";
	size_t i = 0;
	while (i < len && metrics_http_tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i == len || line[i] != ' ')
		return false;
	out->method = line;
	out->method_len = i;
	size_t target = ++i;
	while (i < len && (unsigned char)line[i] > ' ' && (unsigned char)line[i] < 0x7f)
		i++;
	if (i == target || line[target] != '/' || i == len || line[i] != ' ')
		return false;
	size_t target_len = i - target;
	const char *q = memchr(line + target, '?', target_len);
	out->path = line + target;
	out->path_len = q ? (size_t)(q - out->path) : target_len;
	out->query = q ? q + 1 : NULL;
	out->query_len = q ? target_len - out->path_len - 1 : 0;
	i++;
	if (len - i != sizeof(version) - 1)
		return false;
	for (size_t k = 0; k < sizeof(version) - 1; k++) {
		char ch = line[i + k];
		bool ok = version[k] == 'd' ? ch >= '0' && ch <= '9' : ch == version[k];
		if (!ok)
			return false;
	}
	return true;
}

/* Length of the line at p (up to end) without its line end, and where the
 * next one starts; false when no LF ends it yet. */
static bool metrics_http_line(const char *p, const char *end, size_t *len, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	if (!lf)
		return false;
	*len = (size_t)(lf - p) - (lf > p && lf[-1] == '\r');
	*next = lf + 1;
	return true;
}

enum metrics_http_head_status metrics_http_parse_head(const char *buf, size_t len,
						      struct metrics_http_head *out)
{
	const char *end = buf + len;
	const char *next;
	size_t line_len;
	struct metrics_http_head h = { 0 };
	if (!metrics_http_line(buf, end, &line_len, &next))
		return METRICS_HTTP_HEAD_INCOMPLETE;
	if (!metrics_http_parse_request_line(buf, line_len, &h))
		return METRICS_HTTP_HEAD_MALFORMED;
	for (;;) {
		const char *line = next;
		if (!metrics_http_line(line, end, &line_len, &next))
			return METRICS_HTTP_HEAD_INCOMPLETE;
		if (line_len == 0)
			break;
	}
	h.head_len = (size_t)(next - buf);
	*out = h;
	return METRICS_HTTP_HEAD_COMPLETE;
}

int metrics_http_route(const struct metrics_http_head *h, enum metrics_http_page *page)
{
	static const struct {
		const char *path;
		enum metrics_http_page page;
	} routes[] = {
		{ "/metrics", METRICS_HTTP_PAGE_METRICS },
		{ "/", METRICS_HTTP_PAGE_STATUS },
		{ "/health", METRICS_HTTP_PAGE_HEALTH },
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (h->path_len != strlen(routes[i].path) ||
		    memcmp(h->path, routes[i].path, h->path_len) != 0)
			continue;
		if (h->method_len != 3 || memcmp(h->method, "GET", 3) != 0)
			return 405;
		*page = routes[i].page;
		return 200;
	}
	return 404;
}

/* ---- clients ---- */

struct metrics_client {
	struct metrics_http *server;
	struct metrics_client *prev, *next; /* newest first */
	int fd;
	struct io_op op;                    /* exactly one in flight while the client lives */
	struct io_timer deadline;
	char req[METRICS_HTTP_REQUEST_BYTES];
	size_t req_len;
	char *resp;
	size_t resp_len;
	size_t resp_sent;
	enum metrics_http_page page;
	struct metrics_gather gather;       /* out while `gathering`: no op is in flight */
	bool gathering;
	bool sending;
	bool closing;
};

struct metrics_http {
	struct runtime *rt;
	struct shard *shard;
	int listen_fd;
	struct io_op accept_op;
	struct io_op cancel_op;
	bool accept_armed;
	bool stopping;
	struct conn_listener listener;
	struct metrics_client *clients;
	uint32_t serving;                   /* clients not closing */
	uint32_t closing;
	uint32_t gathering;                 /* clients whose gather is out */
	struct metrics_shard_sample *samples; /* per shard, for utilisation */
	struct status_page_rates *rates;    /* the status page's previous figures */
	size_t last_exposition_len;         /* the sizes of the last renderings */
	size_t last_status_page_len;
};

static void metrics_client_free(struct metrics_client *c)
{
	struct metrics_http *m = c->server;
	assert(!c->gathering);
	metrics_gather_free(&c->gather);
	if (c->closing)
		m->closing--;
	else
		m->serving--;
	if (c->prev)
		c->prev->next = c->next;
	else
		m->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	io_timer_stop(m->shard->reactor, &c->deadline);
	close(c->fd);
	free(c->resp);
	free(c);
}

/* Ends the client's op (shutdown wakes it); the completion frees it. */
static void metrics_client_close(struct metrics_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->server->serving--;
	c->server->closing++;
	io_timer_stop(c->server->shard->reactor, &c->deadline);
	/* A gathering client's gather frees it when it comes back. */
	shutdown(c->fd, SHUT_RDWR);
}

static void metrics_client_on_deadline(struct io_timer *t)
{
	metrics_client_close(container_of(t, struct metrics_client, deadline));
}

static const char *metrics_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	default: return "Service Unavailable";
	}
}

static const char metrics_http_text_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* Writes the status line and headers for a body of body_len bytes. */
static size_t metrics_http_header(char *out, size_t cap, int status, const char *type,
				  size_t body_len)
{
	int n = snprintf(out, cap, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nCache-Control: no-store\r\n"
			 "Connection: close\r\n\r\n", status, metrics_http_reason(status), type,
			 body_len);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Sends status, type and body[0, body_len) (copied); from a point where no
 * op of the client's is in flight. */
static void metrics_client_send(struct metrics_client *c, int status, const char *type,
				const char *body, size_t body_len)
{
	char header[METRICS_HTTP_HEADER_BYTES];
	size_t header_len = metrics_http_header(header, sizeof(header), status, type, body_len);
	c->resp = malloc(header_len + body_len);
	if (!c->resp) {
		slog_error("metrics", "out of memory for a %zu-byte response", header_len + body_len);
		metrics_client_free(c);
		return;
	}
	memcpy(c->resp, header, header_len);
	memcpy(c->resp + header_len, body, body_len);
	c->resp_len = header_len + body_len;
	c->sending = true;
	io_send(c->server->shard->reactor, c->fd, c->resp, c->resp_len, 0, &c->op);
}

/* Sends a rendering whose head room holds the header: its allocation becomes
 * the response, uncopied. */
static void metrics_client_send_rendered(struct metrics_client *c, const char *type,
					 struct metrics_out *o)
{
	char header[METRICS_HTTP_HEADER_BYTES];
	size_t header_len = metrics_http_header(header, sizeof(header), 200, type, o->len);
	size_t body_len = o->len;
	assert(o->head == METRICS_HTTP_HEADER_BYTES && header_len <= o->head);
	char *mem = metrics_out_take(o);
	if (!mem) {
		metrics_client_send(c, 200, type, "", 0);
		return;
	}
	size_t start = METRICS_HTTP_HEADER_BYTES - header_len;
	memcpy(mem + start, header, header_len);
	c->resp = mem;
	c->resp_sent = start;
	c->resp_len = METRICS_HTTP_HEADER_BYTES + body_len;
	c->sending = true;
	io_send(c->server->shard->reactor, c->fd, c->resp + start, c->resp_len - start, 0, &c->op);
}

static void metrics_client_send_status(struct metrics_client *c, int status)
{
	char body[METRICS_HTTP_ERROR_BODY_BYTES];
	int n = snprintf(body, sizeof(body), "%s\n", metrics_http_reason(status));
	metrics_client_send(c, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* Whether the broker serves: every shard is up and no stop was asked. */
static bool metrics_http_serving(const struct metrics_http *m)
{
	const struct runtime *rt = m->rt;
	return !m->stopping && atomic_load(&rt->shards_ready) == rt->shard_count &&
	       !atomic_load(&rt->stop_requested);
}

/* The groups are in: renders the page asked for and sends it. */
static void metrics_client_on_gathered(struct metrics_gather *g)
{
	struct metrics_client *c = container_of(g, struct metrics_client, gather);
	struct metrics_http *m = c->server;
	c->gathering = false;
	m->gathering--;
	if (c->closing || m->stopping) {
		metrics_client_free(c);
		return;
	}
	metrics_sample_shards(m->rt, m->samples);
	struct metrics_view v = { .rt = m->rt, .groups = &c->gather, .samples = m->samples };
	bool page = c->page == METRICS_HTTP_PAGE_STATUS;
	size_t *last_len = page ? &m->last_status_page_len : &m->last_exposition_len;
	struct metrics_out o;
	metrics_out_init(&o, METRICS_HTTP_BODY_MAX_BYTES, METRICS_HTTP_HEADER_BYTES, *last_len);
	if (page)
		status_page_render(&o, &v, m->rates);
	else
		metrics_render(&o, &v);
	metrics_gather_free(&c->gather);
	if (o.cut) {
		slog_error("metrics", "the %s did not fit in %u bytes (or memory)",
			   page ? "status page" : "exposition", METRICS_HTTP_BODY_MAX_BYTES);
		metrics_client_send_status(c, 500);
	} else {
		/* A little over the last size: the next rendering is usually as long. */
		*last_len = o.len + o.len / 16;
		metrics_client_send_rendered(c, page ? "text/html; charset=utf-8"
						     : metrics_http_text_type, &o);
	}
	metrics_out_free(&o);
}

/* From the client's completion: no op of its own is in flight. */
static void metrics_client_respond(struct metrics_client *c, int status)
{
	if (status != 200) {
		metrics_client_send_status(c, status);
		return;
	}
	if (c->page == METRICS_HTTP_PAGE_HEALTH) {
		int health = metrics_http_serving(c->server) ? 200 : 503;
		metrics_client_send_status(c, health);
		return;
	}
	c->gathering = true;
	c->server->gathering++;
	if (metrics_gather_start(&c->gather, c->server->shard, metrics_client_on_gathered) != 0) {
		c->gathering = false;
		c->server->gathering--;
		metrics_client_send_status(c, 503);
	}
}

/* More of the request head arrived: answer it, or read on. */
static void metrics_client_received(struct metrics_client *c)
{
	struct metrics_http_head head;
	switch (metrics_http_parse_head(c->req, c->req_len, &head)) {
	case METRICS_HTTP_HEAD_COMPLETE:
		metrics_client_respond(c, metrics_http_route(&head, &c->page));
		return;
	case METRICS_HTTP_HEAD_MALFORMED:
		metrics_client_respond(c, 400);
		return;
	case METRICS_HTTP_HEAD_INCOMPLETE:
		break;
	}
	if (c->req_len == sizeof(c->req))
		metrics_client_respond(c, 431);
	else
		io_recv(c->server->shard->reactor, c->fd, c->req + c->req_len,
			sizeof(c->req) - c->req_len, &c->op);
}

static void metrics_client_on_io(struct io_op *op, int32_t res, uint32_t flags)
{
	struct metrics_client *c = container_of(op, struct metrics_client, op);
	(void)flags;
	if (res <= 0 || c->closing || c->server->stopping) {
		metrics_client_free(c);
		return;
	}
	if (!c->sending) {
		c->req_len += (size_t)res;
		metrics_client_received(c);
		return;
	}
	c->resp_sent += (size_t)res;
	if (c->resp_sent >= c->resp_len)
		metrics_client_free(c);
	else
		io_send(c->server->shard->reactor, c->fd, c->resp + c->resp_sent,
			c->resp_len - c->resp_sent, 0, &c->op);
}

/* The oldest client still sending its request, or NULL. */
static struct metrics_client *metrics_http_eviction_victim(struct metrics_http *m)
{
	struct metrics_client *victim = NULL;
	for (struct metrics_client *c = m->clients; c; c = c->next)
		if (!c->closing && !c->sending && !c->gathering)
			victim = c;
	return victim;
}

/* Refuses fd with a 503 that fits any fresh socket's send buffer. */
static void metrics_http_refuse(struct metrics_http *m, int fd)
{
	char resp[METRICS_HTTP_HEADER_BYTES + 32];
	const char body[] = "Service Unavailable\n";
	size_t n = metrics_http_header(resp, sizeof(resp), 503, "text/plain; charset=utf-8",
				       sizeof(body) - 1);
	memcpy(resp + n, body, sizeof(body) - 1);
	(void)send(fd, resp, n + sizeof(body) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	conn_listener_refused(&m->listener, CONN_REFUSED_BUSY);
}

static void metrics_http_take(struct metrics_http *m, int fd)
{
	if (m->serving == METRICS_HTTP_CLIENTS_MAX) {
		struct metrics_client *victim = metrics_http_eviction_victim(m);
		if (!victim || m->closing == METRICS_HTTP_CLOSING_MAX) {
			metrics_http_refuse(m, fd);
			return;
		}
		metrics_client_close(victim);
	}
	struct metrics_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->server = m;
	c->fd = fd;
	c->op.done = metrics_client_on_io;
	c->next = m->clients;
	if (m->clients)
		m->clients->prev = c;
	m->clients = c;
	m->serving++;
	io_timer_init(&c->deadline);
	io_timer_arm(m->shard->reactor, &c->deadline, METRICS_HTTP_DEADLINE_MS * 1000000ull,
		     metrics_client_on_deadline);
	io_recv(m->shard->reactor, fd, c->req, sizeof(c->req), &c->op);
}

/* ---- the listener ---- */

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
		if (m->stopping)
			close(res);
		else
			metrics_http_take(m, res);
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

int metrics_http_start(struct runtime *rt, struct shard *s, char *err, size_t errlen)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(rt->cfg.metrics_port) };
	const char *host = rt->cfg.listen_host[0] ? rt->cfg.listen_host : "0.0.0.0";
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
	if (!ok || listen(fd, METRICS_HTTP_LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "sluice.metrics.port: cannot listen on %s:%u: %s", host,
			 rt->cfg.metrics_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(m);
		return -1;
	}
	m->samples = calloc(rt->shard_count, sizeof(*m->samples));
	m->rates = status_page_rates_new();
	if (!m->samples || !m->rates) {
		snprintf(err, errlen, "sluice.metrics.port: out of memory");
		close(fd);
		free(m->samples);
		status_page_rates_free(m->rates);
		free(m);
		return -1;
	}
	m->rt = rt;
	m->shard = s;
	m->listen_fd = fd;
	m->accept_op.done = metrics_http_on_accept;
	m->cancel_op.done = metrics_http_on_cancel;
	conn_listener_init(&m->listener, s->reactor, "metrics", metrics_http_accept_again);
	m->accept_armed = true;
	io_accept_multishot(s->reactor, fd, &m->accept_op);
	net_of(rt)->metrics_http = m;
	slog_info("metrics", "Prometheus metrics on http://%s:%u/metrics, the status page on /",
		  host, rt->cfg.metrics_port);
	return 0;
}

void metrics_http_stop(struct runtime *rt)
{
	struct metrics_http *m = net_of(rt)->metrics_http;
	if (!m || m->stopping)
		return;
	m->stopping = true;
	conn_listener_stop(&m->listener);
	if (m->accept_armed)
		io_cancel_fd(m->shard->reactor, m->listen_fd, &m->cancel_op);
	/* A scraper that never finishes its request must not hold up the stop. */
	for (struct metrics_client *c = m->clients; c; c = c->next)
		metrics_client_close(c);
}

bool metrics_http_quiet(struct runtime *rt)
{
	const struct metrics_http *m = net_of(rt)->metrics_http;
	return !m || m->gathering == 0;
}

void metrics_http_free(struct runtime *rt)
{
	struct metrics_http *m = net_of(rt)->metrics_http;
	if (!m)
		return;
	free(m->samples);
	status_page_rates_free(m->rates);
	close(m->listen_fd);
	free(m);
	net_of(rt)->metrics_http = NULL;
}
