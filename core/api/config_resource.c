/* Resource names and types for the config APIs (config_resource.h). */
#include "core/api/config_resource.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"

enum { CONFIG_RESOURCE_ID_BYTES = 16 };

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

int16_t config_resource_broker_check(struct request *req, struct kstr name, bool allow_default,
				     char *msg, size_t msglen)
{
	int32_t node = request_runtime(req)->cfg.node_id;
	int len = name.len > 0 ? name.len : 0;
	if (len == 0 && allow_default)
		return KERR_NONE;
	char text[CONFIG_RESOURCE_ID_BYTES];
	char *end = NULL;
	long id = -1;
	if (len > 0 && (size_t)len < sizeof(text)) {
		memcpy(text, name.ptr, (size_t)len);
		text[len] = '\0';
		errno = 0;
		id = strtol(text, &end, 10);
		if (errno || *end)
			id = -2;
	}
	if (id == node)
		return KERR_NONE;
	if (id == -2 || len == 0 || (size_t)len >= sizeof(text))
		snprintf(msg, msglen, "Broker id must be an integer, but it is: %.*s",
			 len < 64 ? len : 64, name.ptr);
	else
		snprintf(msg, msglen, "Unexpected broker id, expected %d%s, but received %ld", node,
			 allow_default ? " or empty string" : "", id);
	return KERR_INVALID_REQUEST;
}

struct topic *config_resource_topic(struct request *req, struct kstr name, int16_t *err, char *msg,
				    size_t msglen)
{
	struct runtime *rt = request_runtime(req);
	struct topic *t = name.len > 0 ? topics_find(topics_registry(rt), name) : NULL;
	*err = KERR_NONE;
	if (t)
		return t;
	if (topic_name_invalid(name)) {
		*err = KERR_INVALID_TOPIC_EXCEPTION;
		snprintf(msg, msglen, "%s", topic_name_invalid(name));
		return NULL;
	}
	*err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
	snprintf(msg, msglen, "The topic '%.*s' does not exist.", name.len, name.ptr);
	return NULL;
}

int16_t config_resource_unsupported(int8_t type, char *msg, size_t msglen)
{
	if (type == CONFIG_RESOURCE_BROKER_LOGGER)
		snprintf(msg, msglen, "Broker loggers are not configured through this API on sluice");
	else
		snprintf(msg, msglen, "Unsupported resource type %d", type);
	return KERR_INVALID_REQUEST;
}
