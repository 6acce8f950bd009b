/* sluice-admin groups reset-offsets: the new committed offset of each of a
 * group's partitions (earliest, latest, a fixed offset within the log, or
 * the first at a time), printed as a dry run, or committed with --execute
 * (OffsetCommit through AlterConsumerGroupOffsets) when the group is empty,
 * as Kafka requires. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groups.h"

static const char *const targets[] = {"--to-earliest", "--to-latest", "--to-offset",
				      "--to-datetime"};
#define TARGET_COUNT (sizeof(targets) / sizeof(targets[0]))
static const char *const scopes[] = {"--topic", "--all-topics"};
static const char *const modes[] = {"--dry-run", "--execute"};

/* Minutes east of UTC from "Z", "+HH:MM", "-HHMM" or "" (local time: -1
 * in *local). -1 when the text is none of them. */
static int parse_zone(const char *z, int *minutes, int *local)
{
	int h, m, n = 0;
	*local = 0;
	*minutes = 0;
	if (!*z) {
		*local = 1;
		return 0;
	}
	if (strcmp(z, "Z") == 0)
		return 0;
	if ((z[0] != '+' && z[0] != '-') ||
	    (sscanf(z + 1, "%2d:%2d%n", &h, &m, &n) != 2 && sscanf(z + 1, "%2d%2d%n", &h, &m, &n) != 2) ||
	    z[1 + n] != '\0' || h > 23 || m > 59)
		return -1;
	*minutes = (z[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}

/* Milliseconds since the epoch from "YYYY-MM-DDTHH:MM:SS[.sss][zone]" (no
 * zone: local time, as kafka-consumer-groups) or from a number of ms. */
static int parse_datetime(const char *text, int64_t *ms)
{
	const char *p = text;
	while (isdigit((unsigned char)*p))
		p++;
	if (p != text && !*p && p - text <= 15) {
		*ms = strtoll(text, NULL, 10);
		return 0;
	}
	struct tm tm = {0};
	int frac = 0, n = 0, nf = 0, minutes, local;
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	if (text[n] == '.' && sscanf(text + n, ".%3d%n", &frac, &nf) == 1)
		n += nf;
	if (parse_zone(text + n, &minutes, &local) != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	time_t secs = local ? mktime(&tm) : timegm(&tm) - (time_t)minutes * 60;
	*ms = (int64_t)secs * 1000 + frac;
	return 0;
}

int groups_reset_check(struct admin_ctx *ctx)
{
	struct args *a = &ctx->args;
	int64_t n;
	if (args_require(a, "--group") || args_one_of(a, targets, TARGET_COUNT, true) ||
	    args_one_of(a, scopes, 2, true) || args_one_of(a, modes, 2, false) ||
	    args_int64(a, "--to-offset", 0, INT64_MAX, 0, &n))
		return -1;
	const char *when = args_value(a, "--to-datetime");
	if (when && parse_datetime(when, &n) != 0) {
		snprintf(a->error, sizeof(a->error),
			 "--to-datetime: '%.64s' is not YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM] nor ms since the epoch",
			 when);
		return -1;
	}
	return 0;
}

/* The partitions to reset: every partition of the named topics, or of the
 * topics the group has committed offsets for. NULL (printed) when failed. */
static rd_kafka_topic_partition_list_t *
reset_scope(struct admin_ctx *ctx, const rd_kafka_topic_partition_list_t *committed)
{
	const struct arg_values *v = args_values(&ctx->args, "--topic");
	if (v->count > 0)
		return client_topic_partitions(ctx, v->values, v->count, 0);
	const char *names[ARGS_REPEATS_MAX];
	size_t n = 0;
	for (int i = 0; i < committed->cnt; i++) {
		const char *t = committed->elems[i].topic;
		size_t k = 0;
		while (k < n && strcmp(names[k], t) != 0)
			k++;
		if (k == n && n == ARGS_REPEATS_MAX) {
			fprintf(stderr, "sluice-admin: %s: the group has offsets in more than %d topics: name them with --topic\n",
				ctx->command, ARGS_REPEATS_MAX);
			return NULL;
		}
		if (k == n)
			names[n++] = t;
	}
	return client_topic_partitions(ctx, names, n, 0);
}

/* parts' offsets set to ListOffsets' answer for `spec` (-2, -1 or a time). */
static rd_kafka_topic_partition_list_t *offsets_at(struct admin_ctx *ctx,
						   const rd_kafka_topic_partition_list_t *parts,
						   int64_t spec)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
	for (int i = 0; i < l->cnt; i++)
		l->elems[i].offset = spec;
	if (client_offsets_for_times(ctx, l) == ADMIN_EXIT_OK)
		return l;
	rd_kafka_topic_partition_list_destroy(l);
	return NULL;
}

/* Fills target's offsets from the chosen --to-*; a fixed offset is kept
 * within [earliest, latest], a time past the last record gives latest. */
static int compute_targets(struct admin_ctx *ctx, rd_kafka_topic_partition_list_t *target)
{
	rd_kafka_topic_partition_list_t *low = offsets_at(ctx, target, RD_KAFKA_OFFSET_BEGINNING);
	rd_kafka_topic_partition_list_t *high = low ? offsets_at(ctx, target, RD_KAFKA_OFFSET_END) : NULL;
	rd_kafka_topic_partition_list_t *at = NULL;
	int64_t spec = 0;
	const char *when = args_value(&ctx->args, "--to-datetime");
	if (when && high) {
		parse_datetime(when, &spec);
		at = offsets_at(ctx, target, spec);
	}
	int rc = high && (!when || at) ? ADMIN_EXIT_OK : ADMIN_EXIT_BROKER;
	args_int64(&ctx->args, "--to-offset", 0, INT64_MAX, 0, &spec);
	for (int i = 0; rc == ADMIN_EXIT_OK && i < target->cnt; i++) {
		int64_t lo = low->elems[i].offset, hi = high->elems[i].offset, o = hi;
		if (args_has(&ctx->args, "--to-earliest"))
			o = lo;
		else if (args_has(&ctx->args, "--to-offset"))
			o = spec < lo ? lo : spec > hi ? hi : spec;
		else if (at && at->elems[i].offset >= 0)
			o = at->elems[i].offset;
		target->elems[i].offset = o;
	}
	if (low)
		rd_kafka_topic_partition_list_destroy(low);
	if (high)
		rd_kafka_topic_partition_list_destroy(high);
	if (at)
		rd_kafka_topic_partition_list_destroy(at);
	return rc;
}

static int64_t committed_offset(const rd_kafka_topic_partition_list_t *committed,
				const rd_kafka_topic_partition_t *p)
{
	const rd_kafka_topic_partition_t *c =
		rd_kafka_topic_partition_list_find(committed, p->topic, p->partition);
	return c ? c->offset : RD_KAFKA_OFFSET_INVALID;
}

static void print_plan(struct admin_ctx *ctx, const rd_kafka_topic_partition_list_t *target,
		       const rd_kafka_topic_partition_list_t *committed, bool executed)
{
	const char *group = args_value(&ctx->args, "--group");
	static const char *const headers[] = {"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
					      "NEW-OFFSET"};
	struct listing l;
	listing_begin(&l, ctx->json, NULL, 5, headers);
	if (l.json) {
		json_string(&l.j, "group", group);
		json_bool(&l.j, "executed", executed);
		json_array_begin(&l.j, "partitions");
	}
	for (int i = 0; i < target->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &target->elems[i];
		listing_row_begin(&l);
		if (!l.json)
			table_cell(&l.t, "%s", group);
		listing_str(&l, "topic", p->topic);
		listing_int(&l, "partition", p->partition);
		listing_offset(&l, "current_offset", committed_offset(committed, p));
		listing_int(&l, "new_offset", p->offset);
		listing_row_end(&l);
	}
	listing_end(&l);
	if (!l.json && !executed)
		printf("\n(dry run: nothing changed; add --execute to commit these offsets)\n");
}

/* Commits target for the group; ADMIN_EXIT_OK or _BROKER (printed). */
static int commit_targets(struct admin_ctx *ctx, const rd_kafka_topic_partition_list_t *target)
{
	const char *group = args_value(&ctx->args, "--group");
	rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, target);
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, &r);
	rd_kafka_AlterConsumerGroupOffsets(ctx->rk, &req, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "OffsetCommit");
	int rc = ev ? ADMIN_EXIT_OK : ADMIN_EXIT_BROKER;
	size_t n = 0;
	const rd_kafka_group_result_t **res = ev ? rd_kafka_AlterConsumerGroupOffsets_result_groups(
							   rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n)
						 : NULL;
	for (size_t g = 0; g < n; g++) {
		const rd_kafka_error_t *err = rd_kafka_group_result_error(res[g]);
		if (err)
			rc = client_fail(ctx, group, rd_kafka_error_code(err), rd_kafka_error_string(err));
		const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(res[g]);
		for (int i = 0; parts && i < parts->cnt; i++) {
			char name[ADMIN_ERROR_BYTES];
			snprintf(name, sizeof(name), "%s %s-%d", group, parts->elems[i].topic,
				 parts->elems[i].partition);
			if (parts->elems[i].err)
				rc = client_fail(ctx, name, parts->elems[i].err, NULL);
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AlterConsumerGroupOffsets_destroy(req);
	return rc;
}

/* Kafka resets only an inactive group: Empty, or one that does not exist. */
static int require_inactive(struct admin_ctx *ctx)
{
	const char *group = args_value(&ctx->args, "--group");
	const rd_kafka_ConsumerGroupDescription_t *d;
	rd_kafka_event_t *ev = groups_describe_one(ctx, group, &d);
	if (!ev)
		return ADMIN_EXIT_BROKER;
	rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(d);
	int rc = ADMIN_EXIT_OK;
	if (state != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY && state != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
		fprintf(stderr, "sluice-admin: %s: %s: offsets can be reset only while the group is inactive (Empty), but it is %s with %zu member(s)\n",
			ctx->command, group, rd_kafka_consumer_group_state_name(state),
			rd_kafka_ConsumerGroupDescription_member_count(d));
		rc = ADMIN_EXIT_BROKER;
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

int groups_reset_offsets(struct admin_ctx *ctx)
{
	int rc = require_inactive(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	rd_kafka_topic_partition_list_t *committed = groups_committed(ctx, args_value(&ctx->args, "--group"));
	if (!committed)
		return ADMIN_EXIT_BROKER;
	rd_kafka_topic_partition_list_t *target = reset_scope(ctx, committed);
	rc = target ? compute_targets(ctx, target) : ADMIN_EXIT_BROKER;
	bool execute = args_has(&ctx->args, "--execute");
	if (rc == ADMIN_EXIT_OK && execute)
		rc = commit_targets(ctx, target);
	if (rc == ADMIN_EXIT_OK)
		print_plan(ctx, target, committed, execute);
	if (target)
		rd_kafka_topic_partition_list_destroy(target);
	rd_kafka_topic_partition_list_destroy(committed);
	return rc;
}

const struct arg_spec groups_reset_specs[] = {
	{"--group", ARG_VALUE, "GROUP", "the consumer group (required; it must be empty)"},
	{"--topic", ARG_REPEAT, "NAME", "reset every partition of this topic"},
	{"--all-topics", ARG_FLAG, NULL, "reset the topics the group has offsets for"},
	{"--to-earliest", ARG_FLAG, NULL, "to each partition's first offset"},
	{"--to-latest", ARG_FLAG, NULL, "to each partition's end"},
	{"--to-offset", ARG_VALUE, "N", "to offset N (kept within the partition's log)"},
	{"--to-datetime", ARG_VALUE, "T",
	 "to the first offset at or after T (YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM], or ms)"},
	{"--dry-run", ARG_FLAG, NULL, "only print the new offsets (the default)"},
	{"--execute", ARG_FLAG, NULL, "commit the new offsets"},
	{NULL, 0, NULL, NULL},
};
