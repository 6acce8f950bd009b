/* Option parsing for sluice-admin's sub-commands (args.h): --flag, --flag
 * VALUE and --flag=VALUE against a table, with usage errors that name the
 * flag. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/* The default --timeout-ms is in admin.h; the help text repeats it. */
const struct arg_spec args_global_specs[] = {
	{"--bootstrap-server", ARG_VALUE, "HOST:PORT",
	 "broker(s) to connect to, comma-separated (default localhost:9092)"},
	{"--timeout-ms", ARG_VALUE, "MS",
	 "give up on the broker after this long (default 30000)"},
	{"--json", ARG_FLAG, NULL, "print JSON instead of tables"},
	{"--help", ARG_FLAG, NULL, "print this help"},
};
const size_t args_global_spec_count = sizeof(args_global_specs) / sizeof(args_global_specs[0]);

static const struct arg_spec *spec_at(const struct args *a, size_t i)
{
	return i < a->spec_count ? &a->specs[i] : &args_global_specs[i - a->spec_count];
}

static size_t spec_total(const struct args *a)
{
	return a->spec_count + args_global_spec_count;
}

/* The index of the spec called name (len bytes), or -1. */
static int spec_find(const struct args *a, const char *name, size_t len)
{
	for (size_t i = 0; i < spec_total(a); i++) {
		const char *s = spec_at(a, i)->name;
		if (strlen(s) == len && memcmp(s, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int args_fail(struct args *a, const char *fmt, const char *flag, const char *value)
{
	snprintf(a->error, sizeof(a->error), fmt, flag, value ? value : "");
	return -1;
}

static int store(struct args *a, int idx, const char *value)
{
	struct arg_values *v = &a->got[idx];
	const struct arg_spec *s = spec_at(a, (size_t)idx);
	if (s->kind == ARG_REPEAT && v->count == ARGS_REPEATS_MAX) {
		snprintf(a->error, sizeof(a->error), "%s is given more than %d times", s->name,
			 ARGS_REPEATS_MAX);
		return -1;
	}
	if (s->kind != ARG_REPEAT)
		v->count = 0;
	v->values[v->count++] = value;
	return 0;
}

/* One "--name[=value]" at argv[*i]; advances *i past its value. */
static int parse_one(struct args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	int idx = spec_find(a, arg, len);
	if (idx < 0) {
		char name[ARGS_ERROR_BYTES / 2];
		snprintf(name, sizeof(name), "%.*s", (int)len, arg);
		return args_fail(a, "unknown option %s%s", name, NULL);
	}
	const struct arg_spec *s = spec_at(a, (size_t)idx);
	if (s->kind == ARG_FLAG) {
		if (eq)
			return args_fail(a, "%s takes no value (got '%s')", s->name, eq + 1);
		return store(a, idx, "");
	}
	if (eq)
		return store(a, idx, eq + 1);
	/* "--topic --json" is a forgotten value, not a topic called --json. */
	if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
		return args_fail(a, "%s needs a value%s", s->name, NULL);
	*i += 1;
	return store(a, idx, argv[*i]);
}

int args_parse(struct args *a, const struct arg_spec *specs, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->specs = specs;
	while (specs[a->spec_count].name)
		a->spec_count++;
	if (spec_total(a) > ARGS_SPECS_MAX)
		return args_fail(a, "internal: too many options%s%s", "", NULL);
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			return args_fail(a, "unexpected argument '%s'%s", argv[i], NULL);
		if (parse_one(a, argc, argv, &i) != 0)
			return -1;
	}
	return 0;
}

const struct arg_values *args_values(const struct args *a, const char *name)
{
	int idx = spec_find(a, name, strlen(name));
	return idx < 0 ? NULL : &a->got[idx];
}

bool args_has(const struct args *a, const char *name)
{
	const struct arg_values *v = args_values(a, name);
	return v && v->count > 0;
}

const char *args_value(const struct args *a, const char *name)
{
	const struct arg_values *v = args_values(a, name);
	return v && v->count > 0 ? v->values[v->count - 1] : NULL;
}

int args_int64(struct args *a, const char *name, int64_t min, int64_t max, int64_t dflt,
	       int64_t *out)
{
	const char *text = args_value(a, name);
	if (!text) {
		*out = dflt;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		return args_fail(a, "%s: '%s' is not a whole number", name, text);
	if (n < min || n > max) {
		snprintf(a->error, sizeof(a->error), "%s: %lld is out of range [%" PRId64 ", %" PRId64 "]",
			 name, n, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

int args_require(struct args *a, const char *name)
{
	return args_has(a, name) ? 0 : args_fail(a, "%s is required%s", name, NULL);
}

int args_one_of(struct args *a, const char *const *names, size_t n, bool need_one)
{
	const char *first = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!args_has(a, names[i]))
			continue;
		if (first) {
			snprintf(a->error, sizeof(a->error), "%s and %s cannot be given together", first,
				 names[i]);
			return -1;
		}
		first = names[i];
	}
	if (!first && need_one) {
		size_t used = (size_t)snprintf(a->error, sizeof(a->error), "one of");
		for (size_t i = 0; i < n && used < sizeof(a->error); i++)
			used += (size_t)snprintf(a->error + used, sizeof(a->error) - used, " %s",
						 names[i]);
		if (used < sizeof(a->error))
			snprintf(a->error + used, sizeof(a->error) - used, " is required");
		return -1;
	}
	return 0;
}

static void print_spec(const struct arg_spec *s)
{
	char left[64];
	snprintf(left, sizeof(left), "%s%s%s", s->name, s->metavar ? " " : "",
		 s->metavar ? s->metavar : "");
	printf("  %-28s %s%s\n", left, s->help, s->kind == ARG_REPEAT ? " (repeatable)" : "");
}

void args_print_help(const struct arg_spec *specs)
{
	printf("\nOptions:\n");
	for (size_t i = 0; specs[i].name; i++)
		print_spec(&specs[i]);
	for (size_t i = 0; i < args_global_spec_count; i++)
		print_spec(&args_global_specs[i]);
}
