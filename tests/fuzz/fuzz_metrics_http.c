/* Fuzz target: the metrics endpoint's request-head parser and router, on the
 * bytes a scraper (or anyone reaching the port) sends. The input is the
 * bytes received so far. Checks what the endpoint relies on: views stay
 * inside the input, a complete head ends at its empty line and is complete
 * at no shorter length, more bytes never change a verdict, and the route is
 * one of the three answers (200 naming the page at exactly its path). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/net/metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_inside(const char *buf, size_t len, const char *p, size_t n)
{
	assert(p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void fuzz_check_complete(const char *buf, size_t len, const struct metrics_http_head *h)
{
	fuzz_inside(buf, len, h->method, h->method_len);
	fuzz_inside(buf, len, h->path, h->path_len);
	assert(h->method == buf && h->method_len > 0);
	assert(h->path_len > 0 && h->path[0] == '/' && !memchr(h->path, '?', h->path_len));
	assert(!memchr(h->path, ' ', h->path_len));
	if (h->query) {
		fuzz_inside(buf, len, h->query, h->query_len);
		assert(h->query == h->path + h->path_len + 1);
	}
	assert(h->head_len >= 2 && h->head_len <= len && buf[h->head_len - 1] == '\n');
	enum metrics_http_page page = (enum metrics_http_page)-1;
	int status = metrics_http_route(h, &page);
	assert(status == 200 || status == 404 || status == 405);
	/* 200 names one of the three pages, each at exactly its path. */
	static const char *const paths[] = { [METRICS_HTTP_PAGE_METRICS] = "/metrics",
					     [METRICS_HTTP_PAGE_STATUS] = "/",
					     [METRICS_HTTP_PAGE_HEALTH] = "/health" };
	if (status == 200) {
		assert(page == METRICS_HTTP_PAGE_METRICS || page == METRICS_HTTP_PAGE_STATUS ||
		       page == METRICS_HTTP_PAGE_HEALTH);
		assert(h->path_len == strlen(paths[page]) &&
		       memcmp(h->path, paths[page], h->path_len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, so that ASan sees any read past it. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	struct metrics_http_head h;
	enum metrics_http_head_status st = metrics_http_parse_head(buf, size, &h);
	if (st == METRICS_HTTP_HEAD_COMPLETE) {
		fuzz_check_complete(buf, size, &h);
		struct metrics_http_head again;
		assert(metrics_http_parse_head(buf, h.head_len, &again) == METRICS_HTTP_HEAD_COMPLETE);
		assert(again.head_len == h.head_len && again.path_len == h.path_len);
		assert(metrics_http_parse_head(buf, h.head_len - 1, &again) ==
		       METRICS_HTTP_HEAD_INCOMPLETE);
	} else if (size > 0) {
		/* A verdict on fewer bytes stands: malformed stays malformed, and an
		 * incomplete head was incomplete on every prefix. */
		struct metrics_http_head prefix;
		enum metrics_http_head_status shorter =
			metrics_http_parse_head(buf, size - 1, &prefix);
		assert(shorter == st || (st == METRICS_HTTP_HEAD_MALFORMED &&
					 shorter == METRICS_HTTP_HEAD_INCOMPLETE));
	}
	free(buf);
	return 0;
}
