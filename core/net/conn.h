/* A client connection: framing on receive, responses in request order on send;
 * and the shard's side of accepting them.
 *
 * Receive: frames up to the receive buffer's size are copied out of it; a larger
 * frame gets its own buffer, and its bytes are received straight into it. The
 * shard's share of queued.max.request.bytes is charged for bytes received, not
 * for lengths declared: the charge grows in bounded steps as bytes arrive, and
 * no receive asks for more than is charged. A frame up to
 * CONN_FRAME_RESERVE_MAX_BYTES gets a buffer of its declared size at once,
 * so that nothing is copied again while its charge grows: that is address
 * space (at most max.connections times the bound), and pages the allocator
 * did not hold already become resident only as bytes arrive. A larger
 * frame's buffer grows with its charge. A large frame's receives ask for the whole rest of its
 * charge and complete once that is in (one completion, not one per segment
 * that arrives), so its progress counts completed receives. A size above socket.request.max.bytes, or a malformed
 * header, closes the connection with one log line naming the peer.
 *
 * Deadlines: a started request must arrive whole within
 * sluice.request.receive.timeout.ms, and a connection with no request in
 * progress and no bytes moving is closed after connections.max.idle.ms.
 *
 * Send: responses leave in request order. Memory bytes of consecutive finished
 * responses are gathered into one sendmsg; file ranges (fetched log data) go
 * file -> pipe -> socket by splice, so log bytes never enter user space. A
 * piece of a range whose pages are in the page cache is spliced on the loop
 * without waiting (SPLICE_F_NONBLOCK: the socket side returns EAGAIN when
 * full, and a poll in the ring waits for room); only a piece that is not goes
 * file -> pipe in the kernel's workers (IORING_OP_SPLICE), so that the loop
 * never waits on the disk and a hot fetch costs no worker hand-off.
 *
 * Accepting: a socket that would take one of the top descriptors of the
 * process's RLIMIT_NOFILE (the reserve kept for segment files, indexes and
 * the metadata store) is closed at once; an accept that fails for want of
 * descriptors (EMFILE, ENFILE) pauses accepting for CONN_ACCEPT_BACKOFF_MS.
 * Refusals are summed and logged at most once per CONN_REFUSALS_LOG_MS.
 *
 * A connection is freed when it is closing, no ring op of its own is in flight
 * and no handler still holds one of its requests. */
#ifndef SLUICE_CORE_NET_CONN_H
#define SLUICE_CORE_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net/budget.h"
#include "core/net/counters.h"
#include "core/shard/shard.h"
#include "io/reactor.h"
#include "proto/cursor.h"

struct conn;

/* One response in a connection's queue, in request order. The request layer
 * embeds one in each request (request.h) and fills it; once it is done the
 * connection sends its memory bytes with its file ranges interleaved, and
 * hands it back (conn_handlers.release) when sent, or when the connection
 * goes away. */
struct conn_response {
	struct conn_response *next;
	uint8_t *resp;
	size_t resp_len;
	struct wfile_range *ranges;
	uint32_t ranges_len;
	bool done;
	bool no_response;          /* acks=0 produce: nothing to send */
};

/* What the connection hands up: each whole frame (it is the receiver's from
 * then on), and each response it is done with. The request layer provides
 * them (request.c); the broker puts them in the network layer's state
 * (net.h). */
struct conn_handlers {
	void (*frame)(struct conn *c, uint8_t *frame, uint32_t len);
	void (*release)(struct conn_response *r);
};

enum {
	CONN_RECV_BUF_BYTES = 64 * 1024,
	CONN_SEND_IOV_MAX = 64,
	CONN_PIPE_BYTES = 1024 * 1024,
	/* What one connection sends at most before yielding to the loop. */
	CONN_SEND_TURN_BYTES = 4 * 1024 * 1024,
	CONN_PEER_NAME_BYTES = 64,
	CONN_REQUESTS_IN_FLIGHT_MAX = 1000,
	/* A large frame's charge grows by what it holds, within these steps: what
	 * it is charged beyond its bytes received is at most one step. */
	CONN_FRAME_STEP_MIN_BYTES = 64 * 1024,
	CONN_FRAME_STEP_MAX_BYTES = 8 * 1024 * 1024,
	/* Frames up to this size get their whole buffer at once (every ordinary
	 * Produce: a client's batches are 1 MB by default); larger ones grow
	 * theirs with their charge. */
	CONN_FRAME_RESERVE_MAX_BYTES = 8 * 1024 * 1024,
	/* The deadlines are checked this often: a tenth of the shorter one,
	 * within these bounds. */
	CONN_SWEEP_MIN_MS = 10,
	CONN_SWEEP_MAX_MS = 1000,
	/* The top quarter of the descriptor limit, within these bounds, is never
	 * taken by a connection. */
	CONN_FD_RESERVE_MIN = 16,
	CONN_FD_RESERVE_MAX = 1024,
	CONN_ACCEPT_BACKOFF_MS = 100,
	CONN_REFUSALS_LOG_MS = 10000,
	CONN_LISTENER_NAME_BYTES = 32,
};

/* Why a connection was not taken. */
enum conn_refusal {
	CONN_REFUSED_MAX_CONNECTIONS, /* this shard's share of max.connections */
	CONN_REFUSED_FD_RESERVE,      /* its descriptor is in the reserve */
	CONN_REFUSED_NO_FDS,          /* accept failed: EMFILE or ENFILE */
	CONN_REFUSED_BUSY,            /* every slot serving (the metrics endpoint) */
	CONN_REFUSAL_KINDS,
};

/* The accepting side of one listener, on its reactor: the back-off after a
 * failed accept and the refusal summary. `rearm` arms the listener's
 * multishot accept again after the back-off. */
struct conn_listener {
	char name[CONN_LISTENER_NAME_BYTES];
	struct reactor *reactor;
	void (*rearm)(struct conn_listener *l);
	struct io_timer backoff_timer;
	struct io_timer report_timer;
	uint64_t refused[CONN_REFUSAL_KINDS];
	uint64_t report_after_ns;   /* no summary line before this */
	int accept_errno;           /* the last failed accept's */
};

/* A shard's connections (SHARD_SLOT_NET): the listener, the connections
 * and their deadlines, the request-byte budget (budget.h) and the shard's
 * counters. Owned by the shard's thread. */
struct conn_shard {
	struct shard *shard;
	int listen_fd;
	struct io_op accept_op;
	struct io_op listen_cancel_op;
	bool accept_armed;
	struct conn_listener listener;
	struct conn *conns;
	uint32_t conn_count;
	uint64_t next_conn_id;
	struct budget budget;         /* queued.max.request.bytes: this shard's share */
	struct shard_metrics metrics;
	int fd_ceiling;               /* descriptors from here up are the reserve */
	struct io_timer sweep_timer;
	uint64_t sweep_ns;
	struct conn *sweep_next;      /* where the sweep goes on; moved on if freed */
	struct conn *finisher;        /* the one frame let past a full budget */
};

struct conn {
	struct shard *shard;
	struct conn *prev, *next; /* the shard's connections */
	int fd;
	uint64_t id;
	char peer[CONN_PEER_NAME_BYTES];

	/* receive */
	struct io_op recv_op;
	uint8_t *rbuf;
	uint32_t rbuf_len;
	uint8_t *big_frame;        /* a frame larger than what rbuf held */
	uint32_t big_frame_len;    /* as declared */
	uint32_t big_frame_cap;    /* allocated */
	uint32_t big_frame_charged; /* charged to the budget: received bytes fit in it */
	uint32_t big_frame_filled;
	bool recv_armed;
	struct budget_waiter budget_wait; /* paused by the shard's budget */
	uint64_t frame_started_ns; /* first byte of the frame not yet whole; 0: none */
	uint64_t active_ns;        /* bytes last received or sent */

	/* requests in order; the head is the next response to send */
	struct conn_response *req_head;
	struct conn_response *req_tail;
	uint32_t req_count;

	/* send */
	struct io_op send_op;
	struct io_op splice_op;
	struct io_op poll_op;      /* waits for room after a send refused with EAGAIN */
	bool sending;
	int pipe_fds[2];
	uint32_t pipe_bytes;       /* bytes in the pipe not yet sent */
	size_t send_mem_pos;       /* within the head response's memory bytes */
	uint32_t send_range;       /* index of the next file range of the head */
	uint32_t send_range_done;  /* bytes of that range already moved to the pipe */

	/* the client software its ApiVersions named (metrics_clients.h) */
	uint8_t software_id;

	/* lifetime */
	uint32_t ops_in_flight;
	bool closing;
	struct io_op cancel_op;
};

static inline struct conn_shard *conn_shard_of(const struct shard *s)
{
	return s->slots[SHARD_SLOT_NET];
}

/* Sets a network shard's limits from the configuration and the process's
 * descriptor limit; before its loop runs. */
void conn_shard_init(struct shard *s);
/* Takes a freshly accepted socket (or refuses it, see above). */
void conn_open(struct shard *s, int fd);
/* Starts closing: cancels receive and send, frees when nothing holds it. */
void conn_close(struct conn *c, const char *why);
/* A request of this connection became done: send what is now in order. */
void conn_request_done(struct conn *c);
/* A handler released its request on a closing connection. */
void conn_maybe_free(struct conn *c);

/* Names the listener (for its log lines) and its reactor. */
void conn_listener_init(struct conn_listener *l, struct reactor *r, const char *name,
			void (*rearm)(struct conn_listener *l));
/* Counts a refusal; the summary line follows within CONN_REFUSALS_LOG_MS. */
void conn_listener_refused(struct conn_listener *l, enum conn_refusal why);
/* An accept completed with `res` < 0: true when it failed for want of
 * descriptors, in which case accepting pauses and `rearm` runs after the
 * back-off; the caller must not re-arm the accept itself. */
bool conn_listener_failed(struct conn_listener *l, int32_t res);
/* Whether the listener is waiting out a back-off. */
bool conn_listener_backing_off(const struct conn_listener *l);
/* Stops its timers (the listener stops accepting). */
void conn_listener_stop(struct conn_listener *l);

#endif
