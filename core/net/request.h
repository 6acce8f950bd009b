/* A Kafka request from its frame to its response, and the dispatch table's
 * shape.
 *
 * A request owns its frame buffer and an arena for decoded structures. It is
 * received on the connection's (network) shard. Its handler runs there when
 * it reads partitions (Produce, Fetch, ListOffsets, Metadata): it sends each
 * owning io shard its part (shard_call.h) and assembles the answers. Requests
 * about topics' existence run on the control shard (shard 0), which owns the
 * registry; a group's requests on the io shard coordinating it; requests
 * naming several groups start on the control shard and travel to each
 * coordinating shard in turn (request_relay). A handler may finish at once or
 * later (a produce waiting for its writes, a fetch waiting for data), and ends
 * by building a response with request_response_begin/request_finish.
 * Finishing on another shard posts the request back to the connection's
 * shard, which sends responses in request order. While the handler has it,
 * the connection's shard does not touch the request; while its parts are out,
 * the handler touches only what the parts do not (the arena included). */
#ifndef SLUICE_CORE_NET_REQUEST_H
#define SLUICE_CORE_NET_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net/conn.h"
#include "proto/arena.h"
#include "proto/cursor.h"
#include "proto/header.h"

struct conn;
struct shard;
struct runtime;
struct request;

typedef void (*api_handler_fn)(struct request *req);

/* Where a handler runs: on the connection's shard (splitting partition work
 * over the shards that own it); on the control shard, which owns the topic
 * registry; or on the shard coordinating the group the request names first
 * (the shard owning that group's __consumer_offsets partition). */
enum api_home { API_ON_CONNECTION, API_ON_CONTROL, API_ON_GROUP };

/* One row of the dispatch table. Versions come from the generated schema
 * table; the handler is ours. The table guarantees to handlers that the key is
 * known and the version is within [min_version, max_version]. */
struct api_entry {
	int16_t key;
	const char *name;
	int16_t min_version;
	int16_t max_version;
	int16_t listed_min_version; /* what ApiVersions lists; below min_version: refused */
	int16_t flexible_from;
	api_handler_fn handle;
	uint32_t arena_bytes_max; /* bound on decoded structures of one request */
	enum api_home home;
	int16_t group_first_until; /* API_ON_GROUP: versions below start with the group id */
	/* Served but left out of ApiVersions: an API whose protocol is not yet
	 * whole, which clients must not pick up (they use only what is listed). */
	bool unlisted;
};

/* The dispatch table, which the API layer builds and the broker hands to the
 * network layer (net_shard.h) before the shards run; read-only afterwards. */
struct api_table {
	const struct api_entry *entries; /* every served API, in key order */
	size_t count;
	api_handler_fn unsupported_version; /* ApiVersions at a version we do not serve */
};

const struct api_entry *api_lookup(const struct api_table *t, int16_t key);

struct request {
	struct conn *conn;
	struct shard *exec;        /* the shard running the handler */
	const struct api_entry *api;
	struct request_header header;
	uint8_t *frame;            /* owned; the bytes after the size field */
	uint32_t frame_len;
	struct rcursor body;       /* positioned after the header */
	struct rcursor body_start; /* the body as received, for a handler run anew */
	struct arena arena;

	struct conn_response out;  /* in the connection's in-order queue */
	struct wcursor writer;     /* encodes into out */
	bool rejected;             /* malformed: the connection closes when it returns */
	void (*relay)(struct request *req); /* what runs next, on the shard it travels to */
	void *handler_ctx;         /* the handler's state while the request travels */
	uint64_t received_ns;      /* the frame was whole (metrics: queue time, latency) */
	bool started;              /* its handler has started once */
};

/* Handlers' view of where they run (timers, metrics, owned data). */
struct shard *request_shard(const struct request *req);
struct runtime *request_runtime(const struct request *req);

/* Allocates the response for a body of `body_wire_bytes` (as *_size computed;
 * includes `file_bytes` that will come from at most `max_ranges` file ranges),
 * writes the response header, and returns the writer for the body encoder. */
struct wcursor *request_response_begin(struct request *req, size_t body_wire_bytes,
				       size_t file_bytes, uint32_t max_ranges);
/* Marks the request done (its response fully encoded, or none) and lets the
 * connection send what is now in order. Checks that the encoder filled the
 * buffer exactly: a mismatch is our bug. */
void request_finish(struct request *req);
void request_finish_without_response(struct request *req);
/* For R_errors (proto/messages.h), ctx the request: counts one error code of
 * its response for sluice_request_errors_total, on the calling shard (NONE
 * is not counted). */
void request_count_response_error(void *ctx, int16_t error_code);
/* Encodes `resp`, a struct <api>_response, as req's response in `version`,
 * counts the error codes it carries, and finishes req. */
#define REQUEST_RESPOND(req, api, version, resp)                                                   \
	do {                                                                                       \
		struct request *rq_ = (req);                                                       \
		const struct api##_response *rs_ = (resp);                                         \
		int16_t rv_ = (version);                                                           \
		api##_response_encode(request_response_begin(rq_, api##_response_size(rs_, rv_), 0, \
							     0),                                   \
				      rv_, rs_);                                                   \
		api##_response_errors(rs_, rv_, request_count_response_error, rq_);               \
		request_finish(rq_);                                                               \
	} while (0)
/* The body did not decode (req->body.err says why): one log line naming the
 * peer, API and offset, then the connection closes. */
void request_reject_malformed(struct request *req);

/* Whether the handler runs on the control shard. */
bool request_on_control(const struct request *req);
/* From a handler on the wrong shard (a topic to auto-create needs the
 * control shard; a group lives on another shard): the handler runs again on
 * shard `to`, from the start, and nothing it did here may remain (no
 * response, no parts out). */
void request_forward(struct request *req, uint32_t to);
void request_forward_to_control(struct request *req);
/* Moves a running handler to shard `to`, where fn(req) continues it with its
 * arena and state; only one shard holds the request at a time. */
void request_relay(struct request *req, uint32_t to, void (*fn)(struct request *req));

/* Allocation from the request's arena that must not fail for lack of bounds:
 * the handler's own bookkeeping. Returns NULL past the API's bound. */
void *request_alloc(struct request *req, size_t count, size_t size);

/* Copies into the request's arena: a C string (NULL: a null string), a
 * Kafka string (every byte of it; len < 0: null), bytes (len < 0: null).
 * Out of the arena's bound, req->body.err becomes RC_ALLOC. */
struct kstr request_copy_cstr(struct request *req, const char *s);
struct kstr request_copy_kstr(struct request *req, struct kstr s);
struct kbytes request_copy_bytes(struct request *req, const uint8_t *p, int32_t len);

/* What the connection hands the request layer: each complete frame (owned
 * from then on), and each response it has sent or dropped. */
extern const struct conn_handlers request_conn_handlers;

#endif
