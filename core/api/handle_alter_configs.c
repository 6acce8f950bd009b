/* AlterConfigs (key 33), v0-v2: a topic's whole set of overrides replaced
 * by the request's (every key left out returns to its default), validated
 * first (INVALID_CONFIG naming the key), recorded and put in force at once
 * (topic_alter.h); validate_only changes nothing. The broker's settings
 * cannot change while it runs: a broker resource answers INVALID_REQUEST. */
#include <stdio.h>
#include <string.h>

#include "core/api/config_resource.h"
#include "core/api/handlers.h"
#include "core/meta/topic_alter.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

typedef struct alter_configs_request_alter_configs_resource ac_resource;

/* The request's configs as key/value lists, a key given twice counting once
 * (its last value). Returns the count, or -1 when out of memory. */
static int32_t ac_collect(struct request *req, const ac_resource *res, struct kstr **keys,
			  struct kstr **values)
{
	*keys = request_alloc(req, (size_t)res->configs_count + 1, sizeof(**keys));
	*values = request_alloc(req, (size_t)res->configs_count + 1, sizeof(**values));
	if (!*keys || !*values)
		return -1;
	int32_t n = 0;
	for (int32_t i = 0; i < res->configs_count; i++) {
		int32_t k = 0;
		while (k < n && !kstr_eq((*keys)[k], res->configs[i].name))
			k++;
		(*keys)[k] = res->configs[i].name;
		(*values)[k] = res->configs[i].value;
		n += k == n;
	}
	return n;
}

static int16_t ac_topic(struct request *req, const ac_resource *res, bool validate_only, char *msg,
			size_t msglen)
{
	int16_t err;
	struct topic *t = config_resource_topic(req, res->resource_name, &err, msg, msglen);
	if (!t)
		return err;
	struct kstr *keys, *values;
	int32_t n = ac_collect(req, res, &keys, &values);
	if (n < 0)
		return KERR_UNKNOWN_SERVER_ERROR;
	return topic_alter(request_runtime(req), t, (size_t)n, keys, values, validate_only, msg,
			   msglen);
}

static int16_t ac_broker(struct request *req, const ac_resource *res, char *msg, size_t msglen)
{
	struct kstr *keys = request_alloc(req, (size_t)res->configs_count + 1, sizeof(*keys));
	if (!keys)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (int32_t i = 0; i < res->configs_count; i++)
		keys[i] = res->configs[i].name;
	return config_resource_broker_alter(req, res->resource_name, keys,
					    (size_t)res->configs_count, msg, msglen);
}

void handle_alter_configs(struct request *req)
{
	int16_t version = req->header.api_version;
	struct alter_configs_request q;
	if (alter_configs_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct alter_configs_response r;
	alter_configs_response_init(&r);
	r.responses = request_alloc(req, (size_t)q.resources_count + 1, sizeof(*r.responses));
	if (!r.responses) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < q.resources_count; i++) {
		const ac_resource *res = &q.resources[i];
		struct alter_configs_response_alter_configs_resource_response *out = &r.responses[i];
		char msg[CONFIG_RESOURCE_MESSAGE_BYTES] = "";
		alter_configs_response_alter_configs_resource_response_init(out);
		out->resource_type = res->resource_type;
		out->resource_name = res->resource_name;
		if (res->resource_type == CONFIG_RESOURCE_TOPIC)
			out->error_code = ac_topic(req, res, q.validate_only, msg, sizeof(msg));
		else if (res->resource_type == CONFIG_RESOURCE_BROKER)
			out->error_code = ac_broker(req, res, msg, sizeof(msg));
		else
			out->error_code = config_resource_unsupported(res->resource_type, msg, sizeof(msg));
		out->error_message = out->error_code != KERR_NONE && msg[0]
					     ? config_resource_copy(req, msg)
					     : (struct kstr){ NULL, -1 };
		r.responses_count++;
	}
	size_t size = alter_configs_response_size(&r, version);
	alter_configs_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
}
