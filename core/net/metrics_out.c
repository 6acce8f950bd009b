/* The metrics renderers' writer and escapes (see metrics_out.h). */
#include "core/net/metrics_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { METRICS_OUT_FIRST_BYTES = 64 * 1024 };

void metrics_out_init(struct metrics_out *o, size_t max_bytes, size_t head_bytes,
		      size_t expect_bytes)
{
	*o = (struct metrics_out){ .max = max_bytes, .head = head_bytes,
				   .expect = expect_bytes < max_bytes ? expect_bytes : max_bytes };
}

void metrics_out_free(struct metrics_out *o)
{
	free(o->mem);
	metrics_out_init(o, o->max, o->head, o->expect);
}

char *metrics_out_take(struct metrics_out *o)
{
	char *mem = o->mem;
	o->mem = NULL;
	metrics_out_free(o);
	return mem;
}

/* Room for `need` more bytes plus a terminating NUL; false when the bound
 * or the memory says no (the writer is then cut). */
static bool metrics_out_reserve(struct metrics_out *o, size_t need)
{
	if (o->cut)
		return false;
	if (o->len + need + 1 <= o->cap)
		return true;
	if (o->len + need + 1 > o->max) {
		o->cut = true;
		return false;
	}
	size_t cap = o->cap ? o->cap
			    : o->expect > METRICS_OUT_FIRST_BYTES ? o->expect : METRICS_OUT_FIRST_BYTES;
	while (cap < o->len + need + 1)
		cap *= 2;
	if (cap > o->max)
		cap = o->max;
	char *mem = realloc(o->mem, o->head + cap);
	if (!mem) {
		o->cut = true;
		return false;
	}
	o->mem = mem;
	o->buf = mem + o->head;
	o->cap = cap;
	return true;
}

/* Formats in place when the text fits what is allocated (the usual case:
 * one pass), else grows and formats again. */
void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	if (o->cut)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = o->buf ? vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap) : -1;
	va_end(ap);
	if (n >= 0 && o->len + (size_t)n < o->cap) {
		o->len += (size_t)n;
		return;
	}
	if (n < 0) {
		va_start(ap, fmt);
		n = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
	}
	if (n <= 0 || !metrics_out_reserve(o, (size_t)n)) {
		if (o->buf)
			o->buf[o->len] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

void metrics_put_bytes(struct metrics_out *o, const char *s, size_t n)
{
	if (!metrics_out_reserve(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

enum { I64_DIGITS_MAX = 20 };

void metrics_put_i64(struct metrics_out *o, int64_t v)
{
	char digits[I64_DIGITS_MAX + 1];
	char *end = digits + sizeof(digits), *p = end;
	/* Negated as unsigned: INT64_MIN has no positive counterpart. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	metrics_put_bytes(o, p, (size_t)(end - p));
}

void metrics_put_label(struct metrics_out *o, const char *s, size_t len)
{
	size_t run = 0; /* where the bytes not yet written start */
	for (size_t i = 0; i < len; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '"' ? "\\\"" : s[i] == '\n' ? "\\n" : NULL;
		if (!esc)
			continue;
		metrics_put_bytes(o, s + run, i - run);
		metrics_put_bytes(o, esc, 2);
		run = i + 1;
	}
	metrics_put_bytes(o, s + run, len - run);
}

void metrics_put_html(struct metrics_out *o, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '&': metrics_put_bytes(o, "&amp;", 5); break;
		case '<': metrics_put_bytes(o, "&lt;", 4); break;
		case '>': metrics_put_bytes(o, "&gt;", 4); break;
		case '"': metrics_put_bytes(o, "&quot;", 6); break;
		case '\'': metrics_put_bytes(o, "&#39;", 5); break;
		default:
			if (ch >= 0x20 && ch != 0x7f)
				metrics_put_bytes(o, s + i, 1);
		}
	}
}
