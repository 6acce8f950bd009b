/* Client connections: receive framing, deadlines, in-order responses,
 * zero-copy send, and refusing what the shard cannot take. See conn.h for the
 * contract. */
#include "core/net/conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log/residency.h"
#include "core/net/metrics_clients.h"
#include "core/net/net.h"
#include "core/shard/shard.h"
#include "core/slog.h"
#include "proto/header.h"

static void conn_recv_arm(struct conn *c);
static void conn_send_next(struct conn *c);

static const struct broker_config *conn_cfg(const struct conn *c)
{
	return &c->shard->rt->cfg;
}

static uint64_t conn_ms_to_ns(uint64_t ms)
{
	return ms * 1000000ull;
}

static uint64_t conn_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- accepting ---- */

static void conn_listener_report(struct conn_listener *l, uint64_t now_ns)
{
	static const char *const what[CONN_REFUSAL_KINDS] = {
		[CONN_REFUSED_MAX_CONNECTIONS] = "over max.connections",
		[CONN_REFUSED_FD_RESERVE] = "in the descriptor reserve",
		[CONN_REFUSED_NO_FDS] = "not accepted",
		[CONN_REFUSED_BUSY] = "with every slot busy",
	};
	char text[256];
	size_t n = 0;
	uint64_t total = 0;
	for (int k = 0; k < CONN_REFUSAL_KINDS; k++) {
		if (!l->refused[k] || n >= sizeof(text))
			continue;
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%llu %s", total ? ", " : "",
				      (unsigned long long)l->refused[k], what[k]);
		total += l->refused[k];
	}
	if (l->refused[CONN_REFUSED_NO_FDS] && n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, " (%s: accepting again after %d ms)",
			 strerror(l->accept_errno), CONN_ACCEPT_BACKOFF_MS);
	if (total)
		slog_warn("conn", "%s: refused %llu connection(s): %s; summed over %d s at most",
			  l->name, (unsigned long long)total, text, CONN_REFUSALS_LOG_MS / 1000);
	memset(l->refused, 0, sizeof(l->refused));
	l->report_after_ns = now_ns + conn_ms_to_ns(CONN_REFUSALS_LOG_MS);
}

static void conn_listener_on_report(struct io_timer *t)
{
	struct conn_listener *l = container_of(t, struct conn_listener, report_timer);
	conn_listener_report(l, reactor_now_ns());
}

static void conn_listener_on_backoff(struct io_timer *t)
{
	struct conn_listener *l = container_of(t, struct conn_listener, backoff_timer);
	l->rearm(l);
}

void conn_listener_init(struct conn_listener *l, struct reactor *r, const char *name,
			void (*rearm)(struct conn_listener *l))
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->reactor = r;
	l->rearm = rearm;
	io_timer_init(&l->backoff_timer);
	io_timer_init(&l->report_timer);
}

/* The first refusal is logged at once; later ones within the interval wait
 * for the summary, so that a flood of them costs one line. */
void conn_listener_refused(struct conn_listener *l, enum conn_refusal why)
{
	l->refused[why]++;
	uint64_t now = reactor_now_ns();
	if (now >= l->report_after_ns)
		conn_listener_report(l, now);
	else if (!io_timer_armed(&l->report_timer))
		io_timer_arm(l->reactor, &l->report_timer, l->report_after_ns - now,
			     conn_listener_on_report);
}

/* An accept that fails for want of descriptors leaves the connection in the
 * backlog: arming again at once would fail again at once, forever. */
bool conn_listener_failed(struct conn_listener *l, int32_t res)
{
	if (res != -EMFILE && res != -ENFILE)
		return false;
	l->accept_errno = -res;
	conn_listener_refused(l, CONN_REFUSED_NO_FDS);
	io_timer_arm(l->reactor, &l->backoff_timer, conn_ms_to_ns(CONN_ACCEPT_BACKOFF_MS),
		     conn_listener_on_backoff);
	return true;
}

bool conn_listener_backing_off(const struct conn_listener *l)
{
	return io_timer_armed(&l->backoff_timer);
}

void conn_listener_stop(struct conn_listener *l)
{
	io_timer_stop(l->reactor, &l->backoff_timer);
	io_timer_stop(l->reactor, &l->report_timer);
}

static void conn_on_budget_resume(struct budget_waiter *w);

/* The reserve: descriptors are handed out lowest first, so a socket given
 * descriptor d means 0..d-1 are all taken; refusing every socket from
 * fd_ceiling up keeps the top descriptors for the files the broker must
 * still open (segment rolls, new partitions, checkpoints, the metadata
 * store), however many clients come, across every shard and without a
 * shared counter. */
void conn_shard_init(struct shard *s)
{
	const struct broker_config *cfg = &s->rt->cfg;
	struct conn_shard *n = conn_shard_of(s);
	struct rlimit rl;
	uint64_t limit = INT32_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < limit)
		limit = rl.rlim_cur;
	uint64_t reserve = conn_clamp(limit / 4, CONN_FD_RESERVE_MIN, CONN_FD_RESERVE_MAX);
	n->fd_ceiling = limit > reserve ? (int)(limit - reserve) : 0;
	io_timer_init(&n->sweep_timer);
	io_timer_init(&n->listener.backoff_timer);
	io_timer_init(&n->listener.report_timer);
	uint32_t shorter = cfg->connections_max_idle_ms < cfg->request_receive_timeout_ms
				   ? cfg->connections_max_idle_ms
				   : cfg->request_receive_timeout_ms;
	n->sweep_ns = conn_ms_to_ns(conn_clamp(shorter / 10, CONN_SWEEP_MIN_MS, CONN_SWEEP_MAX_MS));
	budget_init(&n->budget, cfg->queued_max_request_bytes / s->rt->network_shards,
		    conn_on_budget_resume);
	n->finisher = NULL;
	n->sweep_next = NULL;
	if (s->id == 0)
		slog_info("conn", "descriptors %d and up (RLIMIT_NOFILE %llu) are kept for files: "
			  "no connection takes one", n->fd_ceiling, (unsigned long long)limit);
}

static void conn_peer_name(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
}

static void conn_on_recv(struct io_op *op, int32_t res, uint32_t flags);
static void conn_on_send(struct io_op *op, int32_t res, uint32_t flags);
static void conn_on_splice(struct io_op *op, int32_t res, uint32_t flags);
static void conn_on_writable(struct io_op *op, int32_t res, uint32_t flags);
static void conn_on_cancel(struct io_op *op, int32_t res, uint32_t flags);
static void conn_on_sweep(struct io_timer *t);

void conn_open(struct shard *s, int fd)
{
	struct conn_shard *n = conn_shard_of(s);
	/* max.connections is the broker's; each network shard has its share. */
	uint32_t share = s->rt->cfg.max_connections / s->rt->network_shards;
	if (n->conn_count >= (share ? share : 1) || fd >= n->fd_ceiling) {
		close(fd);
		conn_listener_refused(&n->listener, fd >= n->fd_ceiling ? CONN_REFUSED_FD_RESERVE
								      : CONN_REFUSED_MAX_CONNECTIONS);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	uint8_t *rbuf = malloc(CONN_RECV_BUF_BYTES);
	if (!c || !rbuf) {
		slog_error("conn", "out of memory accepting a connection");
		free(c);
		free(rbuf);
		close(fd);
		return;
	}
	c->shard = s;
	c->fd = fd;
	c->rbuf = rbuf;
	c->id = ++n->next_conn_id;
	c->pipe_fds[0] = c->pipe_fds[1] = -1;
	c->recv_op.done = conn_on_recv;
	c->send_op.done = conn_on_send;
	c->splice_op.done = conn_on_splice;
	c->poll_op.done = conn_on_writable;
	c->cancel_op.done = conn_on_cancel;
	c->active_ns = reactor_now_ns();
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_peer_name(c);
	c->next = n->conns;
	if (n->conns)
		n->conns->prev = c;
	n->conns = c;
	n->conn_count++;
	METRIC_ADD(n->metrics.connections_accepted, 1);
	slog_debug("conn", "accepted %s (connection %llu)", c->peer, (unsigned long long)c->id);
	if (!io_timer_armed(&n->sweep_timer))
		io_timer_arm(s->reactor, &n->sweep_timer, n->sweep_ns, conn_on_sweep);
	conn_recv_arm(c);
}

/* ---- deadlines ---- */

/* What a started frame holds: bytes received of bytes declared (of its
 * 4-byte size while that is incomplete). */
static void conn_frame_progress(const struct conn *c, uint32_t *received, uint32_t *declared)
{
	if (c->big_frame) {
		*received = c->big_frame_filled;
		*declared = c->big_frame_len;
	} else if (c->rbuf_len >= FRAME_SIZE_BYTES) {
		*received = c->rbuf_len - FRAME_SIZE_BYTES;
		*declared = (uint32_t)be_load(c->rbuf, FRAME_SIZE_BYTES);
	} else {
		*received = c->rbuf_len;
		*declared = FRAME_SIZE_BYTES;
	}
}

static bool conn_requests_held(const struct conn *c);

/* A started frame must be whole within the receive deadline, paused by the
 * budget or not: by then its client has given up on it (request.timeout.ms),
 * and a paused frame's bytes hold the budget that others wait for. With no
 * request in progress, a connection on which no byte moved for
 * connections.max.idle.ms is closed, as Kafka does (a response the peer
 * does not read counts as no byte moving). */
static void conn_check_deadlines(struct conn *c, uint64_t now_ns)
{
	const struct broker_config *cfg = conn_cfg(c);
	if (c->closing)
		return;
	if (c->frame_started_ns) {
		if (now_ns - c->frame_started_ns < conn_ms_to_ns(cfg->request_receive_timeout_ms))
			return;
		uint32_t received, declared;
		conn_frame_progress(c, &received, &declared);
		slog_warn("conn", "closing %s: a request not received in full within "
			  "sluice.request.receive.timeout.ms=%u (%u of %u bytes)", c->peer,
			  cfg->request_receive_timeout_ms, received, declared);
		conn_close(c, NULL);
		return;
	}
	if (now_ns - c->active_ns < conn_ms_to_ns(cfg->connections_max_idle_ms) ||
	    conn_requests_held(c))
		return;
	slog_debug("conn", "closing %s: idle for connections.max.idle.ms=%u", c->peer,
		   cfg->connections_max_idle_ms);
	conn_close(c, NULL);
}

/* One timer per shard walks its connections: a timer per connection would
 * bound connections by the reactor's timers. */
static void conn_on_sweep(struct io_timer *t)
{
	struct conn_shard *n = container_of(t, struct conn_shard, sweep_timer);
	struct shard *s = n->shard;
	uint64_t now = reactor_now_ns();
	/* Closing one connection can free others (their budget resumes them and
	 * one fails), hence the cursor that conn_maybe_free moves on. */
	for (struct conn *c = n->conns; c; c = n->sweep_next) {
		n->sweep_next = c->next;
		conn_check_deadlines(c, now);
	}
	if (n->conns && !s->stopping)
		io_timer_arm(s->reactor, t, n->sweep_ns, conn_on_sweep);
}

/* ---- receive ---- */

/* Whether c must wait for the budget before it receives more. A new frame
 * waits while the budget is spent. A started frame fills what it was
 * charged for; to grow past a spent budget it waits for finished requests
 * to free memory, and when only started frames hold the budget (nothing
 * would free it), exactly one of them, the finisher, goes on, so that the
 * budget is overdrawn by one frame at most and never deadlocks. */
static bool conn_must_wait(struct conn *c)
{
	struct shard *s = c->shard;
	struct conn_shard *n = conn_shard_of(s);
	if (!c->big_frame)
		return c->req_count >= CONN_REQUESTS_IN_FLIGHT_MAX || budget_exceeded(&n->budget);
	if (c->big_frame_filled < c->big_frame_charged || !budget_exceeded(&n->budget) ||
	    n->finisher == c)
		return false;
	if (n->finisher || !budget_needs_a_finisher(&n->budget))
		return true;
	n->finisher = c;
	return false;
}

/* Grows a frame's charge, once its received bytes fill it, by what it holds
 * (within the steps), and its buffer with it where the buffer is smaller.
 * False when it closed c. */
static bool conn_frame_grow(struct conn *c)
{
	uint32_t step = (uint32_t)conn_clamp(c->big_frame_charged, CONN_FRAME_STEP_MIN_BYTES,
					     CONN_FRAME_STEP_MAX_BYTES);
	uint32_t charged = c->big_frame_len - c->big_frame_charged <= step
				   ? c->big_frame_len
				   : c->big_frame_charged + step;
	if (charged > c->big_frame_cap) {
		uint8_t *frame = realloc(c->big_frame, charged);
		if (!frame) {
			slog_error("conn", "closing %s: out of memory for %u bytes of a %u-byte "
				   "request", c->peer, charged, c->big_frame_len);
			conn_close(c, NULL);
			return false;
		}
		c->big_frame = frame;
		c->big_frame_cap = charged;
	}
	struct budget *b = &conn_shard_of(c->shard)->budget;
	budget_charge(b, charged - c->big_frame_charged);
	b->partial_bytes += charged - c->big_frame_charged;
	c->big_frame_charged = charged;
	return true;
}

/* A stopping shard closes every connection: none receives any more (nor
 * fails growing a frame while the shard walks them to close them). */
static void conn_recv_arm(struct conn *c)
{
	if (c->closing || c->recv_armed || c->shard->stopping)
		return;
	if (conn_must_wait(c)) {
		struct conn_shard *n = conn_shard_of(c->shard);
		if (budget_pause(&n->budget, &c->budget_wait))
			METRIC_ADD(n->metrics.receive_pauses, 1);
		return;
	}
	if (c->big_frame && c->big_frame_filled == c->big_frame_charged && !conn_frame_grow(c))
		return;
	c->recv_armed = true;
	c->ops_in_flight++;
	if (c->big_frame) {
		assert(c->big_frame_charged <= c->big_frame_cap);
		io_recv_all(c->shard->reactor, c->fd, c->big_frame + c->big_frame_filled,
			    c->big_frame_charged - c->big_frame_filled, &c->recv_op);
	} else {
		assert(c->rbuf_len < CONN_RECV_BUF_BYTES);
		io_recv(c->shard->reactor, c->fd, c->rbuf + c->rbuf_len,
			CONN_RECV_BUF_BYTES - c->rbuf_len, &c->recv_op);
	}
}

static void conn_on_budget_resume(struct budget_waiter *w)
{
	conn_recv_arm(container_of(w, struct conn, budget_wait));
}

/* Allocates a frame buffer of `size` bytes, charging the shard's budget for
 * `charged` of them. */
static uint8_t *conn_frame_alloc(struct conn *c, uint32_t size, uint32_t charged)
{
	uint8_t *frame = malloc(size ? size : 1);
	if (frame)
		budget_charge(&conn_shard_of(c->shard)->budget, charged);
	return frame;
}

/* Hands a whole frame to the request layer; the next frame has not started. */
static void conn_frame_whole(struct conn *c, uint8_t *frame, uint32_t size)
{
	c->frame_started_ns = 0;
	net_of(c->shard->rt)->conn_handlers->frame(c, frame, size);
}

/* Splits rbuf into frames. Whole frames are copied out and dispatched; a frame
 * that continues past the bytes received gets its own buffer (of its declared
 * size up to CONN_FRAME_RESERVE_MAX_BYTES, else of its first charge), charged
 * for one step (or its size) or for what rbuf held of it, whichever is more. */
static void conn_parse_frames(struct conn *c)
{
	uint32_t pos = 0;
	uint32_t max = conn_cfg(c)->socket_request_max_bytes;
	while (!c->closing && c->rbuf_len - pos >= FRAME_SIZE_BYTES) {
		uint32_t size = (uint32_t)be_load(c->rbuf + pos, 4);
		if (size > max || size < REQUEST_HEADER_FIXED_BYTES) {
			slog_warn("conn", "closing %s: request size %u outside [%d, %u] "
				  "(socket.request.max.bytes)", c->peer, size,
				  REQUEST_HEADER_FIXED_BYTES, max);
			METRIC_ADD(conn_shard_of(c->shard)->metrics.frames_refused, 1);
			conn_close(c, NULL);
			return;
		}
		uint32_t avail = c->rbuf_len - pos - FRAME_SIZE_BYTES;
		uint32_t first = size < CONN_FRAME_STEP_MIN_BYTES ? size : CONN_FRAME_STEP_MIN_BYTES;
		uint32_t charged = avail >= size ? size : avail > first ? avail : first;
		uint32_t cap = size <= CONN_FRAME_RESERVE_MAX_BYTES ? size : charged;
		uint8_t *frame = conn_frame_alloc(c, cap, charged);
		if (!frame) {
			slog_error("conn", "closing %s: out of memory for a %u-byte request",
				   c->peer, size);
			conn_close(c, NULL);
			return;
		}
		uint8_t *src = c->rbuf + pos + FRAME_SIZE_BYTES;
		if (avail >= size) {
			memcpy(frame, src, size);
			pos += FRAME_SIZE_BYTES + size;
			conn_frame_whole(c, frame, size);
			continue;
		}
		memcpy(frame, src, avail);
		c->big_frame = frame;
		c->big_frame_len = size;
		c->big_frame_cap = cap;
		c->big_frame_charged = charged;
		c->big_frame_filled = avail;
		conn_shard_of(c->shard)->budget.partial_bytes += charged;
		pos = c->rbuf_len;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rbuf_len - pos);
	c->rbuf_len -= pos;
}

/* Handles received bytes; may dispatch requests, which may close c. */
static void conn_received(struct conn *c, int32_t res)
{
	if (res == 0) {
		conn_close(c, NULL);
		return;
	}
	if (res < 0) {
		if (res != -EINTR && res != -EAGAIN)
			conn_close(c, res == -ECONNRESET ? NULL : strerror(-res));
		return;
	}
	c->active_ns = reactor_now_ns();
	if (!c->big_frame) {
		c->rbuf_len += (uint32_t)res;
		conn_parse_frames(c);
	} else {
		c->big_frame_filled += (uint32_t)res;
		if (c->big_frame_filled == c->big_frame_len) {
			struct conn_shard *n = conn_shard_of(c->shard);
			uint8_t *frame = c->big_frame;
			assert(c->big_frame_charged == c->big_frame_len);
			n->budget.partial_bytes -= c->big_frame_charged;
			if (n->finisher == c)
				n->finisher = NULL;
			c->big_frame = NULL;
			conn_frame_whole(c, frame, c->big_frame_len);
		}
	}
	if (c->closing)
		return;
	if (!c->big_frame && c->rbuf_len == 0)
		c->frame_started_ns = 0;
	else if (!c->frame_started_ns)
		c->frame_started_ns = c->active_ns;
}

/* The receive op stays counted until the end, so that a handler closing the
 * connection during dispatch cannot free it under this loop. */
static void conn_on_recv(struct io_op *op, int32_t res, uint32_t flags)
{
	struct conn *c = container_of(op, struct conn, recv_op);
	(void)flags;
	c->recv_armed = false;
	if (!c->closing)
		conn_received(c, res);
	c->ops_in_flight--;
	if (c->closing)
		conn_maybe_free(c);
	else
		conn_recv_arm(c);
}

/* ---- send ---- */

/* Bytes of memory before the next file range of r (or its end). */
static size_t conn_mem_boundary(const struct conn_response *r, uint32_t range)
{
	return range < r->ranges_len ? r->ranges[range].mem_pos : r->resp_len;
}

/* Drops finished requests at the head that have nothing (left) to send. */
static void conn_pop_sent(struct conn *c)
{
	while (c->req_head && c->req_head->done) {
		struct conn_response *r = c->req_head;
		bool sent = r->no_response ||
			    (c->send_mem_pos >= r->resp_len && c->send_range >= r->ranges_len);
		if (!sent)
			return;
		c->req_head = r->next;
		if (!c->req_head)
			c->req_tail = NULL;
		c->req_count--;
		c->send_mem_pos = 0;
		c->send_range = 0;
		c->send_range_done = 0;
		net_of(c->shard->rt)->conn_handlers->release(r);
	}
}

/* Gathers memory bytes from the head onwards until a file range or a request
 * that is not done. */
static unsigned conn_gather(struct conn *c, struct iovec *iov, bool *more)
{
	unsigned n = 0;
	size_t pos = c->send_mem_pos;
	uint32_t range = c->send_range;
	*more = false;
	for (struct conn_response *r = c->req_head; r && r->done; r = r->next) {
		if (r->no_response)
			continue;
		if (n == CONN_SEND_IOV_MAX) {
			*more = true;
			break;
		}
		size_t end = conn_mem_boundary(r, range);
		if (pos < end) {
			iov[n].iov_base = r->resp + pos;
			iov[n].iov_len = end - pos;
			n++;
		}
		if (range < r->ranges_len) {
			*more = true;
			break;
		}
		pos = 0;
		range = 0;
	}
	return n;
}

/* Advances the send position by n memory bytes, across requests. */
static void conn_advance(struct conn *c, size_t n)
{
	while (n > 0) {
		struct conn_response *r = c->req_head;
		assert(r && r->done);
		if (r->no_response) {
			conn_pop_sent(c);
			continue;
		}
		size_t end = conn_mem_boundary(r, c->send_range);
		size_t step = end - c->send_mem_pos < n ? end - c->send_mem_pos : n;
		c->send_mem_pos += step;
		n -= step;
		conn_pop_sent(c);
	}
}

static bool conn_pipe_ready(struct conn *c)
{
	if (c->pipe_fds[0] >= 0)
		return true;
	if (pipe2(c->pipe_fds, O_CLOEXEC) != 0) {
		slog_error("conn", "closing %s: pipe2: %s", c->peer, strerror(errno));
		c->pipe_fds[0] = c->pipe_fds[1] = -1;
		return false;
	}
	int ceiling = conn_shard_of(c->shard)->fd_ceiling;
	if (c->pipe_fds[0] >= ceiling || c->pipe_fds[1] >= ceiling) {
		slog_warn("conn", "closing %s: its zero-copy pipe would take descriptors kept for "
			  "files (%d and up)", c->peer, ceiling);
		close(c->pipe_fds[0]);
		close(c->pipe_fds[1]);
		c->pipe_fds[0] = c->pipe_fds[1] = -1;
		return false;
	}
	/* A bigger pipe moves more per splice; the kernel may cap it
	 * (fs/pipe-max-size), which only costs throughput. */
	(void)fcntl(c->pipe_fds[1], F_SETPIPE_SZ, CONN_PIPE_BYTES);
	/* A pipe -> socket splice waits for room unless the socket itself is
	 * non-blocking (SPLICE_F_NONBLOCK covers only the pipe). io_uring's
	 * socket ops do not look at the flag. */
	int fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		slog_error("conn", "closing %s: O_NONBLOCK: %s", c->peer, strerror(errno));
		return false;
	}
	return true;
}

/* Whether more bytes of the head response follow what the pipe holds. */
static bool conn_pipe_more(const struct conn *c)
{
	const struct conn_response *r = c->req_head;
	return c->send_range < r->ranges_len || c->send_mem_pos < r->resp_len;
}

/* Waits, in the ring, until the socket takes bytes again; the send goes on
 * from its completion. */
static void conn_poll_writable(struct conn *c)
{
	c->sending = true;
	c->ops_in_flight++;
	io_poll(c->shard->reactor, c->fd, POLLOUT, &c->poll_op);
}

static bool conn_io_failed(struct conn *c, int32_t res, const char *what)
{
	if (res >= 0)
		return false;
	if (res != -EPIPE && res != -ECONNRESET && res != -ECANCELED)
		slog_warn("conn", "closing %s: %s: %s", c->peer, what, strerror(-res));
	conn_close(c, NULL);
	return true;
}

/* Sends what the pipe holds without waiting (pipe -> socket moves page
 * references, no worker is needed). False when the socket is full (a poll
 * for room is armed) or the connection closed. */
static bool conn_send_pipe(struct conn *c)
{
	unsigned flags = SPLICE_F_NONBLOCK | (conn_pipe_more(c) ? SPLICE_F_MORE : 0);
	ssize_t n = splice(c->pipe_fds[0], NULL, c->fd, NULL, c->pipe_bytes, flags);
	if (n < 0 && errno == EINTR)
		return true;
	if (n < 0 && errno == EAGAIN) {
		conn_poll_writable(c);
		return false;
	}
	if (conn_io_failed(c, n > 0 ? 0 : n < 0 ? -errno : -EPIPE, "send"))
		return false;
	struct conn_shard *cs = conn_shard_of(c->shard);
	c->active_ns = reactor_now_ns();
	METRIC_ADD(cs->metrics.response_bytes, (uint64_t)n);
	METRIC_ADD(cs->metrics.fetch_bytes_zero_copy, (uint64_t)n);
	assert((uint32_t)n <= c->pipe_bytes);
	c->pipe_bytes -= (uint32_t)n;
	return true;
}

/* Accounts a file -> pipe splice of res bytes; false when it closed c. */
static bool conn_spliced(struct conn *c, int32_t res)
{
	if (conn_io_failed(c, res, "splice from segment"))
		return false;
	struct conn_response *r = c->req_head;
	struct wfile_range *fr = &r->ranges[c->send_range];
	if (res == 0) {
		/* The segment ended before the planned range did: the response
		 * frame cannot be completed, so the connection must go. */
		slog_error("conn", "closing %s: segment file ended %u bytes early",
			   c->peer, fr->len - c->send_range_done);
		conn_close(c, NULL);
		return false;
	}
	c->pipe_bytes = (uint32_t)res;
	c->send_range_done += (uint32_t)res;
	if (c->send_range_done == fr->len) {
		c->send_range++;
		c->send_range_done = 0;
	}
	return true;
}

/* Moves the next piece of the head's current file range into the pipe: at
 * once when its pages are in the page cache (a splice that cannot wait on
 * the disk), else in the kernel's workers. False when the piece went to the
 * workers or c closed. */
static bool conn_send_file_range(struct conn *c)
{
	struct conn_response *r = c->req_head;
	struct wfile_range *fr = &r->ranges[c->send_range];
	if (!conn_pipe_ready(c)) {
		conn_close(c, NULL);
		return false;
	}
	uint32_t left = fr->len - c->send_range_done;
	uint32_t len = left < CONN_PIPE_BYTES ? left : CONN_PIPE_BYTES;
	loff_t off = (loff_t)(fr->off + c->send_range_done);
	if (residency_resident(fr->fd, NULL, 0, (uint64_t)off, len)) {
		ssize_t n = splice(fr->fd, &off, c->pipe_fds[1], NULL, len, SPLICE_F_NONBLOCK);
		if (n >= 0 || errno != EAGAIN)
			return conn_spliced(c, n >= 0 ? (int32_t)n : -errno);
	}
	METRIC_ADD(conn_shard_of(c->shard)->metrics.fetch_splices_offloaded, 1);
	c->sending = true;
	c->ops_in_flight++;
	io_splice(c->shard->reactor, fr->fd, (int64_t)off, c->pipe_fds[1], -1, len, &c->splice_op);
	return false;
}

/* Sends what is next in order until a send is in the ring, the socket is
 * full, nothing is ready, or CONN_SEND_TURN_BYTES moved in this call (then
 * it yields to the loop's other work through a poll, which completes on the
 * next turn: one connection's large responses cannot hold the shard). */
static void conn_send_next(struct conn *c)
{
	uint64_t moved = 0;
	while (!c->sending && !c->closing) {
		if (c->pipe_bytes > 0) {
			uint32_t before = c->pipe_bytes;
			if (!conn_send_pipe(c))
				return;
			moved += before - c->pipe_bytes;
			continue;
		}
		if (moved >= CONN_SEND_TURN_BYTES) {
			conn_poll_writable(c);
			return;
		}
		conn_pop_sent(c);
		struct conn_response *r = c->req_head;
		if (!r || !r->done)
			return;
		struct iovec iov[CONN_SEND_IOV_MAX];
		bool more;
		unsigned n = conn_gather(c, iov, &more);
		if (n > 0) {
			c->sending = true;
			c->ops_in_flight++;
			io_sendmsg(c->shard->reactor, c->fd, iov, n, more ? MSG_MORE : 0, &c->send_op);
			return;
		}
		assert(c->send_range < r->ranges_len);
		if (!conn_send_file_range(c))
			return;
	}
}

void conn_request_done(struct conn *c)
{
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	conn_send_next(c);
}

/* Completion of a sendmsg. */
static void conn_sent(struct conn *c, int32_t res)
{
	if (conn_io_failed(c, res, "send"))
		return;
	c->active_ns = reactor_now_ns();
	METRIC_ADD(conn_shard_of(c->shard)->metrics.response_bytes, (uint64_t)res);
	conn_advance(c, (size_t)res);
	conn_send_next(c);
}

static void conn_on_send(struct io_op *op, int32_t res, uint32_t flags)
{
	struct conn *c = container_of(op, struct conn, send_op);
	(void)flags;
	c->sending = false;
	if (!c->closing)
		conn_sent(c, res);
	c->ops_in_flight--;
	if (c->closing)
		conn_maybe_free(c);
}

/* Completion of a file -> pipe splice in the kernel's workers. */
static void conn_on_splice(struct io_op *op, int32_t res, uint32_t flags)
{
	struct conn *c = container_of(op, struct conn, splice_op);
	(void)flags;
	c->sending = false;
	if (!c->closing && conn_spliced(c, res))
		conn_send_next(c);
	c->ops_in_flight--;
	if (c->closing)
		conn_maybe_free(c);
}

/* The socket has room again (or the poll failed: the send says why). */
static void conn_on_writable(struct io_op *op, int32_t res, uint32_t flags)
{
	struct conn *c = container_of(op, struct conn, poll_op);
	(void)flags;
	c->sending = false;
	if (!c->closing && !conn_io_failed(c, res < 0 ? res : 0, "poll"))
		conn_send_next(c);
	c->ops_in_flight--;
	if (c->closing)
		conn_maybe_free(c);
}

/* ---- lifetime ---- */

static void conn_on_cancel(struct io_op *op, int32_t res, uint32_t flags)
{
	struct conn *c = container_of(op, struct conn, cancel_op);
	(void)res;
	(void)flags;
	c->ops_in_flight--;
	conn_maybe_free(c);
}

void conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	if (why)
		slog_info("conn", "closing %s: %s", c->peer, why);
	/* Wake anything blocked on the socket (a splice in a kernel worker),
	 * then cancel what is queued on it. */
	shutdown(c->fd, SHUT_RDWR);
	if (c->ops_in_flight > 0) {
		c->ops_in_flight++;
		io_cancel_fd(c->shard->reactor, c->fd, &c->cancel_op);
	}
	conn_maybe_free(c);
}

static bool conn_requests_held(const struct conn *c)
{
	for (const struct conn_response *r = c->req_head; r; r = r->next)
		if (!r->done)
			return true;
	return false;
}

void conn_maybe_free(struct conn *c)
{
	if (!c->closing || c->ops_in_flight > 0 || conn_requests_held(c))
		return;
	struct shard *s = c->shard;
	struct conn_shard *n = conn_shard_of(s);
	while (c->req_head) {
		struct conn_response *r = c->req_head;
		c->req_head = r->next;
		net_of(c->shard->rt)->conn_handlers->release(r);
	}
	budget_unpause(&n->budget, &c->budget_wait);
	if (n->sweep_next == c)
		n->sweep_next = c->next;
	if (c->prev)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	n->conn_count--;
	METRIC_ADD(n->metrics.connections_closed, 1);
	metrics_clients_closed(&conn_shard_of(c->shard)->metrics, &c->software_id);
	if (c->big_frame) {
		n->budget.partial_bytes -= c->big_frame_charged;
		if (n->finisher == c)
			n->finisher = NULL;
		budget_release(&n->budget, c->big_frame_charged);
		free(c->big_frame);
	}
	if (c->pipe_fds[0] >= 0) {
		close(c->pipe_fds[0]);
		close(c->pipe_fds[1]);
	}
	close(c->fd);
	free(c->rbuf);
	free(c);
}
