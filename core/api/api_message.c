/* Error messages for responses, formatted into the request's arena (see
 * api_message.h). */
#include "core/api/api_message.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/net/request.h"

struct kstr api_message(struct request *req, const char *fmt, ...)
{
	va_list ap, again;
	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	char *buf = n >= 0 ? request_alloc(req, (size_t)n + 1, 1) : NULL;
	if (buf)
		vsnprintf(buf, (size_t)n + 1, fmt, again);
	else
		req->body.err = RC_ALLOC;
	va_end(again);
	va_end(ap);
	return buf ? (struct kstr){ buf, n } : (struct kstr){ NULL, -1 };
}
