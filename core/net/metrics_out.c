/* The metrics renderers' writer (see metrics_out.h). */
#include "core/net/metrics_out.h"

#include <stdarg.h>
#include <stdio.h>

void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	if (o->len >= o->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap;
}
