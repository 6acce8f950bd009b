/* The Prometheus endpoint (`sluice.metrics.port`): GET /metrics (the text
 * exposition), GET / (the status page, HTML) and GET /health (200 while the
 * broker serves, 503 before every shard is up and once it is stopping) over
 * plain HTTP/1.0 on the listener's host, served by one shard's reactor, and
 * the parser of its request heads (pure, so that a fuzz target can drive
 * it). /metrics and / first gather the groups from their coordinators
 * (metrics_gather.h), then render.
 *
 * At most METRICS_HTTP_CLIENTS_MAX clients are served at once, each within
 * METRICS_HTTP_DEADLINE_MS from its accept to its last byte sent. A client
 * arriving when every slot is taken evicts the oldest one still sending its
 * request; when every slot is answering, it gets 503. */
#ifndef SLUICE_CORE_NET_METRICS_HTTP_H
#define SLUICE_CORE_NET_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct runtime;
struct shard;

int metrics_http_start(struct runtime *rt, struct shard *s, char *err, size_t errlen);
/* Stops accepting (from the shard's loop, before it drains its ring). */
void metrics_http_stop(struct runtime *rt);
/* Whether no gather of the endpoint is out on other shards (the shard may
 * leave its loop). */
bool metrics_http_quiet(struct runtime *rt);
/* Releases the endpoint once the ring is drained. */
void metrics_http_free(struct runtime *rt);

enum metrics_http_head_status {
	METRICS_HTTP_HEAD_INCOMPLETE, /* no empty line yet: more bytes may complete it */
	METRICS_HTTP_HEAD_COMPLETE,
	METRICS_HTTP_HEAD_MALFORMED,  /* the request line is not METHOD SP /target SP HTTP/d.d */
};

/* Views into the parsed bytes. */
struct metrics_http_head {
	const char *method;
	size_t method_len;
	const char *path;       /* the target up to its '?' */
	size_t path_len;
	const char *query;      /* after the '?'; NULL when the target has none */
	size_t query_len;
	size_t head_len;        /* bytes up to and including the empty line */
};

/* Parses the request head at the start of buf[0, len): a request line
 * `METHOD SP origin-form-target SP HTTP/d.d`, header lines (skipped: the
 * endpoint needs none), and the empty line that ends the head; lines end in
 * CRLF or LF. Reads nothing outside buf, allocates nothing, keeps no state.
 * *out is filled when COMPLETE. */
enum metrics_http_head_status metrics_http_parse_head(const char *buf, size_t len,
						      struct metrics_http_head *out);

enum metrics_http_page {
	METRICS_HTTP_PAGE_METRICS,  /* /metrics */
	METRICS_HTTP_PAGE_STATUS,   /* / */
	METRICS_HTTP_PAGE_HEALTH,   /* /health */
};

/* The status the endpoint answers a complete head with: for GET of exactly
 * /metrics, / or /health (any query string) 200 and *page says which, 405
 * for another method on one of them, 404 for any other path. */
int metrics_http_route(const struct metrics_http_head *h, enum metrics_http_page *page);

#endif
