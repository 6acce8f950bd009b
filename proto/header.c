/* Request and response header codecs (see header.h). */
#include "proto/header.h"

enum { API_KEY_API_VERSIONS = 18 };

void request_header_read_fixed(struct rcursor *c, struct request_header *h)
{
	h->api_key = rc_int16(c);
	h->api_version = rc_int16(c);
	h->correlation_id = rc_int32(c);
	h->client_id.ptr = NULL;
	h->client_id.len = -1;
}

void request_header_read_rest(struct rcursor *c, bool flexible, struct request_header *h)
{
	/* client_id stays a classic nullable string even in header v2. */
	h->client_id = rc_nstring(c);
	if (flexible)
		rc_skip_tagged_fields(c);
}

void response_header_write(struct wcursor *w, int32_t correlation_id, bool tagged)
{
	wc_int32(w, correlation_id);
	if (tagged)
		wc_uvarint(w, 0);
}

bool response_header_tagged(int16_t api_key, int16_t version, int16_t flexible_from)
{
	if (api_key == API_KEY_API_VERSIONS)
		return false;
	return flexible_from >= 0 && version >= flexible_from;
}
