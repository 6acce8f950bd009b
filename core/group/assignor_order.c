/* What the assignors share below their frame (assignor_internal.h): Kafka's
 * orders of topic ids and of member ids, and the error text of a failed
 * assignment. */
#include "core/group/assignor_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

bool assignor_fail(struct assignor_work *w, const char *fmt, ...)
{
	if (w->err_len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->err, w->err_len, fmt, ap);
		va_end(ap);
	}
	return false;
}

static int64_t uuid_half(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return (int64_t)v;
}

int assignor_uuid_compare(struct kuuid a, struct kuuid b)
{
	int64_t x = uuid_half(a.b), y = uuid_half(b.b);
	if (x == y) {
		x = uuid_half(a.b + 8);
		y = uuid_half(b.b + 8);
	}
	return x < y ? -1 : x > y;
}

/* UTF-8 byte order is code point order; UTF-16 order differs only where a
 * supplementary character (4-byte sequence, a surrogate pair in Java) meets
 * U+E000..U+FFFF (lead byte 0xEE or 0xEF): the pair sorts first. */
int assignor_java_string_compare(struct kstr a, struct kstr b)
{
	size_t la = a.len > 0 ? (size_t)a.len : 0, lb = b.len > 0 ? (size_t)b.len : 0;
	size_t n = la < lb ? la : lb, i = 0;
	const uint8_t *x = (const uint8_t *)a.ptr, *y = (const uint8_t *)b.ptr;
	while (i < n && x[i] == y[i])
		i++;
	if (i == n)
		return la < lb ? -1 : la > lb;
	bool lead = (x[i] & 0xc0) != 0x80 && (y[i] & 0xc0) != 0x80;
	if (lead && x[i] >= 0xf0 && y[i] >= 0xee && y[i] <= 0xef)
		return -1;
	if (lead && y[i] >= 0xf0 && x[i] >= 0xee && x[i] <= 0xef)
		return 1;
	return x[i] < y[i] ? -1 : 1;
}
