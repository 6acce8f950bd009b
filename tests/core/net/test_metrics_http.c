/* The metrics endpoint's router: GET of exactly /metrics, / or /health
 * (query strings ignored) is 200 with its page, another method on them 405,
 * any other path 404. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/net/metrics_http.h"

/* The status for a request line (a whole head is built around it). */
static int route(const char *request_line, enum metrics_http_page *page)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "%s\r\nHost: x\r\n\r\n", request_line);
	struct metrics_http_head h;
	assert_int_equal(metrics_http_parse_head(head, (size_t)n, &h), METRICS_HTTP_HEAD_COMPLETE);
	return metrics_http_route(&h, page);
}

static void test_pages(void **state)
{
	(void)state;
	enum metrics_http_page page;
	assert_int_equal(route("GET /metrics HTTP/1.1", &page), 200);
	assert_int_equal(page, METRICS_HTTP_PAGE_METRICS);
	assert_int_equal(route("GET /metrics?name[]=x HTTP/1.0", &page), 200);
	assert_int_equal(page, METRICS_HTTP_PAGE_METRICS);
	assert_int_equal(route("GET / HTTP/1.1", &page), 200);
	assert_int_equal(page, METRICS_HTTP_PAGE_STATUS);
	assert_int_equal(route("GET /?refresh=1 HTTP/1.1", &page), 200);
	assert_int_equal(page, METRICS_HTTP_PAGE_STATUS);
	assert_int_equal(route("GET /health HTTP/1.1", &page), 200);
	assert_int_equal(page, METRICS_HTTP_PAGE_HEALTH);
}

static void test_refusals(void **state)
{
	(void)state;
	enum metrics_http_page page;
	assert_int_equal(route("POST /metrics HTTP/1.1", &page), 405);
	assert_int_equal(route("HEAD / HTTP/1.1", &page), 405);
	assert_int_equal(route("GET /healthz HTTP/1.1", &page), 404);
	assert_int_equal(route("GET //metrics HTTP/1.1", &page), 404);
	assert_int_equal(route("GET /metrics/ HTTP/1.1", &page), 404);
	assert_int_equal(route("GET /index.html HTTP/1.1", &page), 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
