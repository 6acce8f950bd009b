/* sluice-admin configs describe|set|unset for topics and brokers:
 * DescribeConfigs, and AlterConfigs over the resource's current dynamic
 * configs (librdkafka 2.0 has no IncrementalAlterConfigs: set and unset send
 * the whole dynamic set with the change applied, as kafka-configs did before
 * KIP-339). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

/* Keys one set/unset carries, the resource's other dynamic keys included. */
#define CONFIG_ENTRIES_MAX 256
#define CONFIG_TEXT_BYTES_MAX 4096

struct config_entry {
	char *name;
	char *value; /* NULL: removed */
};

struct config_change {
	struct config_entry entries[CONFIG_ENTRIES_MAX];
	size_t count;
};

static rd_kafka_ResourceType_t entity_type(const struct admin_ctx *ctx)
{
	const char *t = args_value(&ctx->args, "--entity-type");
	return strcmp(t, "brokers") == 0 ? RD_KAFKA_RESOURCE_BROKER : RD_KAFKA_RESOURCE_TOPIC;
}

static int check_entity(struct admin_ctx *ctx)
{
	struct args *a = &ctx->args;
	if (args_require(a, "--entity-type") != 0 || args_require(a, "--entity-name") != 0)
		return -1;
	const char *t = args_value(a, "--entity-type");
	if (strcmp(t, "topics") != 0 && strcmp(t, "brokers") != 0) {
		snprintf(a->error, sizeof(a->error),
			 "--entity-type: '%.64s' is neither topics nor brokers", t);
		return -1;
	}
	return 0;
}

/* DescribeConfigs of the entity; the event owns *out. NULL when failed. */
static rd_kafka_event_t *describe_entity(struct admin_ctx *ctx,
					 const rd_kafka_ConfigResource_t **out)
{
	rd_kafka_ConfigResource_t *res =
		rd_kafka_ConfigResource_new(entity_type(ctx), args_value(&ctx->args, "--entity-name"));
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, &r);
	rd_kafka_DescribeConfigs(ctx->rk, &res, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "DescribeConfigs");
	rd_kafka_ConfigResource_destroy(res);
	if (!ev)
		return NULL;
	size_t n;
	const rd_kafka_ConfigResource_t **got = rd_kafka_DescribeConfigs_result_resources(
		rd_kafka_event_DescribeConfigs_result(ev), &n);
	rd_kafka_resp_err_t err = n == 1 ? rd_kafka_ConfigResource_error(got[0])
					 : RD_KAFKA_RESP_ERR__BAD_MSG;
	if (err) {
		client_fail(ctx, args_value(&ctx->args, "--entity-name"), err,
			    n == 1 ? rd_kafka_ConfigResource_error_string(got[0]) : NULL);
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	*out = got[0];
	return ev;
}

static void entry_json(struct json *j, const rd_kafka_ConfigEntry_t *e)
{
	json_object_begin(j, NULL);
	json_string(j, "name", rd_kafka_ConfigEntry_name(e));
	json_string(j, "value", rd_kafka_ConfigEntry_value(e));
	json_string(j, "source", rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e)));
	json_bool(j, "is_default", rd_kafka_ConfigEntry_is_default(e));
	json_bool(j, "read_only", rd_kafka_ConfigEntry_is_read_only(e));
	json_bool(j, "sensitive", rd_kafka_ConfigEntry_is_sensitive(e));
	size_t n;
	const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(e, &n);
	json_array_begin(j, "synonyms");
	for (size_t i = 0; i < n; i++) {
		json_object_begin(j, NULL);
		json_string(j, "name", rd_kafka_ConfigEntry_name(syn[i]));
		json_string(j, "value", rd_kafka_ConfigEntry_value(syn[i]));
		json_string(j, "source", rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[i])));
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void entry_row(struct table *t, const rd_kafka_ConfigEntry_t *e)
{
	const char *value = rd_kafka_ConfigEntry_value(e);
	table_cell(t, "%s", rd_kafka_ConfigEntry_name(e));
	table_cell(t, "%s", rd_kafka_ConfigEntry_is_sensitive(e) ? "(sensitive)" : value ? value : "(null)");
	table_cell(t, "%s", rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e)));
	table_cell(t, "%s", rd_kafka_ConfigEntry_is_read_only(e) ? "yes" : "no");
}

static int by_entry_name(const void *a, const void *b)
{
	const rd_kafka_ConfigEntry_t *const *x = a, *const *y = b;
	return strcmp(rd_kafka_ConfigEntry_name(*x), rd_kafka_ConfigEntry_name(*y));
}

static void print_configs(struct admin_ctx *ctx, const rd_kafka_ConfigResource_t *res)
{
	size_t n;
	const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
	const rd_kafka_ConfigEntry_t **sorted = calloc(n + 1, sizeof(*sorted));
	if (!sorted)
		abort();
	memcpy(sorted, entries, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_entry_name);
	bool all = args_has(&ctx->args, "--all");
	static const char *const headers[] = {"NAME", "VALUE", "SOURCE", "READ-ONLY"};
	struct table t;
	struct json j = {0};
	table_init(&t, 4, headers);
	if (ctx->json) {
		json_object_begin(&j, NULL);
		json_string(&j, "entity_type", args_value(&ctx->args, "--entity-type"));
		json_string(&j, "entity_name", args_value(&ctx->args, "--entity-name"));
		json_array_begin(&j, "configs");
	}
	for (size_t i = 0; i < n; i++) {
		if (!all && rd_kafka_ConfigEntry_source(sorted[i]) == RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG)
			continue;
		if (ctx->json)
			entry_json(&j, sorted[i]);
		else
			entry_row(&t, sorted[i]);
	}
	if (ctx->json) {
		json_array_end(&j);
		json_object_end(&j);
	} else {
		table_print_free(&t);
	}
	free(sorted);
}

static int configs_describe(struct admin_ctx *ctx)
{
	const rd_kafka_ConfigResource_t *res;
	rd_kafka_event_t *ev = describe_entity(ctx, &res);
	if (!ev)
		return ADMIN_EXIT_BROKER;
	print_configs(ctx, res);
	rd_kafka_event_destroy(ev);
	return ADMIN_EXIT_OK;
}

static struct config_entry *change_find(struct config_change *c, const char *name)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->entries[i].name, name) == 0)
			return &c->entries[i];
	return NULL;
}

static char *dup_or_die(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		abort();
	return d;
}

/* Sets (value non-NULL) or removes name in c; -1 when c is full. */
static int change_put(struct config_change *c, const char *name, const char *value)
{
	struct config_entry *e = change_find(c, name);
	if (!e) {
		if (c->count == CONFIG_ENTRIES_MAX)
			return -1;
		e = &c->entries[c->count++];
		e->name = dup_or_die(name);
		e->value = NULL;
	}
	free(e->value);
	e->value = dup_or_die(value);
	return 0;
}

static void change_free(struct config_change *c)
{
	for (size_t i = 0; i < c->count; i++) {
		free(c->entries[i].name);
		free(c->entries[i].value);
	}
	c->count = 0;
}

/* The next item of a comma-separated list starting at *p into out (a
 * [bracketed,value] keeps its commas, brackets dropped); false at the end. */
static bool next_item(const char **p, char *out, size_t size)
{
	if (!**p)
		return false;
	size_t used = 0;
	int depth = 0;
	for (; **p && (depth > 0 || **p != ','); (*p)++) {
		char ch = **p;
		depth += ch == '[' ? 1 : ch == ']' ? -1 : 0;
		if (ch != '[' && ch != ']' && used + 1 < size)
			out[used++] = ch;
	}
	out[used] = '\0';
	if (**p == ',')
		(*p)++;
	return true;
}

/* Every item of every value of flag, checked (key=value when want_value). */
static int check_items(struct args *a, const char *flag, bool want_value)
{
	const struct arg_values *v = args_values(a, flag);
	for (size_t i = 0; i < v->count; i++) {
		const char *p = v->values[i];
		char item[CONFIG_TEXT_BYTES_MAX];
		if (strlen(p) >= CONFIG_TEXT_BYTES_MAX || !*p) {
			snprintf(a->error, sizeof(a->error), "%s: a value of 1 to %d bytes is needed",
				 flag, CONFIG_TEXT_BYTES_MAX - 1);
			return -1;
		}
		while (next_item(&p, item, sizeof(item))) {
			const char *eq = strchr(item, '=');
			if (!item[0] || (want_value ? !eq || eq == item : eq != NULL)) {
				snprintf(a->error, sizeof(a->error), "%s: '%.200s' is not %s", flag, item,
					 want_value ? "key=value" : "a config name");
				return -1;
			}
		}
	}
	return 0;
}

static int check_set(struct admin_ctx *ctx)
{
	return check_entity(ctx) || args_require(&ctx->args, "--add-config") ||
	       check_items(&ctx->args, "--add-config", true) ? -1 : 0;
}

static int check_unset(struct admin_ctx *ctx)
{
	return check_entity(ctx) || args_require(&ctx->args, "--delete-config") ||
	       check_items(&ctx->args, "--delete-config", false) ? -1 : 0;
}

/* The entity's dynamic configs into c; -1 (printed) on one whose value the
 * broker hides (sensitive), which AlterConfigs would otherwise drop. */
static int keep_dynamic(struct admin_ctx *ctx, const rd_kafka_ConfigResource_t *res,
			struct config_change *c)
{
	rd_kafka_ConfigSource_t dynamic = entity_type(ctx) == RD_KAFKA_RESOURCE_BROKER
						  ? RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG
						  : RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
	size_t n;
	const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
	for (size_t i = 0; i < n; i++) {
		const rd_kafka_ConfigEntry_t *e = entries[i];
		if (rd_kafka_ConfigEntry_source(e) != dynamic)
			continue;
		const char *name = rd_kafka_ConfigEntry_name(e);
		if (rd_kafka_ConfigEntry_is_sensitive(e) || !rd_kafka_ConfigEntry_value(e)) {
			fprintf(stderr, "sluice-admin: %s: %s: the broker hides the value of %s, which "
					"AlterConfigs would drop: set it again in this command\n",
				ctx->command, args_value(&ctx->args, "--entity-name"), name);
			return -1;
		}
		if (change_put(c, name, rd_kafka_ConfigEntry_value(e)) != 0)
			return -1;
	}
	return 0;
}

/* Applies the --add-config / --delete-config items to c. */
static int apply_items(struct admin_ctx *ctx, struct config_change *c)
{
	const char *flag = args_has(&ctx->args, "--add-config") ? "--add-config" : "--delete-config";
	const struct arg_values *v = args_values(&ctx->args, flag);
	for (size_t i = 0; i < v->count; i++) {
		const char *p = v->values[i];
		char item[CONFIG_TEXT_BYTES_MAX];
		while (next_item(&p, item, sizeof(item))) {
			char *eq = strchr(item, '=');
			if (eq)
				*eq = '\0';
			if (change_put(c, item, eq ? eq + 1 : NULL) != 0) {
				fprintf(stderr, "sluice-admin: %s: more than %d configs\n", ctx->command,
					CONFIG_ENTRIES_MAX);
				return -1;
			}
		}
	}
	return 0;
}

static int alter(struct admin_ctx *ctx, const struct config_change *c)
{
	const char *name = args_value(&ctx->args, "--entity-name");
	rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(entity_type(ctx), name);
	for (size_t i = 0; i < c->count; i++)
		if (c->entries[i].value)
			rd_kafka_ConfigResource_set_config(res, c->entries[i].name, c->entries[i].value);
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, &r);
	rd_kafka_AlterConfigs(ctx->rk, &res, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "AlterConfigs");
	int rc = ADMIN_EXIT_BROKER;
	if (ev) {
		size_t n;
		const rd_kafka_ConfigResource_t **got = rd_kafka_AlterConfigs_result_resources(
			rd_kafka_event_AlterConfigs_result(ev), &n);
		rd_kafka_resp_err_t err = n == 1 ? rd_kafka_ConfigResource_error(got[0])
						 : RD_KAFKA_RESP_ERR__BAD_MSG;
		rc = err ? client_fail(ctx, name, err,
				       n == 1 ? rd_kafka_ConfigResource_error_string(got[0]) : NULL)
			 : ADMIN_EXIT_OK;
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_ConfigResource_destroy(res);
	return rc;
}

static void print_altered(struct admin_ctx *ctx)
{
	const char *type = args_value(&ctx->args, "--entity-type");
	const char *name = args_value(&ctx->args, "--entity-name");
	if (!ctx->json) {
		printf("updated configs of %s %s\n", type, name);
		return;
	}
	struct json j = {0};
	json_object_begin(&j, NULL);
	json_string(&j, "entity_type", type);
	json_string(&j, "entity_name", name);
	json_bool(&j, "updated", true);
	json_object_end(&j);
}

static int configs_alter(struct admin_ctx *ctx)
{
	const rd_kafka_ConfigResource_t *res;
	rd_kafka_event_t *ev = describe_entity(ctx, &res);
	if (!ev)
		return ADMIN_EXIT_BROKER;
	struct config_change *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	int rc = keep_dynamic(ctx, res, c) == 0 && apply_items(ctx, c) == 0 ? ADMIN_EXIT_OK
									 : ADMIN_EXIT_BROKER;
	rd_kafka_event_destroy(ev);
	if (rc == ADMIN_EXIT_OK)
		rc = alter(ctx, c);
	if (rc == ADMIN_EXIT_OK)
		print_altered(ctx);
	change_free(c);
	free(c);
	return rc;
}

#define ENTITY_SPECS                                                                           \
	{"--entity-type", ARG_VALUE, "topics|brokers", "what to configure (required)"},        \
	{"--entity-name", ARG_VALUE, "NAME", "the topic's name or the broker's id (required)"}

static const struct arg_spec describe_specs[] = {
	ENTITY_SPECS,
	{"--all", ARG_FLAG, NULL, "also list the configs left at their defaults"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec set_specs[] = {
	ENTITY_SPECS,
	{"--add-config", ARG_REPEAT, "K=V[,K=V]", "configs to set ([a,b] keeps commas in a value)"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec unset_specs[] = {
	ENTITY_SPECS,
	{"--delete-config", ARG_REPEAT, "K[,K]", "configs to return to their defaults"},
	{NULL, 0, NULL, NULL},
};

static const struct admin_command commands[] = {
	{"configs", "describe", "a topic's or broker's configs (non-default ones unless --all)",
	 describe_specs, check_entity, configs_describe},
	{"configs", "set", "set configs of a topic or broker", set_specs, check_set,
	 configs_alter},
	{"configs", "unset", "return configs of a topic or broker to their defaults",
	 unset_specs, check_unset, configs_alter},
};
const struct admin_family admin_configs = {"configs", commands, sizeof(commands) / sizeof(commands[0])};
