/* Resource names and types for the config APIs (config_resource.h). */
#include "core/api/config_resource.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/meta/broker_dynamic.h"
#include "core/meta/topic_config.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"

enum { CONFIG_RESOURCE_ID_BYTES = 16 };

enum { CONFIG_RESOURCE_KEY_BYTES = 128 };

int8_t config_resource_broker_source(struct runtime *rt, const char *name)
{
	int row = config_key_row(name);
	if (broker_dynamic_value(rt, META_BROKER_NODE, name))
		return CONFIG_SOURCE_DYNAMIC_BROKER;
	if (broker_dynamic_value(rt, META_BROKER_CLUSTER, name))
		return CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
	if (row >= 0 && config_key_given(&rt->cfg, (size_t)row))
		return CONFIG_SOURCE_STATIC_BROKER;
	return 0;
}

int8_t config_resource_inherited_source(struct runtime *rt, const struct topic_config_key *k)
{
	char name[CONFIG_RESOURCE_KEY_BYTES];
	for (const char *p = k->broker_keys; p && *p;) {
		size_t n = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
		int8_t source = config_resource_broker_source(rt, name);
		if (source)
			return source;
	}
	return CONFIG_SOURCE_DEFAULT;
}

struct kstr config_resource_copy(struct request *req, const char *s)
{
	size_t len = strlen(s);
	char *p = request_alloc(req, len + 1, 1);
	struct kstr k = { NULL, -1 };
	if (p) {
		memcpy(p, s, len + 1);
		k.ptr = p;
		k.len = (int32_t)len;
	}
	return k;
}

/* The broker id a resource names: this node's, or -1 (not a number: -2). */
static long config_resource_broker_id(struct kstr name)
{
	char text[CONFIG_RESOURCE_ID_BYTES];
	if (name.len <= 0 || (size_t)name.len >= sizeof(text))
		return -2;
	memcpy(text, name.ptr, (size_t)name.len);
	text[name.len] = '\0';
	char *end = NULL;
	errno = 0;
	long id = strtol(text, &end, 10);
	return errno || *end || id < 0 ? -2 : id;
}

/* Kafka's words for a broker resource that names another node (its two
 * paths word it differently: "Broker id" to describe, "Node id" to alter). */
static int16_t config_resource_other_broker(struct request *req, struct kstr name, long id,
					    const char *what, const char *or_empty, char *msg,
					    size_t msglen)
{
	int len = name.len > 0 ? name.len : 0;
	if (id == -2)
		snprintf(msg, msglen, "%s id must be an integer, but it is: %.*s", what,
			 len < 64 ? len : 64, name.ptr);
	else
		snprintf(msg, msglen, "Unexpected broker id, expected %d%s, but received %ld",
			 request_runtime(req)->cfg.node_id, or_empty, id);
	return KERR_INVALID_REQUEST;
}

int16_t config_resource_broker_check(struct request *req, struct kstr name, char *msg,
				     size_t msglen)
{
	long id = config_resource_broker_id(name);
	if (name.len <= 0 || id == request_runtime(req)->cfg.node_id)
		return KERR_NONE;
	return config_resource_other_broker(req, name, id, "Broker", " or empty string", msg, msglen);
}

int16_t config_resource_broker_level(struct request *req, struct kstr name,
				     enum meta_broker_level *level, char *msg, size_t msglen)
{
	long id = config_resource_broker_id(name);
	*level = name.len > 0 ? META_BROKER_NODE : META_BROKER_CLUSTER;
	if (name.len > 0 && id != request_runtime(req)->cfg.node_id)
		return config_resource_other_broker(req, name, id, "Node", "", msg, msglen);
	return KERR_NONE;
}

struct topic *config_resource_topic(struct request *req, struct kstr name, int16_t *err, char *msg,
				    size_t msglen)
{
	struct runtime *rt = request_runtime(req);
	struct topic *t = name.len > 0 ? topics_find(topics_registry(rt), name) : NULL;
	*err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (!t)
		snprintf(msg, msglen, "The topic '%.*s' does not exist.", name.len > 0 ? name.len : 0,
			 name.ptr);
	return t;
}

struct kstr config_resource_message(struct request *req, int16_t error_code, const char *msg)
{
	if (error_code == KERR_NONE || !msg[0])
		return (struct kstr){ NULL, -1 };
	return config_resource_copy(req, msg);
}

int16_t config_resource_unsupported(int8_t type, char *msg, size_t msglen)
{
	if (type == CONFIG_RESOURCE_BROKER_LOGGER)
		snprintf(msg, msglen, "Broker loggers are not configured through this API on sluice");
	else
		snprintf(msg, msglen, "This most likely occurs because of a request being malformed by "
			 "the client library or the message was sent to an incompatible broker. See "
			 "the broker logs for more details.");
	return KERR_INVALID_REQUEST;
}
