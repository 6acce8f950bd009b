/* A client connection: framing on receive, responses in request order on send.
 *
 * Receive: frames up to the receive buffer's size are copied out of it; a larger
 * frame gets its own buffer of exactly its size and the rest of it is received
 * straight into that buffer. A size above socket.request.max.bytes, or a
 * malformed header, closes the connection with one log line naming the peer.
 *
 * Send: responses leave in request order. Memory bytes of consecutive finished
 * responses are gathered into one sendmsg; file ranges (fetched log data) go
 * file -> pipe -> socket by splice, so log bytes never enter user space.
 *
 * A connection is freed when it is closing, no ring op of its own is in flight
 * and no handler still holds one of its requests. */
#ifndef SLUICE_CORE_CONN_H
#define SLUICE_CORE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "io/reactor.h"

struct shard;
struct request;

enum {
	CONN_RECV_BUF_BYTES = 64 * 1024,
	CONN_SEND_IOV_MAX = 64,
	CONN_PIPE_BYTES = 1024 * 1024,
	CONN_PEER_NAME_BYTES = 64,
	CONN_REQUESTS_IN_FLIGHT_MAX = 1000,
};

struct conn {
	struct shard *shard;
	struct conn *prev, *next; /* the shard's connections */
	struct conn *paused_next; /* the shard's back-pressure list */
	int fd;
	uint64_t id;
	char peer[CONN_PEER_NAME_BYTES];

	/* receive */
	struct io_op recv_op;
	uint8_t *rbuf;
	uint32_t rbuf_len;
	uint8_t *big_frame;        /* a frame larger than what rbuf held */
	uint32_t big_frame_len;
	uint32_t big_frame_filled;
	bool recv_armed;
	bool paused;

	/* requests in order; the head is the next response to send */
	struct request *req_head;
	struct request *req_tail;
	uint32_t req_count;

	/* send */
	struct io_op send_op;
	struct io_op splice_op;
	bool sending;
	int pipe_fds[2];
	uint32_t pipe_bytes;       /* bytes in the pipe not yet sent */
	size_t send_mem_pos;       /* within the head response's memory bytes */
	uint32_t send_range;       /* index of the next file range of the head */
	uint32_t send_range_done;  /* bytes of that range already moved to the pipe */

	/* lifetime */
	uint32_t ops_in_flight;
	bool closing;
	struct io_op cancel_op;
};

/* Takes a freshly accepted socket. */
void conn_open(struct shard *s, int fd);
/* Starts closing: cancels receive and send, frees when nothing holds it. */
void conn_close(struct conn *c, const char *why);
/* A request of this connection became done: send what is now in order. */
void conn_request_done(struct conn *c);
/* Re-arms receive after back-pressure eased. */
void conn_resume(struct conn *c);
/* A handler released its request on a closing connection. */
void conn_maybe_free(struct conn *c);

#endif
