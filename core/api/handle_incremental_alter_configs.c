/* IncrementalAlterConfigs (key 44), v0-v1: per key SET, DELETE (back to the
 * default), APPEND or SUBTRACT (list keys only: cleanup.policy and the
 * throttled-replica lists) applied to a topic's overrides; the result is
 * validated (INVALID_CONFIG naming the key), recorded and put in force at
 * once (topic_alter.h); validate_only changes nothing. A key named twice in
 * one resource is INVALID_REQUEST, as Kafka answers. A broker resource ("" or
 * this node's id) changes that level's dynamic configs (broker_dynamic.h). */
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

typedef struct incremental_alter_configs_request_alter_configs_resource iac_resource;
typedef struct incremental_alter_configs_request_alterable_config iac_config;

enum { IAC_SET = 0, IAC_DELETE = 1, IAC_APPEND = 2, IAC_SUBTRACT = 3,
       IAC_KEY_BYTES = 128, IAC_VALUE_BYTES = 1024 };

/* The topic's overrides as the operations change them. */
struct iac_set {
	struct request *req;
	const struct topic *topic;
	struct kstr *keys, *values;
	size_t count;
};

static int iac_set_alloc(struct iac_set *s, size_t cap)
{
	s->keys = request_alloc(s->req, cap, sizeof(struct kstr));
	s->values = request_alloc(s->req, cap, sizeof(struct kstr));
	return s->keys && s->values ? 0 : -1;
}

static ssize_t iac_find(const struct iac_set *s, struct kstr key)
{
	for (size_t i = 0; i < s->count; i++)
		if (kstr_eq(s->keys[i], key))
			return (ssize_t)i;
	return -1;
}

static void iac_put(struct iac_set *s, struct kstr key, struct kstr value)
{
	ssize_t i = iac_find(s, key);
	if (i < 0)
		i = (ssize_t)s->count++;
	s->keys[i] = key;
	s->values[i] = value;
}

static void iac_remove(struct iac_set *s, struct kstr key)
{
	ssize_t i = iac_find(s, key);
	if (i < 0)
		return;
	s->keys[i] = s->keys[s->count - 1];
	s->values[i] = s->values[s->count - 1];
	s->count--;
}

/* Whether `item` is one of the comma-separated list's items. */
static bool iac_list_has(const char *list, const char *item, size_t item_len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n == item_len && memcmp(p, item, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/* The list a key has now: the override, or the value in force. */
static void iac_list_now(const struct iac_set *s, const char *key, struct kstr k, char *out,
			 size_t cap)
{
	ssize_t i = iac_find(s, k);
	const struct topic_config_key *known = topic_config_key_find(key);
	if (i >= 0)
		snprintf(out, cap, "%.*s", s->values[i].len, s->values[i].ptr);
	else if (known->stored_default)
		snprintf(out, cap, "%s", known->stored_default);
	else
		topic_config_value(topic_config_current(s->topic), key, out, cap);
}

/* APPEND adds the value's items not in the list yet; SUBTRACT removes them. */
static int16_t iac_list_op(struct iac_set *s, const iac_config *c, const char *key, char *msg,
			   size_t msglen)
{
	const struct topic_config_key *known = topic_config_key_find(key);
	if (!known || known->type != CONFIG_KAFKA_LIST) {
		snprintf(msg, msglen, "Can't %s to key %s because its type is not LIST.",
			 c->config_operation == IAC_APPEND ? "APPEND" : "SUBTRACT", key);
		return KERR_INVALID_CONFIG;
	}
	char now[IAC_VALUE_BYTES], items[IAC_VALUE_BYTES], next[IAC_VALUE_BYTES] = "";
	iac_list_now(s, key, c->name, now, sizeof(now));
	snprintf(items, sizeof(items), "%.*s", c->value.len > 0 ? c->value.len : 0, c->value.ptr);
	size_t used = 0;
	for (const char *p = now; *p;) {
		size_t n = strcspn(p, ",");
		bool keep = c->config_operation == IAC_APPEND || !iac_list_has(items, p, n);
		if (keep && n)
			used += (size_t)snprintf(next + used, sizeof(next) - used, "%s%.*s",
						 used ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
	for (const char *p = items; c->config_operation == IAC_APPEND && *p;) {
		size_t n = strcspn(p, ",");
		if (n && !iac_list_has(now, p, n) && used < sizeof(next))
			used += (size_t)snprintf(next + used, sizeof(next) - used, "%s%.*s",
						 used ? "," : "", (int)n, p);
		p += n + (p[n] == ',');
	}
	if (used >= sizeof(next)) {
		snprintf(msg, msglen, "Invalid value for configuration %s: the list is too long", key);
		return KERR_INVALID_CONFIG;
	}
	struct kstr v = config_resource_copy(s->req, next);
	if (!v.ptr)
		return KERR_UNKNOWN_SERVER_ERROR;
	iac_put(s, c->name, v);
	return KERR_NONE;
}

static int16_t iac_apply(struct iac_set *s, const iac_config *c, char *msg, size_t msglen)
{
	char key[IAC_KEY_BYTES];
	snprintf(key, sizeof(key), "%.*s", c->name.len > 0 ? c->name.len : 0, c->name.ptr);
	switch (c->config_operation) {
	case IAC_SET:
		iac_put(s, c->name, c->value);
		return KERR_NONE;
	case IAC_DELETE:
		iac_remove(s, c->name);
		return KERR_NONE;
	case IAC_APPEND:
	case IAC_SUBTRACT:
		return iac_list_op(s, c, key, msg, msglen);
	default:
		snprintf(msg, msglen, "Unknown config operation type %d for %s", c->config_operation, key);
		return KERR_INVALID_REQUEST;
	}
}

static bool iac_has_duplicates(const iac_resource *res)
{
	for (int32_t i = 1; i < res->configs_count; i++)
		for (int32_t k = 0; k < i; k++)
			if (kstr_eq(res->configs[i].name, res->configs[k].name))
				return true;
	return false;
}

static int16_t iac_topic(struct request *req, const iac_resource *res, bool validate_only,
			 char *msg, size_t msglen)
{
	int16_t err;
	struct topic *t = config_resource_topic(req, res->resource_name, &err, msg, msglen);
	if (!t)
		return err;
	struct iac_set s = { .req = req, .topic = t };
	if (iac_set_alloc(&s, t->override_count + (size_t)res->configs_count + 1) != 0)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (size_t i = 0; i < t->override_count; i++)
		iac_put(&s, kstr_from_cstr(t->overrides[i].key), kstr_from_cstr(t->overrides[i].value));
	for (int32_t i = 0; i < res->configs_count; i++) {
		err = iac_apply(&s, &res->configs[i], msg, msglen);
		if (err != KERR_NONE)
			return err;
	}
	return topic_alter(request_runtime(req), t, s.count, s.keys, s.values, validate_only, msg,
			   msglen);
}

/* The broker's dynamic configs of one level: SET and DELETE (none of its
 * dynamic keys is a list). */
static int16_t iac_broker(struct request *req, const iac_resource *res, bool validate_only,
			  char *msg, size_t msglen)
{
	struct runtime *rt = request_runtime(req);
	enum meta_broker_level level;
	int16_t err = config_resource_broker_level(req, res->resource_name, &level, msg, msglen);
	if (err != KERR_NONE)
		return err;
	size_t now;
	const struct meta_kv *kv = broker_dynamic_configs(rt, level, &now);
	struct iac_set s = { .req = req };
	if (iac_set_alloc(&s, now + (size_t)res->configs_count + 1) != 0)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (size_t i = 0; i < now; i++)
		iac_put(&s, kstr_from_cstr(kv[i].key), kstr_from_cstr(kv[i].value));
	for (int32_t i = 0; i < res->configs_count; i++) {
		const iac_config *c = &res->configs[i];
		if (c->config_operation == IAC_APPEND || c->config_operation == IAC_SUBTRACT) {
			snprintf(msg, msglen, "Can't %s to key %.*s because its type is not LIST.",
				 c->config_operation == IAC_APPEND ? "APPEND" : "SUBTRACT",
				 c->name.len, c->name.ptr);
			return KERR_INVALID_CONFIG;
		}
		err = iac_apply(&s, c, msg, msglen);
		if (err != KERR_NONE)
			return err;
	}
	return topic_alter_broker(rt, level, s.count, s.keys, s.values, validate_only, msg, msglen);
}

static int16_t iac_one(struct request *req, const iac_resource *res, bool validate_only, char *msg,
		       size_t msglen)
{
	if (iac_has_duplicates(res)) {
		snprintf(msg, msglen, "Error due to duplicate config keys");
		return KERR_INVALID_REQUEST;
	}
	if (res->resource_type == CONFIG_RESOURCE_TOPIC)
		return iac_topic(req, res, validate_only, msg, msglen);
	if (res->resource_type == CONFIG_RESOURCE_BROKER)
		return iac_broker(req, res, validate_only, msg, msglen);
	return config_resource_unsupported(res->resource_type, msg, msglen);
}

void handle_incremental_alter_configs(struct request *req)
{
	CONFIG_RESOURCE_ALTER_HANDLER(req, incremental_alter_configs, incremental_alter_configs_response_alter_configs_resource_response_init, iac_one);
}
