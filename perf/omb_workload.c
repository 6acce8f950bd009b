/* The OMB workload parser (omb_workload.h): a table of the known keys, each
 * with its type, field and bounds, and a line reader that never reads past
 * the text it was given nor copies more than a field holds. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omb_workload.h"
#include "perf.h"

enum omb_type { OMB_STRING, OMB_INT, OMB_NUMBER };

struct omb_key {
	const char *key;
	enum omb_type type;
	size_t offset;
	double min, max;
	bool required;
};

#define OMB_FIELD(f) offsetof(struct omb_workload, f)

static const struct omb_key omb_keys[] = {
	{ "name", OMB_STRING, OMB_FIELD(name), 0, 0, false },
	{ "topics", OMB_INT, OMB_FIELD(topics), 1, OMB_TOPICS_MAX, true },
	{ "partitionsPerTopic", OMB_INT, OMB_FIELD(partitions_per_topic), 1, OMB_PARTITIONS_MAX, true },
	{ "messageSize", OMB_INT, OMB_FIELD(message_size), 8, PERF_SIZE_MAX, true },
	{ "payloadFile", OMB_STRING, OMB_FIELD(payload_file), 0, 0, false },
	{ "subscriptionsPerTopic", OMB_INT, OMB_FIELD(subscriptions_per_topic), 0, OMB_CONSUMERS_MAX, true },
	{ "consumerPerSubscription", OMB_INT, OMB_FIELD(consumer_per_subscription), 0, OMB_CONSUMERS_MAX, true },
	{ "producersPerTopic", OMB_INT, OMB_FIELD(producers_per_topic), 1, OMB_PRODUCERS_MAX, true },
	{ "producerRate", OMB_NUMBER, OMB_FIELD(producer_rate), 0, PERF_RATE_MAX, true },
	{ "consumerBacklogSizeGB", OMB_NUMBER, OMB_FIELD(consumer_backlog_size_gb), 0, 0, false },
	{ "testDurationMinutes", OMB_NUMBER, OMB_FIELD(test_duration_minutes), 0.001, OMB_MINUTES_MAX, true },
	{ "warmupDurationMinutes", OMB_NUMBER, OMB_FIELD(warmup_duration_minutes), 0, OMB_MINUTES_MAX, false },
};
enum { OMB_KEYS = sizeof(omb_keys) / sizeof(omb_keys[0]) };

static int omb_fail(char *err, size_t err_len, int line, const char *fmt, ...)
{
	int n = line ? snprintf(err, err_len, "line %d: ", line) : 0;
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < err_len)
		vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool omb_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Stores `value` (NUL-terminated, unquoted) into the field of `k`. */
static int omb_store(const struct omb_key *k, const char *value, struct omb_workload *w, int line, char *err,
		     size_t err_len)
{
	char *field = (char *)w + k->offset;
	if (k->type == OMB_STRING) {
		if (strlen(value) >= OMB_STRING_BYTES)
			return omb_fail(err, err_len, line, "%s: longer than %d bytes", k->key, OMB_STRING_BYTES - 1);
		strcpy(field, value);
		return 0;
	}
	char *end = NULL;
	errno = 0;
	double d = strtod(value, &end);
	if (errno || !*value || *end || end == value)
		return omb_fail(err, err_len, line, "%s: '%s' is not a number", k->key, value);
	if (k->type == OMB_INT && d != (double)(long)d)
		return omb_fail(err, err_len, line, "%s: '%s' is not an integer", k->key, value);
	if (d < k->min || d > k->max) {
		if (k->max == 0)
			return omb_fail(err, err_len, line, "%s: only 0 is run (sluice-perf builds no backlog)", k->key);
		return omb_fail(err, err_len, line, "%s: %s is not from %g to %g", k->key, value, k->min, k->max);
	}
	if (k->type == OMB_INT)
		*(long *)(void *)field = (long)d;
	else
		*(double *)(void *)field = d;
	return 0;
}

/* The value of a line after its colon, in place: quotes removed, or a bare
 * value cut at a ` #` comment; trailing blanks dropped. NULL when a quote is
 * not closed or text follows it. */
static char *omb_value(char *v)
{
	while (omb_space(*v))
		v++;
	if (*v == '"' || *v == '\'') {
		char *close = strchr(v + 1, *v);
		if (!close)
			return NULL;
		char *rest = close + 1;
		while (omb_space(*rest))
			rest++;
		if (*rest && *rest != '#')
			return NULL;
		*close = '\0';
		return v + 1;
	}
	for (char *c = v; *c; c++)
		if (*c == '#' && (c == v || omb_space(c[-1]))) {
			*c = '\0';
			break;
		}
	size_t n = strlen(v);
	while (n && omb_space(v[n - 1]))
		v[--n] = '\0';
	return v;
}

/* One line (NUL-terminated, no newline); `seen` marks the keys given. */
static int omb_line(char *s, int line, struct omb_workload *w, bool *seen, char *err, size_t err_len)
{
	char *p = s;
	while (omb_space(*p))
		p++;
	if (!*p || *p == '#' || !strcmp(p, "---"))
		return 0;
	if (p != s)
		return omb_fail(err, err_len, line, "indented: only flat 'key: value' lines are read");
	char *colon = strchr(s, ':');
	if (!colon)
		return omb_fail(err, err_len, line, "not a 'key: value' line");
	size_t key_len = (size_t)(colon - s);
	int k = 0;
	while (k < OMB_KEYS && (strlen(omb_keys[k].key) != key_len || strncmp(omb_keys[k].key, s, key_len)))
		k++;
	if (k == OMB_KEYS)
		return omb_fail(err, err_len, line, "unknown key '%.*s'", (int)key_len, s);
	if (seen[k])
		return omb_fail(err, err_len, line, "%s given twice", omb_keys[k].key);
	seen[k] = true;
	char *value = omb_value(colon + 1);
	if (!value)
		return omb_fail(err, err_len, line, "%s: a quote is not closed, or text follows it", omb_keys[k].key);
	if (!*value)
		return omb_fail(err, err_len, line, "%s: no value", omb_keys[k].key);
	return omb_store(&omb_keys[k], value, w, line, err, err_len);
}

int omb_workload_parse(const char *text, size_t len, struct omb_workload *w, char *err, size_t err_len)
{
	*w = (struct omb_workload){ .warmup_duration_minutes = 1 };
	bool seen[OMB_KEYS] = { false };
	char buf[OMB_LINE_BYTES_MAX + 1];
	size_t at = 0;
	for (int line = 1; at < len; line++) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		if (n && text[at + n - 1] == '\r')
			n--;
		if (n > OMB_LINE_BYTES_MAX)
			return omb_fail(err, err_len, line, "longer than %d bytes", OMB_LINE_BYTES_MAX);
		memcpy(buf, text + at, n);
		buf[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
				return omb_fail(err, err_len, line, "a control byte (0x%02x)", (unsigned char)buf[i]);
		if (omb_line(buf, line, w, seen, err, err_len) != 0)
			return -1;
		at += (nl ? (size_t)(nl - (text + at)) + 1 : len - at);
	}
	for (int k = 0; k < OMB_KEYS; k++)
		if (omb_keys[k].required && !seen[k])
			return omb_fail(err, err_len, 0, "%s is missing", omb_keys[k].key);
	if (w->topics * w->producers_per_topic > OMB_PRODUCERS_MAX)
		return omb_fail(err, err_len, 0, "topics x producersPerTopic is over %d", OMB_PRODUCERS_MAX);
	if (w->topics * w->subscriptions_per_topic * w->consumer_per_subscription > OMB_CONSUMERS_MAX)
		return omb_fail(err, err_len, 0, "topics x subscriptionsPerTopic x consumerPerSubscription is over %d",
				OMB_CONSUMERS_MAX);
	return 0;
}

int omb_workload_load(const char *path, struct omb_workload *w, char *err, size_t err_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = malloc(OMB_FILE_BYTES_MAX + 1);
	size_t len = text ? fread(text, 1, OMB_FILE_BYTES_MAX + 1, f) : 0;
	bool too_long = len > OMB_FILE_BYTES_MAX, failed = ferror(f) || !text;
	fclose(f);
	char why[OMB_ERR_BYTES] = "";
	int rc = -1;
	if (failed)
		snprintf(why, sizeof(why), "cannot be read");
	else if (too_long)
		snprintf(why, sizeof(why), "longer than %d bytes", OMB_FILE_BYTES_MAX);
	else
		rc = omb_workload_parse(text, len, w, why, sizeof(why));
	free(text);
	if (rc != 0)
		snprintf(err, err_len, "%s: %s", path, why);
	if (rc == 0 && !w->name[0])
		snprintf(w->name, sizeof(w->name), "%.*s", OMB_STRING_BYTES - 1, path);
	return rc;
}
