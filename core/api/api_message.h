/* Error messages for responses, formatted into the request's arena. */
#ifndef SLUICE_CORE_API_API_MESSAGE_H
#define SLUICE_CORE_API_API_MESSAGE_H

#include "proto/cursor.h"

struct request;

/* The formatted text, owned by the request; out of the arena's bound, a null
 * string with req->body.err set to RC_ALLOC. */
__attribute__((format(printf, 2, 3)))
struct kstr api_message(struct request *req, const char *fmt, ...);

#endif
