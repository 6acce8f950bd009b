/* Request lifecycle: header, dispatch through the API table, response frame.
 * See request.h for the contract. */
#include "core/request.h"

#include <assert.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/handlers.h"
#include "core/log.h"
#include "core/shard.h"
#include "proto/messages.h"

struct shard *request_shard(const struct request *req)
{
	return req->conn->shard;
}

struct broker *request_broker(const struct request *req)
{
	return req->conn->shard->broker;
}

void *request_alloc(struct request *req, size_t count, size_t size)
{
	return arena_calloc(&req->arena, count, size);
}

static void request_enqueue(struct conn *c, struct request *req)
{
	if (c->req_tail)
		c->req_tail->next = req;
	else
		c->req_head = req;
	c->req_tail = req;
	c->req_count++;
}

/* Frees a request that never entered the connection's queue. */
static void request_discard(struct conn *c, uint8_t *frame, uint32_t frame_len)
{
	shard_request_bytes_sub(c->shard, frame_len);
	free(frame);
}

void request_dispatch(struct conn *c, uint8_t *frame, uint32_t frame_len)
{
	struct rcursor rc;
	struct request_header h;
	rc_init(&rc, frame, frame_len);
	request_header_read_fixed(&rc, &h);
	const struct api_entry *api = api_lookup(h.api_key);
	if (!api) {
		slog_warn("request", "closing %s: unknown API key %d", c->peer, h.api_key);
		c->shard->metrics.request_errors++;
		request_discard(c, frame, frame_len);
		conn_close(c, NULL);
		return;
	}
	bool supported = h.api_version >= api->min_version && h.api_version <= api->max_version;
	if (!supported && h.api_key != API_API_VERSIONS) {
		slog_warn("request", "closing %s: %s v%d is not supported (v%d-v%d)", c->peer,
			  api->name, h.api_version, api->min_version, api->max_version);
		c->shard->metrics.request_errors++;
		request_discard(c, frame, frame_len);
		conn_close(c, NULL);
		return;
	}
	request_header_read_rest(&rc, h.api_version >= api->flexible_from, &h);
	if (rc.err != RC_OK && supported) {
		slog_warn("request", "closing %s: malformed %s v%d request header: %s at byte %zu",
			  c->peer, api->name, h.api_version, rc_error_name(rc.err), rc.err_off);
		c->shard->metrics.request_errors++;
		request_discard(c, frame, frame_len);
		conn_close(c, NULL);
		return;
	}
	struct request *req = calloc(1, sizeof(*req));
	if (!req) {
		slog_error("request", "closing %s: out of memory", c->peer);
		request_discard(c, frame, frame_len);
		conn_close(c, NULL);
		return;
	}
	req->conn = c;
	req->api = api;
	req->header = h;
	req->frame = frame;
	req->frame_len = frame_len;
	req->body = rc;
	arena_init(&req->arena, api->arena_bytes_max);
	request_enqueue(c, req);
	if ((size_t)h.api_key < sizeof(c->shard->metrics.requests) / sizeof(uint64_t))
		c->shard->metrics.requests[h.api_key]++;
	if (!supported)
		handle_api_versions_unsupported(req);
	else
		api->handle(req);
}

void request_reject_malformed(struct request *req)
{
	struct conn *c = req->conn;
	slog_warn("request", "closing %s: malformed %s v%d request: %s (%s) at byte %zu", c->peer,
		  req->api->name, req->header.api_version, rc_error_name(req->body.err),
		  req->body.err_what ? req->body.err_what : "?", req->body.err_off);
	c->shard->metrics.request_errors++;
	conn_close(c, NULL);
	request_finish_without_response(req);
}

struct wcursor *request_response_begin(struct request *req, size_t body_wire_bytes,
				       size_t file_bytes, uint32_t max_ranges)
{
	assert(!req->resp && file_bytes <= body_wire_bytes);
	bool tagged = response_header_tagged(req->header.api_key, req->header.api_version,
					     req->api->flexible_from);
	size_t frame_bytes = response_header_size(tagged) + body_wire_bytes;
	size_t mem_bytes = FRAME_SIZE_BYTES + frame_bytes - file_bytes;
	req->resp = malloc(mem_bytes);
	req->ranges = max_ranges ? calloc(max_ranges, sizeof(*req->ranges)) : NULL;
	if (!req->resp || (max_ranges && !req->ranges)) {
		/* Our memory, not the peer's mistake: nothing sensible remains. */
		slog_error("request", "out of memory for a %zu-byte response", mem_bytes);
		abort();
	}
	wc_init(&req->writer, req->resp, mem_bytes, req->ranges, max_ranges);
	wc_int32(&req->writer, (int32_t)frame_bytes);
	response_header_write(&req->writer, req->header.correlation_id, tagged);
	return &req->writer;
}

static void request_mark_done(struct request *req)
{
	assert(!req->done);
	req->done = true;
	conn_request_done(req->conn);
}

void request_finish(struct request *req)
{
	struct wcursor *w = &req->writer;
	if (w->overflow || w->pos != w->end) {
		slog_error("request", "%s v%d response encoder wrote %zu of %zu bytes",
			   req->api->name, req->header.api_version, (size_t)(w->pos - w->start),
			   (size_t)(w->end - w->start));
		abort();
	}
	req->resp_len = (size_t)(w->end - w->start);
	req->ranges_len = w->ranges_len;
	request_mark_done(req);
}

void request_finish_without_response(struct request *req)
{
	req->no_response = true;
	request_mark_done(req);
}

void request_free(struct request *req)
{
	for (uint32_t i = 0; i < req->ranges_len; i++)
		close(req->ranges[i].fd);
	shard_request_bytes_sub(req->conn->shard, req->frame_len);
	arena_release(&req->arena);
	free(req->ranges);
	free(req->resp);
	free(req->frame);
	free(req);
}
