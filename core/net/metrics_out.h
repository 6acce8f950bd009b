/* The writer the metrics renderers share (metrics.c: connections, requests,
 * shards; metrics_log.c: the log layer's figures; status_page.c: the HTML
 * page): text into a buffer that grows up to a bound and is cut there, and
 * the escapes its two formats need. */
#ifndef SLUICE_CORE_NET_METRICS_OUT_H
#define SLUICE_CORE_NET_METRICS_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <stddef.h>

struct runtime;

struct metrics_out {
	char *mem;     /* owned; NULL until the first write */
	char *buf;     /* the text: mem + head */
	size_t head;   /* bytes kept free before the text */
	size_t cap;    /* of the text */
	size_t len;
	size_t max;    /* the bound: text past it is dropped */
	size_t expect; /* the text's first allocation */
	bool cut;      /* something was dropped (the bound, or no memory) */
};

/* An empty writer that grows up to max_bytes of text. `head_bytes` stay free
 * before the text, for what is written in front of it once its length is
 * known (an HTTP header), and the first write makes room for
 * `expect_bytes` (the last rendering's length: a scrape of 10,000
 * partitions then neither regrows nor copies its 7 MB). */
void metrics_out_init(struct metrics_out *o, size_t max_bytes, size_t head_bytes,
		      size_t expect_bytes);
void metrics_out_free(struct metrics_out *o);
/* The allocation (head, then the text) for the caller to own and free;
 * the writer is left empty. NULL when nothing was written. */
char *metrics_out_take(struct metrics_out *o);

void metrics_printf(struct metrics_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The per-sample writers below take no format string: a scrape of 10,000
 * partitions writes about 100,000 samples, and vsnprintf was half of its
 * cost. */
void metrics_put_bytes(struct metrics_out *o, const char *s, size_t n);
static inline void metrics_put_str(struct metrics_out *o, const char *s)
{
	metrics_put_bytes(o, s, strlen(s));
}
/* v in decimal. */
void metrics_put_i64(struct metrics_out *o, int64_t v);
/* s[0, len) as a Prometheus label value: \ " and newline escaped. */
void metrics_put_label(struct metrics_out *o, const char *s, size_t len);
/* s[0, len) as HTML text or attribute value: & < > " ' escaped, control
 * bytes dropped. */
void metrics_put_html(struct metrics_out *o, const char *s, size_t len);

#endif
