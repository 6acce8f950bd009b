/* The raw engine: pre-encoded Produce (v7) and Fetch (v11) requests over N
 * connections, driven by one io_uring reactor, with no per-message client
 * work, so that the broker is the bottleneck being measured.
 *
 * produce: every connection keeps --inflight copies of one request (a batch
 * of --size records per partition, --request-bytes of records in all) in
 * flight; only the correlation id changes between sends. Latency is request
 * -> response. consume: the partitions are dealt to the connections; each
 * connection fetches its partitions from offset 0 (or the end) and counts
 * the records of every whole batch it gets back. Every response is decoded
 * and every error code counted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/reactor.h"
#include "perf.h"
#include "proto/arena.h"
#include "proto/cursor.h"
#include "proto/messages.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

enum {
	RAW_PRODUCE_VERSION = 7,
	RAW_FETCH_VERSION = 11,
	RAW_HEADER_BYTES_MAX = 64,
	RAW_SQ_ENTRIES = 1024,
	RAW_TIMERS_MAX = 16,
	RAW_INFLIGHT_MAX = 64,
	RAW_CONNECTIONS_MAX = 1024,
	RAW_FETCH_WAIT_MS = 100,
	RAW_RESPONSE_SLACK = 2 << 20,    /* response framing beyond the records asked for */
	RAW_ARENA_BYTES = 16 << 20,
	RAW_LOOP_WAIT_NS = 100000000,
	RAW_PARTITIONS_MAX = 100000,
};

static const char RAW_CLIENT_ID[] = "sluice-perf-raw";

struct raw_engine;

struct raw_conn {
	struct raw_engine *e;
	int fd;
	struct io_op send_op;
	struct io_op recv_op;
	bool recv_armed;
	bool sending;
	bool failed;

	/* the request being sent, and how many more wait to be sent */
	uint8_t *req;
	size_t req_len;
	size_t req_sent;
	uint32_t to_send;
	int32_t next_corr;

	/* send times of the requests in flight, oldest first */
	uint64_t sent_ns[RAW_INFLIGHT_MAX];
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
	bool expect_responses;        /* false for acks=0 produce */
	uint64_t start_ns;
	uint64_t last_ns;
	bool stopping;
	/* produce: what one request carries */
	uint64_t records_per_request;
	uint64_t record_bytes_per_request;
	struct arena arena;
};

static int raw_connect(const char *brokers)
{
	char host[256];
	const char *colon = strrchr(brokers, ':');
	const char *comma = strchr(brokers, ',');
	if (!colon || (comma && comma < colon)) {
		fprintf(stderr, "sluice-perf: --brokers: expected HOST:PORT, got %s\n", brokers);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - brokers), brokers);
	char port[16];
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

/* Writes size + request header v1 + room for the body; returns the body's
 * writer position. The correlation id is patched at each send. */
static uint8_t *raw_request_alloc(int16_t key, int16_t version, size_t body_len, size_t *total,
				  struct wcursor *w)
{
	size_t header = 2 + 2 + 4 + 2 + sizeof(RAW_CLIENT_ID) - 1;
	*total = 4 + header + body_len;
	uint8_t *buf = malloc(*total);
	if (!buf)
		return NULL;
	wc_init(w, buf, *total, NULL, 0);
	wc_int32(w, (int32_t)(header + body_len));
	wc_int16(w, key);
	wc_int16(w, version);
	wc_int32(w, 0);
	wc_string(w, kstr_from_cstr(RAW_CLIENT_ID));
	return buf;
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

static void raw_on_send(struct io_op *op, int32_t res, uint32_t flags);
static void raw_record_latency(struct raw_conn *c);

/* acks=0: the broker answers nothing, so a request is done once it is sent. */
static void raw_sent_unanswered(struct raw_conn *c)
{
	struct raw_engine *e = c->e;
	raw_record_latency(c);
	perf_stats.messages += e->records_per_request;
	perf_stats.bytes += e->record_bytes_per_request;
	if (!e->stopping)
		c->to_send++;
}

static void raw_send_next(struct raw_conn *c)
{
	if (c->sending || c->failed)
		return;
	if (c->req_sent == 0) {
		if (!c->to_send)
			return;
		c->to_send--;
		be_store(c->req + 8, (uint32_t)c->next_corr++, 4);
		c->sent_ns[(c->sent_head + c->inflight) % RAW_INFLIGHT_MAX] = perf_now_ns();
		c->inflight++;
		perf_stats.requests++;
	}
	c->sending = true;
	c->send_op.done = raw_on_send;
	io_send(c->e->r, c->fd, c->req + c->req_sent, c->req_len - c->req_sent, 0, &c->send_op);
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
		if (!c->e->expect_responses)
			raw_sent_unanswered(c);
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
	size_t body = fetch_request_size(&q, RAW_FETCH_VERSION), total;
	struct wcursor w;
	free(c->req);
	c->req = raw_request_alloc(1, RAW_FETCH_VERSION, body, &total, &w);
	if (c->req)
		fetch_request_encode(&w, RAW_FETCH_VERSION, &q);
	free(ps);
	c->req_len = total;
	return c->req && !w.overflow && w.pos == w.end;
}

static void raw_record_latency(struct raw_conn *c)
{
	uint64_t sent = c->sent_ns[c->sent_head];
	c->sent_head = (c->sent_head + 1) % RAW_INFLIGHT_MAX;
	c->inflight--;
	histogram_record(&perf_stats.latency_us, (perf_now_ns() - sent) / 1000);
}

static void raw_handle_produce(struct raw_conn *c, struct rcursor *rc)
{
	struct raw_engine *e = c->e;
	struct produce_response r;
	if (produce_response_decode(rc, RAW_PRODUCE_VERSION, &e->arena, &r) != 0) {
		raw_conn_fail(c, "undecodable Produce response", 0);
		return;
	}
	bool ok = true;
	for (int32_t i = 0; i < r.responses_count; i++)
		for (int32_t j = 0; j < r.responses[i].partition_responses_count; j++)
			if (r.responses[i].partition_responses[j].error_code) {
				perf_stats.errors++;
				ok = false;
			}
	if (ok) {
		perf_stats.messages += e->records_per_request;
		perf_stats.bytes += e->record_bytes_per_request;
	}
}

/* Counts the whole batches of one partition's records and moves its offset. */
static void raw_count_batches(struct krecords *recs, int64_t *offset)
{
	uint8_t *p = recs->mem;
	size_t left = recs->len > 0 ? (size_t)recs->len : 0;
	while (left >= RECORD_BATCH_HEADER_BYTES) {
		struct record_batch_header h;
		record_batch_header_read(p, &h);
		uint64_t total = record_batch_total_bytes(&h);
		if (h.batch_length < 0 || total > left)
			break;
		if (!(h.attributes & BATCH_ATTR_CONTROL)) {
			int64_t first = h.base_offset > *offset ? h.base_offset : *offset;
			int64_t last = h.base_offset + h.last_offset_delta;
			if (last >= first) {
				/* Records below the asked offset come back inside their batch. */
				uint64_t n = (uint64_t)(last - first + 1);
				perf_stats.messages += n < (uint64_t)h.record_count ? n : (uint64_t)h.record_count;
			}
			perf_stats.bytes += total;
		}
		*offset = h.base_offset + h.last_offset_delta + 1;
		p += total;
		left -= total;
	}
}

static void raw_handle_fetch(struct raw_conn *c, struct rcursor *rc)
{
	struct fetch_response r;
	if (fetch_response_decode(rc, RAW_FETCH_VERSION, &c->e->arena, &r) != 0) {
		raw_conn_fail(c, "undecodable Fetch response", 0);
		return;
	}
	if (r.error_code)
		perf_stats.errors++;
	for (int32_t i = 0; i < r.responses_count; i++) {
		for (int32_t j = 0; j < r.responses[i].partitions_count; j++) {
			struct fetch_response_partition_data *p = &r.responses[i].partitions[j];
			uint32_t k = 0;
			while (k < c->part_count && c->parts[k] != p->partition_index)
				k++;
			if (k == c->part_count || p->error_code) {
				perf_stats.errors++;
				continue;
			}
			raw_count_batches(&p->records, &c->offsets[k]);
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
	while (c->rlen - pos >= 4) {
		uint32_t size = (uint32_t)be_load(c->rbuf + pos, 4);
		if ((size_t)size + 4 > c->rcap) {
			raw_conn_fail(c, "a response larger than the receive buffer", EMSGSIZE);
			return;
		}
		if (c->rlen - pos < (size_t)size + 4)
			break;
		struct rcursor rc;
		rc_init(&rc, c->rbuf + pos + 4, size);
		(void)rc_int32(&rc); /* correlation id: responses come in request order */
		raw_record_latency(c);
		if (e->produce)
			raw_handle_produce(c, &rc);
		else
			raw_handle_fetch(c, &rc);
		arena_release(&e->arena);
		arena_init(&e->arena, RAW_ARENA_BYTES);
		pos += (size_t)size + 4;
		if (!e->stopping)
			c->to_send++;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	raw_send_next(c);
	if (!e->stopping || c->inflight > 0)
		raw_recv_arm(c);
}

/* One Produce v7 request: a batch of records per partition. */
static uint8_t *raw_produce_request(struct raw_engine *e, int partitions, size_t *len)
{
	const struct perf_args *a = e->a;
	uint64_t per_partition = (uint64_t)a->request_bytes / (uint64_t)partitions / (uint64_t)(a->size + 1);
	if (per_partition == 0)
		per_partition = 1;
	uint8_t *value = malloc((size_t)a->size + 1);
	struct record_kv *kv = calloc(per_partition, sizeof(*kv));
	struct produce_request_partition_produce_data *pd = calloc((size_t)partitions, sizeof(*pd));
	uint8_t *batch = NULL;
	uint8_t *req = NULL;
	if (!value || !kv || !pd)
		goto out;
	memset(value, 'r', (size_t)a->size);
	for (uint64_t i = 0; i < per_partition; i++)
		kv[i] = (struct record_kv){ { NULL, -1 }, { value, (int32_t)a->size } };
	size_t batch_len = record_batch_build_size(kv, (uint32_t)per_partition);
	batch = malloc(batch_len);
	if (!batch)
		goto out;
	record_batch_build(batch, batch_len, kv, (uint32_t)per_partition, 0);
	struct produce_request_topic_produce_data td;
	produce_request_topic_produce_data_init(&td);
	td.name = kstr_from_cstr(a->topic);
	td.partition_data = pd;
	td.partition_data_count = partitions;
	for (int i = 0; i < partitions; i++) {
		produce_request_partition_produce_data_init(&pd[i]);
		pd[i].index = i;
		pd[i].records = (struct krecords){ .mem = batch, .len = (int32_t)batch_len, .fd = -1 };
	}
	struct produce_request q;
	produce_request_init(&q);
	q.transactional_id = (struct kstr){ NULL, -1 };
	q.acks = (int16_t)(strcmp(a->acks, "all") == 0 ? -1 : atoi(a->acks));
	q.timeout_ms = 30000;
	q.topic_data = &td;
	q.topic_data_count = 1;
	struct wcursor w;
	req = raw_request_alloc(0, RAW_PRODUCE_VERSION, produce_request_size(&q, RAW_PRODUCE_VERSION), len, &w);
	if (req)
		produce_request_encode(&w, RAW_PRODUCE_VERSION, &q);
	e->records_per_request = per_partition * (uint64_t)partitions;
	e->record_bytes_per_request = per_partition * (uint64_t)a->size * (uint64_t)partitions;
out:
	free(value);
	free(kv);
	free(pd);
	free(batch);
	return req;
}

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
		if (!e->stopping && perf_done(a, perf_stats.messages, e->start_ns)) {
			e->stopping = true;
			perf_stats.seconds = (double)(perf_now_ns() - e->start_ns) / 1e9;
			for (uint32_t i = 0; i < e->conn_count; i++)
				e->conns[i].to_send = 0;
		}
		uint32_t busy = 0;
		for (uint32_t i = 0; i < e->conn_count; i++)
			busy += !e->conns[i].failed && (e->conns[i].inflight > 0 || e->conns[i].sending);
		if (e->stopping && busy == 0)
			break;
		if (!e->stopping)
			perf_progress(e->start_ns, &e->last_ns);
	}
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

static int raw_setup(struct raw_engine *e, const struct perf_args *a, bool produce)
{
	*e = (struct raw_engine){ .a = a, .produce = produce,
				  .expect_responses = !produce || strcmp(a->acks, "0") != 0 };
	arena_init(&e->arena, RAW_ARENA_BYTES);
	if (a->inflight > RAW_INFLIGHT_MAX || a->connections > RAW_CONNECTIONS_MAX) {
		fprintf(stderr, "sluice-perf: at most %d connections and %d requests in flight each\n",
			RAW_CONNECTIONS_MAX, RAW_INFLIGHT_MAX);
		return -1;
	}
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
	return 0;
}

int perf_raw_produce(const struct perf_args *a)
{
	int partitions = perf_topic_partitions(a);
	if (partitions <= 0)
		return 1;
	struct raw_engine e;
	int rc = 1;
	if (raw_setup(&e, a, true) == 0) {
		perf_stats.latency_what = e.expect_responses ? "Produce request -> response"
						     : "Produce request -> sent (acks=0: no response)";
		size_t len = 0;
		uint8_t *proto = raw_produce_request(&e, partitions, &len);
		for (uint32_t i = 0; proto && i < e.conn_count; i++) {
			e.conns[i].req = malloc(len);
			e.conns[i].req_len = len;
			if (e.conns[i].req)
				memcpy(e.conns[i].req, proto, len);
		}
		free(proto);
		if (proto && e.conn_count && e.conns[e.conn_count - 1].req)
			rc = raw_run(&e);
	}
	raw_free(&e);
	return rc;
}

int perf_raw_consume(const struct perf_args *a)
{
	int partitions = perf_topic_partitions(a);
	if (partitions <= 0 || partitions > RAW_PARTITIONS_MAX)
		return 1;
	/* Fetch is a poll: one request in flight per connection, and no more
	 * connections than partitions. */
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
