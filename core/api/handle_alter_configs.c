/* AlterConfigs (key 33), v0-v2: a topic's whole set of overrides replaced
 * by the request's (every key left out returns to its default), validated
 * first (INVALID_CONFIG naming the key), recorded and put in force at once
 * (topic_alter.h); validate_only changes nothing. A broker resource ("" for
 * the cluster's defaults, or this node's id) replaces that level's dynamic
 * configs (broker_dynamic.h). */
#include <stdio.h>
#include <string.h>

#include "core/api/config_resource.h"
#include "core/api/handlers.h"
#include "core/meta/broker_dynamic.h"
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

static int16_t ac_broker(struct request *req, const ac_resource *res, bool validate_only,
			 char *msg, size_t msglen)
{
	enum meta_broker_level level;
	int16_t err = config_resource_broker_level(req, res->resource_name, &level, msg, msglen);
	if (err != KERR_NONE)
		return err;
	struct kstr *keys, *values;
	int32_t n = ac_collect(req, res, &keys, &values);
	if (n < 0)
		return KERR_UNKNOWN_SERVER_ERROR;
	return topic_alter_broker(request_runtime(req), level, (size_t)n, keys, values,
				  validate_only, msg, msglen);
}

static int16_t ac_one(struct request *req, const ac_resource *res, bool validate_only, char *msg,
		      size_t msglen)
{
	if (res->resource_type == CONFIG_RESOURCE_TOPIC)
		return ac_topic(req, res, validate_only, msg, msglen);
	if (res->resource_type == CONFIG_RESOURCE_BROKER)
		return ac_broker(req, res, validate_only, msg, msglen);
	return config_resource_unsupported(res->resource_type, msg, msglen);
}

void handle_alter_configs(struct request *req)
{
	CONFIG_RESOURCE_ALTER_HANDLER(req, alter_configs, alter_configs_response_alter_configs_resource_response_init, ac_one);
}
