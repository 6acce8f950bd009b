/* Kafka request headers (v1, v2) and response headers (v0, v1).
 *
 * Which header version a request uses follows from its API's flexible_from:
 * flexible requests carry header v2 (tagged fields) and get response header v1,
 * except ApiVersions, whose response header is always v0 so that a client that
 * does not yet know the broker's versions can read it. */
#ifndef SLUICE_PROTO_HEADER_H
#define SLUICE_PROTO_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/cursor.h"

enum { FRAME_SIZE_BYTES = 4, REQUEST_HEADER_FIXED_BYTES = 8 };

struct request_header {
	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	struct kstr client_id;
};

/* Reads api key, version and correlation id: the part common to every header
 * version, needed before the API (and so the header version) is known. */
void request_header_read_fixed(struct rcursor *c, struct request_header *h);

/* Reads the rest: client id, and the tagged fields when `flexible`. */
void request_header_read_rest(struct rcursor *c, bool flexible, struct request_header *h);

/* Response header size and encoding; `tagged` selects header v1. */
static inline size_t response_header_size(bool tagged)
{
	return 4 + (tagged ? 1 : 0);
}

void response_header_write(struct wcursor *w, int32_t correlation_id, bool tagged);

/* Whether a response to (api_key, version) uses response header v1. */
bool response_header_tagged(int16_t api_key, int16_t version, int16_t flexible_from);

#endif
