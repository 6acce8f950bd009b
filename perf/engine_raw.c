/* The raw engine: pre-encoded Produce and Fetch requests over N connections,
 * driven by one io_uring reactor (io/reactor.h), with no per-message client
 * work, so that the broker is the bottleneck being measured.
 *
 * Versions: one ApiVersions exchange at start picks, for the API in use, the
 * highest version both the broker and our generated codecs know (Fetch capped
 * at v12, the last that names topics), so the engine speaks what the broker
 * serves and says which version it spoke.
 *
 * produce: every connection keeps --inflight copies of one request (one
 * record batch v2 per partition, CRC32C set, --request-bytes of batches in
 * all) in flight; only the correlation id changes between sends. With --count
 * exactly ceil(count / records per request) requests are sent. Latency is
 * request -> response, or request -> sent for acks=0 (the broker answers
 * nothing then). consume: the partitions are dealt to the connections; each
 * connection fetches its partitions from offset 0 and counts the records of
 * every whole batch it gets back, reading batch headers with a bounded
 * cursor; with --rewind a partition read to its high watermark is read again
 * from its start (the page cache's bytes, over and over, for a hot fetch
 * that lasts --duration). Both modes count bytes of record batches as they
 * cross the wire.
 * Every response's correlation id and error codes are checked. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "io/reactor.h"
#include "perf.h"
#include "proto/arena.h"
#include "proto/cursor.h"
#include "proto/messages.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"
#include "rdkafka_client.h"
#include "run.h"

enum {
	RAW_FETCH_VERSION_MAX = 12,      /* v13+ name topics by id */
	RAW_CORRELATION_AT = 8,          /* size, api key, version, then the correlation id */
	RAW_API_VERSIONS_BYTES_MAX = 64 << 10,
	RAW_SETUP_TIMEOUT_MS = 10000,
	RAW_HOST_BYTES = 256,
	RAW_PORT_BYTES = 16,
	RAW_SQ_ENTRIES = 1024,
	RAW_TIMERS_MAX = 16,
	RAW_FETCH_WAIT_MS = 100,
	RAW_PRODUCE_TIMEOUT_MS = 30000,
	RAW_RECORD_OVERHEAD_MAX = 19,    /* a record's framing around its value, at most */
	RAW_RESPONSE_SLACK = 2 << 20,    /* response framing beyond the records asked for */
	RAW_ARENA_BYTES = 16 << 20,
	RAW_LOOP_WAIT_NS = 100000000,
	RAW_ERRORS_LOGGED = 5,
	RAW_ERRORS_MAX = 1000,           /* past this the figures mean nothing: stop */
};

static const char RAW_CLIENT_ID[] = "sluice-perf-raw";

/* The request this run sends and the version negotiated for it. */
struct raw_api {
	int16_t key;
	int16_t version;
	bool flexible; /* request header v2, response header v1 */
};

struct raw_engine;

struct raw_conn {
	struct raw_engine *e;
	int fd;
	struct io_op send_op;
	struct io_op recv_op;
	bool recv_armed;
	bool sending;
	bool failed;

	/* the request being sent, and how many more this connection may start */
	uint8_t *req;
	size_t req_len;
	size_t req_sent;
	uint32_t to_send;
	int32_t next_corr;

	/* the requests in flight, oldest first: send time and correlation id */
	uint64_t sent_ns[PERF_INFLIGHT_MAX];
	int32_t sent_corr[PERF_INFLIGHT_MAX];
	uint32_t sent_head;
	uint32_t inflight;

	uint8_t *rbuf;
	size_t rcap;
	size_t rlen;

	/* consume: this connection's partitions and where each stands */
	int32_t *parts;
	int64_t *offsets;
	uint32_t part_count;
};

struct raw_engine {
	const struct perf_args *a;
	struct reactor *r;
	struct raw_conn *conns;
	uint32_t conn_count;
	bool produce;
	bool acks0;
	struct raw_api api;
	uint64_t start_ns;
	uint64_t last_ns;
	uint64_t stop_ns;
	uint64_t last_data_ns;    /* the last response that carried records */
	bool stopping;
	uint64_t requests_left;   /* the send budget; UINT64_MAX when unbounded */
	/* produce: what one request carries, and records answered (errors too) */
	int32_t partitions;
	uint64_t records_per_partition;
	uint64_t batch_bytes;
	uint64_t records_answered;
	struct arena arena;
};

static int raw_connect(const char *brokers)
{
	const char *colon = strrchr(brokers, ':');
	const char *comma = strchr(brokers, ',');
	if (!colon || (comma && comma < colon)) {
		fprintf(stderr, "sluice-perf: --brokers: expected HOST:PORT, got %s\n", brokers);
		return -1;
	}
	char host[RAW_HOST_BYTES], port[RAW_PORT_BYTES];
	snprintf(host, sizeof(host), "%.*s", (int)(colon - brokers), brokers);
	snprintf(port, sizeof(port), "%.*s", comma ? (int)(comma - colon - 1) : (int)strlen(colon + 1),
		 colon + 1);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "sluice-perf: %s: %s\n", brokers, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		fprintf(stderr, "sluice-perf: connecting to %s: %s\n", brokers, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Allocates a request and writes its size and header (v2 when flexible);
 * returns the buffer with w positioned at the body. The correlation id is
 * patched at each send. */
static uint8_t *raw_request_alloc(const struct raw_api *api, size_t body_len, size_t *total,
				  struct wcursor *w)
{
	size_t header = 2 + 2 + 4 + 2 + sizeof(RAW_CLIENT_ID) - 1 + (api->flexible ? 1 : 0);
	*total = 4 + header + body_len;
	uint8_t *buf = malloc(*total);
	if (!buf)
		return NULL;
	wc_init(w, buf, *total, NULL, 0);
	wc_int32(w, (int32_t)(header + body_len));
	wc_int16(w, api->key);
	wc_int16(w, api->version);
	wc_int32(w, 0);
	wc_string(w, kstr_from_cstr(RAW_CLIENT_ID));
	if (api->flexible)
		wc_uvarint(w, 0);
	return buf;
}

/* Blocking, bounded by RAW_SETUP_TIMEOUT_MS per wait: for the one exchange
 * before the reactor starts. Returns 0 or -1. */
static int raw_blocking_io(int fd, uint8_t *buf, size_t len, bool out)
{
	for (size_t done = 0; done < len;) {
		struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		if (poll(&p, 1, RAW_SETUP_TIMEOUT_MS) != 1)
			return -1;
		ssize_t n = out ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
				: recv(fd, buf + done, len - done, 0);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* The version of `key` to speak: the highest both we and the broker know,
 * at most cap. Returns -1 (logged) when there is none. */
static int raw_pick_version(const struct api_versions_response *r, int16_t key, int16_t cap,
			    struct raw_api *out)
{
	const struct proto_api_info *ours = proto_api_find(key);
	assert(ours);
	for (int32_t i = 0; i < r->api_keys_count; i++) {
		const struct api_versions_response_api_version *v = &r->api_keys[i];
		if (v->api_key != key)
			continue;
		int16_t hi = ours->max_version < cap ? ours->max_version : cap;
		hi = v->max_version < hi ? v->max_version : hi;
		int16_t lo = ours->min_version > v->min_version ? ours->min_version : v->min_version;
		if (hi < lo) {
			fprintf(stderr, "sluice-perf: the broker serves %s v%d-%d, the raw engine v%d-%d\n",
				ours->name, v->min_version, v->max_version, ours->min_version,
				ours->max_version < cap ? ours->max_version : cap);
			return -1;
		}
		*out = (struct raw_api){ key, hi, ours->flexible_from >= 0 && hi >= ours->flexible_from };
		return 0;
	}
	fprintf(stderr, "sluice-perf: the broker does not serve %s\n", ours->name);
	return -1;
}

/* Asks the broker (ApiVersions v0, which every broker answers with response
 * header v0) which versions it serves, and picks the one for this run. */
static int raw_negotiate(struct raw_engine *e, int fd)
{
	struct raw_api av = { API_API_VERSIONS, 0, false };
	size_t len;
	struct wcursor w;
	uint8_t *req = raw_request_alloc(&av, 0, &len, &w);
	uint8_t size_be[4];
	uint8_t *resp = malloc(RAW_API_VERSIONS_BYTES_MAX);
	int rc = -1;
	if (!req || !resp || raw_blocking_io(fd, req, len, true) || raw_blocking_io(fd, size_be, 4, false)) {
		fprintf(stderr, "sluice-perf: no ApiVersions answer from %s\n", e->a->brokers);
		goto out;
	}
	uint32_t size = (uint32_t)be_load(size_be, 4);
	if (size > RAW_API_VERSIONS_BYTES_MAX || raw_blocking_io(fd, resp, size, false)) {
		fprintf(stderr, "sluice-perf: an ApiVersions answer of %u bytes\n", size);
		goto out;
	}
	struct rcursor c;
	rc_init(&c, resp, size);
	(void)rc_int32(&c); /* the only request on this connection so far */
	struct api_versions_response r;
	if (api_versions_response_decode(&c, 0, &e->arena, &r) != 0) {
		fprintf(stderr, "sluice-perf: an undecodable ApiVersions answer\n");
		goto out;
	}
	if (r.error_code) {
		fprintf(stderr, "sluice-perf: ApiVersions: error code %d\n", r.error_code);
		goto out;
	}
	rc = e->produce ? raw_pick_version(&r, API_PRODUCE, INT16_MAX, &e->api)
			: raw_pick_version(&r, API_FETCH, RAW_FETCH_VERSION_MAX, &e->api);
	if (rc == 0) {
		snprintf(perf_stats.protocol, sizeof(perf_stats.protocol), "%s v%d",
			 e->produce ? "Produce" : "Fetch", e->api.version);
		fprintf(stderr, "sluice-perf: raw engine speaks %s\n", perf_stats.protocol);
	}
out:
	arena_release(&e->arena);
	arena_init(&e->arena, RAW_ARENA_BYTES);
	free(req);
	free(resp);
	return rc;
}

static void raw_conn_fail(struct raw_conn *c, const char *what, int err)
{
	if (!c->failed)
		fprintf(stderr, "sluice-perf: connection %d: %s: %s\n", c->fd, what,
			err ? strerror(err) : "closed by the broker");
	c->failed = true;
	perf_stats.errors++;
	perf_stop = 1;
}

/* Counts one error in a response (a Kafka error code, or 0 for a response
 * that does not match its request); logs the first few, and ends a run whose
 * errors keep coming. */
static void raw_count_error(const char *what, int32_t partition, int16_t code)
{
	if (perf_stats.errors < RAW_ERRORS_LOGGED) {
		fprintf(stderr, "sluice-perf: %s", what);
		if (partition >= 0)
			fprintf(stderr, " (partition %d)", partition);
		if (code)
			fprintf(stderr, ": error code %d", code);
		fputc('\n', stderr);
	}
	if (++perf_stats.errors == RAW_ERRORS_MAX) {
		fprintf(stderr, "sluice-perf: %d errors: stopping\n", RAW_ERRORS_MAX);
		perf_stop = 1;
	}
}

static void raw_on_send(struct io_op *op, int32_t res, uint32_t flags);

static void raw_send_next(struct raw_conn *c)
{
	struct raw_engine *e = c->e;
	if (c->sending || c->failed)
		return;
	if (c->req_sent == 0) {
		if (!c->to_send || !e->requests_left)
			return;
		c->to_send--;
		if (e->requests_left != UINT64_MAX)
			e->requests_left--;
		int32_t corr = c->next_corr++;
		be_store(c->req + RAW_CORRELATION_AT, (uint32_t)corr, 4);
		uint32_t slot = (c->sent_head + c->inflight) % PERF_INFLIGHT_MAX;
		c->sent_ns[slot] = perf_now_ns();
		c->sent_corr[slot] = corr;
		c->inflight++;
		perf_stats.requests++;
	}
	c->sending = true;
	c->send_op.done = raw_on_send;
	io_send(e->r, c->fd, c->req + c->req_sent, c->req_len - c->req_sent, 0, &c->send_op);
}

/* Retires the oldest request in flight, recording its latency; false when
 * the response's correlation id is not that request's. */
static bool raw_retire(struct raw_conn *c, int32_t corr)
{
	assert(c->inflight > 0);
	if (corr != c->sent_corr[c->sent_head])
		return false;
	histogram_record(&perf_stats.latency_us, (perf_now_ns() - c->sent_ns[c->sent_head]) / 1000);
	c->sent_head = (c->sent_head + 1) % PERF_INFLIGHT_MAX;
	c->inflight--;
	if (!c->e->stopping)
		c->to_send++;
	return true;
}

/* Produce: counts what one request's partitions carried, ok_partitions of
 * them stored. */
static void raw_count_produced(struct raw_engine *e, uint64_t ok_partitions)
{
	perf_stats.messages += ok_partitions * e->records_per_partition;
	perf_stats.bytes += ok_partitions * e->batch_bytes;
	e->records_answered += (uint64_t)e->partitions * e->records_per_partition;
}

static void raw_on_send(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct raw_conn *c = container_of(op, struct raw_conn, send_op);
	c->sending = false;
	if (res <= 0) {
		raw_conn_fail(c, "send", res < 0 ? -res : 0);
		return;
	}
	c->req_sent += (size_t)res;
	if (c->req_sent == c->req_len) {
		c->req_sent = 0;
		/* acks=0: no response will come; the request is done once sent. */
		if (c->e->acks0) {
			raw_retire(c, c->sent_corr[c->sent_head]);
			raw_count_produced(c->e, (uint64_t)c->e->partitions);
		}
	}
	raw_send_next(c);
}

/* Fetch: a new request for this connection's partitions at their offsets. */
static bool raw_fetch_build(struct raw_conn *c)
{
	const struct perf_args *a = c->e->a;
	struct fetch_request q;
	fetch_request_init(&q);
	struct fetch_request_fetch_topic t;
	fetch_request_fetch_topic_init(&t);
	struct fetch_request_fetch_partition *ps = calloc(c->part_count, sizeof(*ps));
	if (!ps)
		return false;
	t.topic = kstr_from_cstr(a->topic);
	t.partitions = ps;
	t.partitions_count = (int32_t)c->part_count;
	int32_t per_partition = (int32_t)(a->request_bytes / c->part_count);
	for (uint32_t i = 0; i < c->part_count; i++) {
		fetch_request_fetch_partition_init(&ps[i]);
		ps[i].partition = c->parts[i];
		ps[i].fetch_offset = c->offsets[i];
		ps[i].partition_max_bytes = per_partition > 0 ? per_partition : 1;
	}
	q.replica_id = -1;
	q.max_wait_ms = RAW_FETCH_WAIT_MS;
	q.min_bytes = 1;
	q.max_bytes = (int32_t)a->request_bytes;
	q.topics = &t;
	q.topics_count = 1;
	size_t body = fetch_request_size(&q, c->e->api.version), total;
	struct wcursor w;
	free(c->req);
	c->req = raw_request_alloc(&c->e->api, body, &total, &w);
	if (c->req)
		fetch_request_encode(&w, c->e->api.version, &q);
	free(ps);
	c->req_len = total;
	return c->req && !w.overflow && w.pos == w.end;
}

static void raw_handle_produce(struct raw_conn *c, struct rcursor *rc)
{
	struct raw_engine *e = c->e;
	struct produce_response r;
	if (produce_response_decode(rc, e->api.version, &e->arena, &r) != 0) {
		raw_conn_fail(c, "undecodable Produce response", 0);
		return;
	}
	uint64_t ok = 0, answered = 0;
	for (int32_t i = 0; i < r.responses_count; i++) {
		bool ours = kstr_eq_cstr(r.responses[i].name, e->a->topic);
		for (int32_t j = 0; j < r.responses[i].partition_responses_count; j++) {
			const struct produce_response_partition_produce_response *p =
				&r.responses[i].partition_responses[j];
			answered++;
			if (!ours)
				raw_count_error("Produce response for another topic", p->index, 0);
			else if (p->error_code)
				raw_count_error("Produce", p->index, p->error_code);
			else
				ok++;
		}
	}
	if (answered != (uint64_t)e->partitions)
		raw_count_error("Produce response: partitions answered unlike those sent", -1, 0);
	raw_count_produced(e, ok <= (uint64_t)e->partitions ? ok : 0);
}

/* Counts the records of the whole batches in one partition's records (a
 * trailing partial batch is normal: the broker cuts at the byte limit) and
 * moves the partition's fetch offset past them. Records below the asked
 * offset that come back inside their batch are not counted. Returns false for
 * bytes that are not a record batch v2. */
static bool raw_count_batches(const struct krecords *recs, int64_t *offset)
{
	if (recs->len <= 0)
		return true;
	struct rcursor c;
	rc_init(&c, recs->mem, (size_t)recs->len);
	while (rc_left(&c) >= RECORD_BATCH_HEADER_BYTES) {
		struct record_batch_header h;
		record_batch_header_read(rc_take(&c, RECORD_BATCH_HEADER_BYTES, "batch header"), &h);
		if (h.magic != RECORD_BATCH_MAGIC_V2 || h.record_count < 0 || h.last_offset_delta < 0 ||
		    h.batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD)
			return false;
		uint64_t total = record_batch_total_bytes(&h);
		if (total - RECORD_BATCH_HEADER_BYTES > rc_left(&c))
			break;
		(void)rc_take(&c, (size_t)(total - RECORD_BATCH_HEADER_BYTES), "batch records");
		int64_t last = h.base_offset + h.last_offset_delta;
		if (!(h.attributes & BATCH_ATTR_CONTROL)) {
			int64_t first = h.base_offset > *offset ? h.base_offset : *offset;
			uint64_t n = last >= first ? (uint64_t)(last - first + 1) : 0;
			perf_stats.messages += n < (uint64_t)h.record_count ? n : (uint64_t)h.record_count;
			perf_stats.bytes += total;
		}
		if (last + 1 > *offset)
			*offset = last + 1;
	}
	return true;
}

static void raw_handle_fetch(struct raw_conn *c, struct rcursor *rc)
{
	struct fetch_response r;
	if (fetch_response_decode(rc, c->e->api.version, &c->e->arena, &r) != 0) {
		raw_conn_fail(c, "undecodable Fetch response", 0);
		return;
	}
	if (r.error_code)
		raw_count_error("Fetch", -1, r.error_code);
	for (int32_t i = 0; i < r.responses_count; i++) {
		for (int32_t j = 0; j < r.responses[i].partitions_count; j++) {
			struct fetch_response_partition_data *p = &r.responses[i].partitions[j];
			uint32_t k = 0;
			while (k < c->part_count && c->parts[k] != p->partition_index)
				k++;
			if (k == c->part_count || !kstr_eq_cstr(r.responses[i].topic, c->e->a->topic))
				raw_count_error("Fetch response for a partition not asked for", p->partition_index, 0);
			else if (p->error_code)
				raw_count_error("Fetch", p->partition_index, p->error_code);
			else if (!raw_count_batches(&p->records, &c->offsets[k]))
				raw_count_error("Fetch returned bytes that are not record batch v2",
						p->partition_index, 0);
			else if (c->e->a->rewind && c->offsets[k] >= p->high_watermark)
				c->offsets[k] = p->log_start_offset > 0 ? p->log_start_offset : 0;
		}
	}
	if (!raw_fetch_build(c))
		raw_conn_fail(c, "cannot build the next Fetch", ENOMEM);
}

static void raw_on_recv(struct io_op *op, int32_t res, uint32_t flags);

static void raw_recv_arm(struct raw_conn *c)
{
	if (c->recv_armed || c->failed)
		return;
	c->recv_armed = true;
	c->recv_op.done = raw_on_recv;
	io_recv(c->e->r, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, &c->recv_op);
}

/* Handles one whole response frame (size prefix stripped). */
static void raw_handle_response(struct raw_conn *c, uint8_t *frame, uint32_t size)
{
	struct raw_engine *e = c->e;
	struct rcursor rc;
	rc_init(&rc, frame, size);
	int32_t corr = rc_int32(&rc);
	if (e->api.flexible)
		rc_skip_tagged_fields(&rc);
	if (rc.err || e->acks0 || c->inflight == 0 || !raw_retire(c, corr)) {
		raw_conn_fail(c, "a response that answers no request in flight", EPROTO);
		return;
	}
	uint64_t before = perf_stats.messages;
	if (e->produce)
		raw_handle_produce(c, &rc);
	else
		raw_handle_fetch(c, &rc);
	if (perf_stats.messages != before)
		e->last_data_ns = perf_now_ns();
	arena_release(&e->arena);
	arena_init(&e->arena, RAW_ARENA_BYTES);
}

static void raw_on_recv(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct raw_conn *c = container_of(op, struct raw_conn, recv_op);
	struct raw_engine *e = c->e;
	c->recv_armed = false;
	if (res <= 0) {
		if (!(e->stopping && c->inflight == 0))
			raw_conn_fail(c, "recv", res < 0 ? -res : 0);
		return;
	}
	c->rlen += (size_t)res;
	size_t pos = 0;
	while (c->rlen - pos >= 4 && !c->failed) {
		uint32_t size = (uint32_t)be_load(c->rbuf + pos, 4);
		if ((size_t)size + 4 > c->rcap) {
			raw_conn_fail(c, "a response larger than the receive buffer", EMSGSIZE);
			return;
		}
		if (c->rlen - pos < (size_t)size + 4)
			break;
		raw_handle_response(c, c->rbuf + pos + 4, size);
		pos += (size_t)size + 4;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	raw_send_next(c);
	raw_recv_arm(c);
}

/* One Produce request: the same batch of records for every partition, sized
 * so that the batches together stay within --request-bytes. */
static uint8_t *raw_produce_request(struct raw_engine *e, size_t *len)
{
	const struct perf_args *a = e->a;
	uint64_t target = (uint64_t)a->request_bytes / (uint64_t)e->partitions;
	uint64_t n = target > RECORD_BATCH_HEADER_BYTES
		? (target - RECORD_BATCH_HEADER_BYTES) / ((uint64_t)a->size + RAW_RECORD_OVERHEAD_MAX) : 0;
	n = n ? n : 1;
	uint8_t *value = malloc((size_t)a->size + 1);
	struct record_kv *kv = calloc(n, sizeof(*kv));
	struct produce_request_partition_produce_data *pd = calloc((size_t)e->partitions, sizeof(*pd));
	uint8_t *batch = NULL, *req = NULL;
	if (!value || !kv || !pd)
		goto out;
	memset(value, 'r', (size_t)a->size);
	for (uint64_t i = 0; i < n; i++)
		kv[i] = (struct record_kv){ { NULL, -1 }, { value, (int32_t)a->size } };
	size_t batch_len = record_batch_build_size(kv, (uint32_t)n);
	batch = malloc(batch_len);
	if (!batch)
		goto out;
	/* CreateTime is the wall clock: the broker's time-based retention reads it. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	record_batch_build(batch, batch_len, kv, (uint32_t)n, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	struct produce_request_topic_produce_data td;
	produce_request_topic_produce_data_init(&td);
	td.name = kstr_from_cstr(a->topic);
	td.partition_data = pd;
	td.partition_data_count = e->partitions;
	for (int32_t i = 0; i < e->partitions; i++) {
		produce_request_partition_produce_data_init(&pd[i]);
		pd[i].index = i;
		pd[i].records = (struct krecords){ .mem = batch, .len = (int32_t)batch_len, .fd = -1 };
	}
	struct produce_request q;
	produce_request_init(&q);
	q.transactional_id = (struct kstr){ NULL, -1 };
	q.acks = (int16_t)(strcmp(a->acks, "all") == 0 ? -1 : atoi(a->acks));
	q.timeout_ms = RAW_PRODUCE_TIMEOUT_MS;
	q.topic_data = &td;
	q.topic_data_count = 1;
	struct wcursor w;
	req = raw_request_alloc(&e->api, produce_request_size(&q, e->api.version), len, &w);
	if (req)
		produce_request_encode(&w, e->api.version, &q);
	assert(!req || (!w.overflow && w.pos == w.end));
	e->records_per_partition = n;
	e->batch_bytes = batch_len;
out:
	free(value);
	free(kv);
	free(pd);
	free(batch);
	return req;
}

static uint32_t raw_busy(const struct raw_engine *e)
{
	uint32_t busy = 0;
	for (uint32_t i = 0; i < e->conn_count; i++)
		busy += !e->conns[i].failed && (e->conns[i].inflight > 0 || e->conns[i].sending);
	return busy;
}

/* Runs until --count or --duration, then lets what is in flight come back
 * and counts it. The clock stops at the later of the stop and the last
 * response that carried records, so a drained Fetch that waits out its
 * max_wait_ms empty does not dilute the rate. */
static int raw_run(struct raw_engine *e)
{
	const struct perf_args *a = e->a;
	e->start_ns = e->last_ns = perf_now_ns();
	for (uint32_t i = 0; i < e->conn_count; i++) {
		struct raw_conn *c = &e->conns[i];
		c->to_send = (uint32_t)a->inflight;
		raw_recv_arm(c);
		raw_send_next(c);
	}
	for (;;) {
		reactor_run_once(e->r, RAW_LOOP_WAIT_NS);
		uint64_t done = e->produce ? e->records_answered : perf_stats.messages;
		if (!e->stopping && perf_done(a, done, e->start_ns)) {
			e->stopping = true;
			e->stop_ns = perf_now_ns();
			for (uint32_t i = 0; i < e->conn_count; i++)
				e->conns[i].to_send = 0;
		}
		if (e->stopping && raw_busy(e) == 0)
			break;
		perf_progress(&perf_stats, e->start_ns, &e->last_ns);
	}
	uint64_t end_ns = e->last_data_ns > e->stop_ns ? e->last_data_ns : e->stop_ns;
	perf_stats.seconds = (double)(end_ns - e->start_ns) / 1e9;
	for (uint32_t i = 0; i < e->conn_count; i++)
		shutdown(e->conns[i].fd, SHUT_RDWR);
	while (reactor_inflight(e->r) > 0)
		reactor_run_once(e->r, RAW_LOOP_WAIT_NS);
	return 0;
}

static void raw_free(struct raw_engine *e)
{
	for (uint32_t i = 0; e->conns && i < e->conn_count; i++) {
		struct raw_conn *c = &e->conns[i];
		if (c->fd >= 0)
			close(c->fd);
		free(c->req);
		free(c->rbuf);
		free(c->parts);
		free(c->offsets);
	}
	free(e->conns);
	arena_release(&e->arena);
	if (e->r)
		reactor_destroy(e->r);
}

/* The reactor, the connections and the negotiated version. */
static int raw_setup(struct raw_engine *e, const struct perf_args *a, bool produce)
{
	*e = (struct raw_engine){ .a = a, .produce = produce, .requests_left = UINT64_MAX,
				  .acks0 = produce && !strcmp(a->acks, "0") };
	arena_init(&e->arena, RAW_ARENA_BYTES);
	char err[PERF_ERR_BYTES];
	struct reactor_config rc = { .sq_entries = RAW_SQ_ENTRIES, .timers_max = RAW_TIMERS_MAX };
	e->r = reactor_create(&rc, err, sizeof(err));
	if (!e->r) {
		fprintf(stderr, "sluice-perf: %s\n", err);
		return -1;
	}
	e->conn_count = (uint32_t)a->connections;
	e->conns = calloc(e->conn_count, sizeof(*e->conns));
	if (!e->conns)
		return -1;
	for (uint32_t i = 0; i < e->conn_count; i++)
		e->conns[i].fd = -1;
	for (uint32_t i = 0; i < e->conn_count; i++) {
		struct raw_conn *c = &e->conns[i];
		c->e = e;
		c->next_corr = 1;
		c->fd = raw_connect(a->brokers);
		c->rcap = (size_t)a->request_bytes + RAW_RESPONSE_SLACK;
		c->rbuf = malloc(c->rcap);
		if (c->fd < 0 || !c->rbuf)
			return -1;
	}
	return raw_negotiate(e, e->conns[0].fd);
}

int perf_raw_produce(const struct perf_args *a)
{
	int partitions = perf_topic_partitions(a);
	if (partitions <= 0 || partitions > PERF_PARTITIONS_MAX)
		return 1;
	struct raw_engine e;
	int rc = 1;
	if (raw_setup(&e, a, true) == 0) {
		perf_stats.latency_what = e.acks0 ? "Produce request -> sent (acks=0: no response)"
						  : "Produce request -> response";
		e.partitions = partitions;
		size_t len = 0;
		uint8_t *proto = raw_produce_request(&e, &len);
		uint64_t per_request = e.records_per_partition * (uint64_t)partitions;
		if (a->count)
			e.requests_left = ((uint64_t)a->count + per_request - 1) / per_request;
		bool ok = proto != NULL;
		for (uint32_t i = 0; ok && i < e.conn_count; i++) {
			e.conns[i].req = malloc(len);
			e.conns[i].req_len = len;
			ok = e.conns[i].req != NULL;
			if (ok)
				memcpy(e.conns[i].req, proto, len);
		}
		free(proto);
		if (ok)
			rc = raw_run(&e);
	}
	raw_free(&e);
	return rc;
}

int perf_raw_consume(const struct perf_args *a)
{
	int partitions = perf_topic_partitions(a);
	if (partitions <= 0 || partitions > PERF_PARTITIONS_MAX)
		return 1;
	/* Fetch is a poll: one request in flight per connection (a second would
	 * ask for the same offsets), and no more connections than partitions. */
	struct perf_args one = *a;
	one.inflight = 1;
	if (one.connections > partitions)
		one.connections = partitions;
	struct raw_engine e;
	int rc = 1;
	if (raw_setup(&e, &one, false) == 0) {
		perf_stats.latency_what = "Fetch request -> response";
		bool ok = true;
		for (uint32_t i = 0; i < e.conn_count && ok; i++) {
			struct raw_conn *c = &e.conns[i];
			uint32_t n = ((uint32_t)partitions - i + e.conn_count - 1) / e.conn_count;
			c->parts = calloc(n, sizeof(*c->parts));
			c->offsets = calloc(n, sizeof(*c->offsets));
			ok = c->parts && c->offsets;
			for (uint32_t k = 0; ok && k < n; k++)
				c->parts[k] = (int32_t)(i + k * e.conn_count);
			c->part_count = n;
			ok = ok && raw_fetch_build(c);
		}
		if (ok)
			rc = raw_run(&e);
	}
	raw_free(&e);
	return rc;
}
