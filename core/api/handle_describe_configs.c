/* DescribeConfigs (key 32), v1-v4: a topic's every config key (its value in
 * force, where it comes from: the topic's override, the broker's file, or
 * the default) and the broker's settings, each with its synonyms when
 * include_synonyms and its documentation when include_documentation. The
 * broker is named by this node's id; "" lists the cluster's dynamic
 * defaults. Broker loggers answer INVALID_REQUEST. */
#include <stdio.h>
#include <string.h>

#include "core/api/config_resource.h"
#include "core/api/handlers.h"
#include "core/config.h"
#include "core/meta/broker_dynamic.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

typedef struct describe_configs_response_describe_configs_resource_result dc_entry;
typedef struct describe_configs_response_describe_configs_synonym dc_synonym;
typedef struct describe_configs_response_describe_configs_result dc_result;

enum { DESCRIBE_CONFIGS_VALUE_BYTES = CONFIG_PATH_BYTES, DESCRIBE_CONFIGS_NAME_BYTES = 128,
       DESCRIBE_CONFIGS_SYNONYMS_MAX = 5 };

/* What one resource's answer is built from. */
struct dc_ctx {
	struct request *req;
	const struct describe_configs_request *q;
	const struct describe_configs_request_describe_configs_resource *res;
	dc_result *out;
	struct topic_config default_topic; /* a topic's config on a broker of defaults */
};

static bool dc_wanted(const struct dc_ctx *c, const char *name)
{
	if (c->res->configuration_keys_count < 0 || !c->res->configuration_keys)
		return true;
	for (int32_t i = 0; i < c->res->configuration_keys_count; i++)
		if (kstr_eq_cstr(c->res->configuration_keys[i], name))
			return true;
	return false;
}

/* Appends an entry (synonyms: an array of up to SYNONYMS_MAX, filled by the
 * caller when include_synonyms). NULL when out of memory. */
static dc_entry *dc_add(struct dc_ctx *c, const char *name, const char *value, int8_t source,
			int8_t type, const char *doc, bool read_only)
{
	dc_entry *e = &c->out->configs[c->out->configs_count];
	describe_configs_response_describe_configs_resource_result_init(e);
	e->name = kstr_from_cstr(name);
	e->value = config_resource_copy(c->req, value);
	e->read_only = read_only;
	e->config_source = source;
	e->is_sensitive = false;
	e->config_type = type;
	e->documentation = c->q->include_documentation && doc ? kstr_from_cstr(doc)
								: (struct kstr){ NULL, -1 };
	e->synonyms = request_alloc(c->req, DESCRIBE_CONFIGS_SYNONYMS_MAX, sizeof(*e->synonyms));
	if (!e->synonyms || (value && !e->value.ptr))
		return NULL;
	c->out->configs_count++;
	return e;
}

static void dc_synonym_add(struct dc_ctx *c, dc_entry *e, const char *name, const char *value,
			   int8_t source)
{
	if (!c->q->include_synonyms || e->synonyms_count >= DESCRIBE_CONFIGS_SYNONYMS_MAX)
		return;
	dc_synonym *s = &e->synonyms[e->synonyms_count++];
	describe_configs_response_describe_configs_synonym_init(s);
	s->name = config_resource_copy(c->req, name);
	s->value = config_resource_copy(c->req, value);
	s->source = source;
}

static const char *dc_override(const struct topic *t, const char *key)
{
	for (size_t i = 0; i < t->override_count; i++)
		if (strcmp(t->overrides[i].key, key) == 0)
			return t->overrides[i].value;
	return NULL;
}

/* One broker key's synonyms set above its default, most specific first
 * (this node's dynamic config, the cluster's, the static file), added to e
 * when given. Returns the most specific source, or 0 for none; its value in
 * `value`. */
static int8_t dc_broker_key_synonyms(struct dc_ctx *c, dc_entry *e, const char *name, int row,
				     char *value, size_t cap)
{
	struct runtime *rt = request_runtime(c->req);
	const char *node = broker_dynamic_value(rt, META_BROKER_NODE, name);
	const char *cluster = broker_dynamic_value(rt, META_BROKER_CLUSTER, name);
	bool given = row >= 0 && config_key_given(&rt->cfg, (size_t)row);
	char text[DESCRIBE_CONFIGS_VALUE_BYTES];
	if (node && e)
		dc_synonym_add(c, e, name, node, CONFIG_SOURCE_DYNAMIC_BROKER);
	if (cluster && e)
		dc_synonym_add(c, e, name, cluster, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
	if (given) {
		config_key_format(&rt->cfg, (size_t)row, text, sizeof(text));
		if (e)
			dc_synonym_add(c, e, name, text, CONFIG_SOURCE_STATIC_BROKER);
	}
	const char *top = node ? node : cluster ? cluster : given ? text : NULL;
	if (top && value)
		snprintf(value, cap, "%s", top);
	return config_resource_broker_source(rt, name);
}

/* The topic key's broker synonyms added to e: each set on the broker
 * (dynamically or in its file), and the last one's default. */
static void dc_broker_synonyms(struct dc_ctx *c, dc_entry *e, const struct topic_config_key *k,
			       const struct broker_config *defaults)
{
	char name[DESCRIBE_CONFIGS_NAME_BYTES], text[DESCRIBE_CONFIGS_VALUE_BYTES];
	const char *chain = k->broker_keys;
	if (!chain)
		return; /* a key of topics only: Kafka lists no synonym */
	int row = -1;
	for (const char *p = chain; *p;) {
		size_t n = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
		row = config_key_row(name);
		dc_broker_key_synonyms(c, e, name, row, NULL, 0);
	}
	/* Kafka lists the default of a one-key chain only: the first key of a
	 * longer one (log.retention.ms, ...) has no default of its own. */
	if (strchr(chain, ','))
		return;
	if (row >= 0)
		config_key_format(defaults, (size_t)row, text, sizeof(text));
	else if (k->stored_default)
		snprintf(text, sizeof(text), "%s", k->stored_default);
	else
		topic_config_value(&c->default_topic, k->name, text, sizeof(text));
	dc_synonym_add(c, e, name, text, CONFIG_SOURCE_DEFAULT);
}

/* One topic key: its value in force, and its synonyms from the most
 * specific (the topic's override) to the broker's default. */
static int dc_topic_key(struct dc_ctx *c, const struct topic *t, const struct topic_config_key *k,
			const struct broker_config *defaults)
{
	const char *over = dc_override(t, k->name);
	char value[DESCRIBE_CONFIGS_VALUE_BYTES];
	if (over || k->stored_default)
		snprintf(value, sizeof(value), "%s", over ? over : k->stored_default);
	else
		topic_config_value(topic_config_current(t), k->name, value, sizeof(value));
	int8_t source = over ? CONFIG_SOURCE_DYNAMIC_TOPIC
			     : config_resource_inherited_source(request_runtime(c->req), k);
	dc_entry *e = dc_add(c, k->name, value, source, (int8_t)k->type, k->doc, false);
	if (!e)
		return -1;
	if (over)
		dc_synonym_add(c, e, k->name, value, CONFIG_SOURCE_DYNAMIC_TOPIC);
	dc_broker_synonyms(c, e, k, defaults);
	return 0;
}

static int16_t dc_topic(struct dc_ctx *c, const struct broker_config *defaults, char *msg,
			size_t msglen)
{
	int16_t err;
	struct topic *t = config_resource_topic(c->req, c->res->resource_name, &err, msg, msglen);
	if (!t) {
		msg[0] = '\0'; /* Kafka's message for an unknown topic here is empty */
		return err;
	}
	size_t n = topic_config_key_count();
	c->out->configs = request_alloc(c->req, n + 1, sizeof(*c->out->configs));
	if (!c->out->configs)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (size_t i = 0; i < n; i++) {
		const struct topic_config_key *k = topic_config_key_at(i);
		if (k->described_when_set && !dc_override(t, k->name))
			continue;
		if (dc_wanted(c, k->name) && dc_topic_key(c, t, k, defaults) != 0)
			return KERR_UNKNOWN_SERVER_ERROR;
	}
	return KERR_NONE;
}

/* The cluster's dynamic defaults (resource name ""). */
static int16_t dc_cluster_defaults(struct dc_ctx *c)
{
	size_t n;
	const struct meta_kv *kv = broker_dynamic_configs(request_runtime(c->req),
							  META_BROKER_CLUSTER, &n);
	c->out->configs = request_alloc(c->req, n + 1, sizeof(*c->out->configs));
	if (!c->out->configs)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (size_t i = 0; i < n; i++) {
		int row = config_key_row(kv[i].key);
		if (!dc_wanted(c, kv[i].key))
			continue;
		dc_entry *e = dc_add(c, kv[i].key, kv[i].value, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER,
				     row >= 0 ? (int8_t)config_key_type((size_t)row) : 0, NULL, false);
		if (!e)
			return KERR_UNKNOWN_SERVER_ERROR;
		dc_synonym_add(c, e, kv[i].key, kv[i].value, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
	}
	return KERR_NONE;
}

/* The broker's settings: each from this node's or the cluster's dynamic
 * configs, its file or --set, or its default; read-only unless it may
 * change while the broker runs (broker_dynamic.h). */
static int16_t dc_broker(struct dc_ctx *c, const struct broker_config *defaults, char *msg,
			 size_t msglen)
{
	int16_t err = config_resource_broker_check(c->req, c->res->resource_name, msg, msglen);
	if (err != KERR_NONE)
		return err;
	if (c->res->resource_name.len <= 0)
		return dc_cluster_defaults(c);
	size_t n = config_key_count();
	c->out->configs = request_alloc(c->req, n + 1, sizeof(*c->out->configs));
	if (!c->out->configs)
		return KERR_UNKNOWN_SERVER_ERROR;
	char value[DESCRIBE_CONFIGS_VALUE_BYTES], default_value[DESCRIBE_CONFIGS_VALUE_BYTES];
	for (size_t row = 0; row < n; row++) {
		const char *name = config_key_name(row);
		if (!dc_wanted(c, name))
			continue;
		config_key_format(defaults, row, default_value, sizeof(default_value));
		config_key_format(&request_runtime(c->req)->cfg, row, value, sizeof(value));
		int8_t source = dc_broker_key_synonyms(c, NULL, name, (int)row, value, sizeof(value));
		dc_entry *e = dc_add(c, name, value, source ? source : CONFIG_SOURCE_DEFAULT,
				     (int8_t)config_key_type(row), NULL, !broker_dynamic_key(name));
		if (!e)
			return KERR_UNKNOWN_SERVER_ERROR;
		dc_broker_key_synonyms(c, e, name, (int)row, NULL, 0);
		dc_synonym_add(c, e, name, default_value, CONFIG_SOURCE_DEFAULT);
	}
	return KERR_NONE;
}

static void dc_one(struct dc_ctx *c, const struct broker_config *defaults)
{
	char msg[CONFIG_RESOURCE_MESSAGE_BYTES] = "";
	dc_result *out = c->out;
	describe_configs_response_describe_configs_result_init(out);
	out->resource_type = c->res->resource_type;
	out->resource_name = c->res->resource_name;
	out->error_message = kstr_from_cstr(""); /* Kafka's, also on success */
	if (c->res->resource_type == CONFIG_RESOURCE_TOPIC)
		out->error_code = dc_topic(c, defaults, msg, sizeof(msg));
	else if (c->res->resource_type == CONFIG_RESOURCE_BROKER)
		out->error_code = dc_broker(c, defaults, msg, sizeof(msg));
	else
		out->error_code = config_resource_unsupported(c->res->resource_type, msg, sizeof(msg));
	if (out->error_code != KERR_NONE) {
		out->configs_count = 0;
		out->error_message = config_resource_copy(c->req, msg);
	}
}

void handle_describe_configs(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_configs_request q;
	struct describe_configs_response r;
	struct broker_config *defaults = request_alloc(req, 1, sizeof(*defaults));
	if (describe_configs_request_decode(&req->body, version, &req->arena, &q) != 0 || !defaults) {
		request_reject_malformed(req);
		return;
	}
	/* The defaults with their derived values (log.retention.ms from
	 * log.retention.hours, ...); they always pass config_finish. */
	char finish_err[CONFIG_RESOURCE_MESSAGE_BYTES];
	config_defaults(defaults);
	config_finish(defaults, finish_err, sizeof(finish_err));
	describe_configs_response_init(&r);
	r.results = request_alloc(req, (size_t)q.resources_count + 1, sizeof(*r.results));
	if (!r.results) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < q.resources_count; i++) {
		struct dc_ctx *c = request_alloc(req, 1, sizeof(*c));
		if (!c) {
			req->body.err = RC_ALLOC;
			request_reject_malformed(req);
			return;
		}
		*c = (struct dc_ctx){ .req = req, .q = &q, .res = &q.resources[i], .out = &r.results[i] };
		topic_config_from_broker(&c->default_topic, defaults);
		dc_one(c, defaults);
		r.results_count++;
	}
	REQUEST_RESPOND(req, describe_configs, version, &r);
}
