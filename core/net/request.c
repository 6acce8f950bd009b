/* Request lifecycle: header, dispatch through the API table, response frame.
 * See request.h for the contract. */
#include "core/net/request.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/group/group_coordinator.h"
#include "core/net/budget.h"
#include "core/net/conn.h"
#include "core/net/metrics_clients.h"
#include "core/net/net.h"
#include "core/slog.h"
#include "core/shard/shard.h"
#include "core/shard/shard_mail.h"
#include "proto/api_names.h"
#include "proto/messages.h"

struct shard *request_shard(const struct request *req)
{
	return req->exec;
}

struct runtime *request_runtime(const struct request *req)
{
	return req->conn->shard->rt;
}

void *request_alloc(struct request *req, size_t count, size_t size)
{
	return arena_calloc(&req->arena, count, size);
}

struct kstr request_copy_kstr(struct request *req, struct kstr s)
{
	struct kbytes b = request_copy_bytes(req, (const uint8_t *)s.ptr, s.len);
	return (struct kstr){ (const char *)b.ptr, b.len };
}

struct kstr request_copy_cstr(struct request *req, const char *s)
{
	return request_copy_kstr(req, s ? kstr_from_cstr(s) : KSTR_NULL);
}

struct kbytes request_copy_bytes(struct request *req, const uint8_t *p, int32_t len)
{
	if (!p || len < 0)
		return (struct kbytes){ NULL, -1 };
	uint8_t *copy = request_alloc(req, (size_t)len + 1, 1);
	if (!copy) {
		req->body.err = RC_ALLOC;
		return (struct kbytes){ NULL, -1 };
	}
	memcpy(copy, p, (size_t)len);
	return (struct kbytes){ copy, len };
}

static void request_enqueue(struct conn *c, struct request *req)
{
	if (c->req_tail)
		c->req_tail->next = &req->out;
	else
		c->req_head = &req->out;
	c->req_tail = &req->out;
	c->req_count++;
}

const struct api_entry *api_lookup(const struct api_table *t, int16_t key)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->entries[i].key == key)
			return &t->entries[i];
	return NULL;
}

/* Frees a request that never entered the connection's queue. */
static void request_discard(struct conn *c, uint8_t *frame, uint32_t frame_len)
{
	budget_release(&conn_shard_of(c->shard)->budget, frame_len);
	free(frame);
}

/* Counts an error code for an API on s, the calling shard. */
static void request_count_error(struct shard *s, int16_t api_key, int16_t error_code)
{
	assert(api_key >= 0 && api_key < METRICS_API_KEYS);
	assert(s == shard_current());
	METRIC_ADD(conn_shard_of(s)->metrics.request_errors[api_key][metrics_error_slot(error_code)], 1);
}

void request_count_response_error(void *ctx, int16_t error_code)
{
	const struct request *req = ctx;
	if (error_code != KERR_NONE)
		request_count_error(shard_current(), req->header.api_key, error_code);
}

/* Runs the handler on req->exec; its first start ends the request's queue
 * time. */
static void request_run(struct request *req)
{
	if (!req->started) {
		req->started = true;
		metrics_histogram_observe(&conn_shard_of(req->exec)->metrics.request_queue,
					  reactor_now_ns() - req->received_ns);
	}
	bool supported = req->header.api_version >= req->api->min_version &&
			 req->header.api_version <= req->api->max_version;
	if (!supported)
		net_of(req->exec->rt)->apis->unsupported_version(req);
	else
		req->api->handle(req);
}

/* On the shard the request was sent to. A shard that is stopping only gives
 * the request back: its connection is closing. */
static void request_run_moved(void *arg)
{
	struct request *req = arg;
	req->exec = shard_current();
	if (req->exec->stopping) {
		request_finish_without_response(req);
		return;
	}
	if (req->relay) {
		void (*fn)(struct request *) = req->relay;
		req->relay = NULL;
		fn(req);
		return;
	}
	request_run(req);
}

bool request_on_control(const struct request *req)
{
	return req->exec->id == SHARD_CONTROL;
}

void request_forward(struct request *req, uint32_t to)
{
	assert(to != req->exec->id && !req->out.resp && !req->relay);
	/* The handler starts over there: the body from its first byte and an
	 * empty arena. */
	req->body = req->body_start;
	arena_release(&req->arena);
	arena_init(&req->arena, req->api->arena_bytes_max);
	METRIC_ADD(conn_shard_of(req->exec)->metrics.requests_forwarded, 1);
	shard_post(req->exec, to, request_run_moved, req);
}

void request_forward_to_control(struct request *req)
{
	request_forward(req, SHARD_CONTROL);
}

void request_relay(struct request *req, uint32_t to, void (*fn)(struct request *req))
{
	assert(to != req->exec->id && !req->out.resp && fn);
	req->relay = fn;
	shard_post(req->exec, to, request_run_moved, req);
}

/* Where a request of a group API goes: the shard coordinating the group its
 * body names first, or the control shard when the body names several groups
 * (the handler then visits their shards) or no valid one (the handler
 * answers). */
static uint32_t request_home(const struct request *req)
{
	const struct api_entry *api = req->api;
	switch (api->home) {
	case API_ON_CONNECTION:
		return req->exec->id;
	case API_ON_CONTROL:
		return SHARD_CONTROL;
	case API_ON_GROUP:
		break;
	}
	if (req->header.api_version >= api->group_first_until)
		return SHARD_CONTROL;
	struct rcursor c = req->body_start;
	bool flexible = req->header.api_version >= api->flexible_from;
	struct kstr id = flexible ? rc_compact_string(&c) : rc_string(&c);
	if (c.err != RC_OK || id.len <= 0)
		return SHARD_CONTROL;
	return group_coordinator_shard_of(request_runtime(req), id);
}

static void request_dispatch(struct conn *c, uint8_t *frame, uint32_t frame_len)
{
	struct rcursor rc;
	struct request_header h;
	rc_init(&rc, frame, frame_len);
	request_header_read_fixed(&rc, &h);
	const struct api_entry *api = api_lookup(net_of(c->shard->rt)->apis, h.api_key);
	if (!api) {
		slog_warn("request", "closing %s: %s (%d) is not served", c->peer,
			  proto_api_name(h.api_key), h.api_key);
		METRIC_ADD(conn_shard_of(c->shard)->metrics.requests_unserved_api, 1);
		request_discard(c, frame, frame_len);
		conn_close(c, NULL);
		return;
	}
	bool supported = h.api_version >= api->min_version && h.api_version <= api->max_version;
	if (!supported && h.api_key != API_API_VERSIONS) {
		bool listed = h.api_version >= api->listed_min_version && h.api_version <= api->max_version;
		slog_warn("request", "closing %s: %s v%d is not supported (v%d-v%d)%s", c->peer,
			  api->name, h.api_version, api->min_version, api->max_version,
			  listed ? ", though ApiVersions lists it as Kafka does" : "");
		request_count_error(c->shard, h.api_key, KERR_UNSUPPORTED_VERSION);
		request_discard(c, frame, frame_len);
		conn_close(c, NULL);
		return;
	}
	request_header_read_rest(&rc, h.api_version >= api->flexible_from, &h);
	if (rc.err != RC_OK && supported) {
		slog_warn("request", "closing %s: malformed %s v%d request header: %s at byte %zu",
			  c->peer, api->name, h.api_version, rc_error_name(rc.err), rc.err_off);
		request_count_error(c->shard, h.api_key, KERR_INVALID_REQUEST);
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
	req->body_start = rc;
	req->received_ns = reactor_now_ns();
	arena_init(&req->arena, api->arena_bytes_max);
	request_enqueue(c, req);
	if ((size_t)h.api_key < sizeof(conn_shard_of(c->shard)->metrics.requests) / sizeof(uint64_t))
		METRIC_ADD(conn_shard_of(c->shard)->metrics.requests[h.api_key], 1);
	if (h.api_key == API_API_VERSIONS && h.api_version >= 3 && supported)
		metrics_clients_note(&conn_shard_of(c->shard)->metrics, &c->software_id, rc);
	req->exec = c->shard;
	uint32_t home = request_home(req);
	if (home != req->exec->id) {
		request_forward(req, home);
		return;
	}
	request_run(req);
}

void request_reject_malformed(struct request *req)
{
	req->rejected = true;
	request_finish_without_response(req);
}

/* On the connection's shard. */
static void request_close_rejected(struct request *req)
{
	struct conn *c = req->conn;
	slog_warn("request", "closing %s: malformed %s v%d request: %s (%s) at byte %zu", c->peer,
		  req->api->name, req->header.api_version, rc_error_name(req->body.err),
		  req->body.err_what ? req->body.err_what : "?", req->body.err_off);
	request_count_error(c->shard, req->header.api_key, KERR_INVALID_REQUEST);
	conn_close(c, NULL);
}

struct wcursor *request_response_begin(struct request *req, size_t body_wire_bytes,
				       size_t file_bytes, uint32_t max_ranges)
{
	assert(!req->out.resp && file_bytes <= body_wire_bytes);
	bool tagged = response_header_tagged(req->header.api_key, req->header.api_version,
					     req->api->flexible_from);
	size_t frame_bytes = response_header_size(tagged) + body_wire_bytes;
	size_t mem_bytes = FRAME_SIZE_BYTES + frame_bytes - file_bytes;
	req->out.resp = malloc(mem_bytes);
	req->out.ranges = max_ranges ? calloc(max_ranges, sizeof(*req->out.ranges)) : NULL;
	if (!req->out.resp || (max_ranges && !req->out.ranges)) {
		/* Our memory, not the peer's mistake: nothing sensible remains. */
		slog_error("request", "out of memory for a %zu-byte response", mem_bytes);
		abort();
	}
	wc_init(&req->writer, req->out.resp, mem_bytes, req->out.ranges, max_ranges);
	wc_int32(&req->writer, (int32_t)frame_bytes);
	response_header_write(&req->writer, req->header.correlation_id, tagged);
	return &req->writer;
}

/* On the connection's shard: the response (or its absence) is ready. */
static void request_done_here(void *arg)
{
	struct request *req = arg;
	assert(!req->out.done);
	if (req->rejected)
		request_close_rejected(req);
	req->exec = req->conn->shard;
	req->out.done = true;
	conn_request_done(req->conn);
}

static void request_mark_done(struct request *req)
{
	if (req->exec != req->conn->shard)
		shard_post(req->exec, req->conn->shard->id, request_done_here, req);
	else
		request_done_here(req);
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
	req->out.resp_len = (size_t)(w->end - w->start);
	req->out.ranges_len = w->ranges_len;
	request_mark_done(req);
}

void request_finish_without_response(struct request *req)
{
	req->out.no_response = true;
	request_mark_done(req);
}

/* On the connection's shard, once the response is sent or dropped: ends the
 * request's latency. */
static void request_free(struct request *req)
{
	struct shard_metrics *m = &conn_shard_of(req->conn->shard)->metrics;
	if ((size_t)req->header.api_key < METRICS_API_KEYS)
		metrics_histogram_observe(&m->request_latency[req->header.api_key],
					  reactor_now_ns() - req->received_ns);
	for (uint32_t i = 0; i < req->out.ranges_len; i++)
		io_close_file(req->conn->shard->reactor, req->out.ranges[i].fd);
	budget_release(&conn_shard_of(req->conn->shard)->budget, req->frame_len);
	arena_release(&req->arena);
	free(req->out.ranges);
	free(req->out.resp);
	free(req->frame);
	free(req);
}

static void request_release(struct conn_response *out)
{
	request_free(container_of(out, struct request, out));
}

const struct conn_handlers request_conn_handlers = {
	.frame = request_dispatch,
	.release = request_release,
};
