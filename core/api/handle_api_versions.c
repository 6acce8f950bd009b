/* ApiVersions (key 18), v0-v4: the APIs and versions this broker serves,
 * exactly the dispatch table (with the versions it lists but refuses, where
 * Kafka lists those: api_table.c). */
#include "core/api/handlers.h"
#include "core/net/metrics_clients.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

static void api_versions_respond(struct request *req, int16_t version, int16_t error_code)
{
	struct api_versions_response r;
	api_versions_response_init(&r);
	r.error_code = error_code;
	size_t n;
	const struct api_entry *apis = api_entries(&n);
	r.api_keys = request_alloc(req, n, sizeof(*r.api_keys));
	if (r.api_keys) {
		int32_t listed = 0;
		for (size_t i = 0; i < n; i++) {
			if (apis[i].unlisted)
				continue;
			r.api_keys[listed].api_key = apis[i].key;
			r.api_keys[listed].min_version = apis[i].listed_min_version;
			r.api_keys[listed++].max_version = apis[i].max_version;
		}
		r.api_keys_count = listed;
	}
	REQUEST_RESPOND(req, api_versions, version, &r);
}

void handle_api_versions(struct request *req)
{
	struct api_versions_request q;
	int16_t version = req->header.api_version;
	if (api_versions_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	int16_t error_code = KERR_NONE;
	if (version >= 3 && (!metrics_clients_field_valid(q.client_software_name) ||
			     !metrics_clients_field_valid(q.client_software_version)))
		error_code = KERR_INVALID_REQUEST;
	api_versions_respond(req, version, error_code);
}

void handle_api_versions_unsupported(struct request *req)
{
	api_versions_respond(req, 0, KERR_UNSUPPORTED_VERSION);
}
