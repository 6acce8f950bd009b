/* sluice-admin groups list|describe|delete: ListConsumerGroups,
 * DescribeConsumerGroups with each partition's committed offset
 * (OffsetFetch), end offset (ListOffsets) and lag, and DeleteGroups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"

struct group_row {
	const char *name, *state;
};

static int by_group_name(const void *a, const void *b)
{
	return strcmp(((const struct group_row *)a)->name, ((const struct group_row *)b)->name);
}

static void print_group_list(struct admin_ctx *ctx, struct group_row *rows, size_t n)
{
	qsort(rows, n, sizeof(*rows), by_group_name);
	static const char *const headers[] = {"GROUP", "STATE"};
	struct listing l;
	listing_begin(&l, ctx->json, "groups", 2, headers);
	for (size_t i = 0; i < n; i++) {
		listing_row_begin(&l);
		listing_str(&l, "group", rows[i].name);
		listing_str(&l, "state", rows[i].state);
		listing_row_end(&l);
	}
	listing_end(&l);
}

static int groups_list(struct admin_ctx *ctx)
{
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, &r);
	rd_kafka_ListConsumerGroups(ctx->rk, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "ListGroups");
	if (!ev)
		return ADMIN_EXIT_BROKER;
	const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
	size_t n_err, n;
	const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &n_err);
	int rc = ADMIN_EXIT_OK;
	for (size_t i = 0; i < n_err; i++)
		rc = client_fail(ctx, "ListGroups", rd_kafka_error_code(errs[i]),
				 rd_kafka_error_string(errs[i]));
	const rd_kafka_ConsumerGroupListing_t **groups = rd_kafka_ListConsumerGroups_result_valid(res, &n);
	struct group_row *rows = calloc(n + 1, sizeof(*rows));
	if (!rows)
		abort();
	for (size_t i = 0; i < n; i++) {
		rows[i].name = rd_kafka_ConsumerGroupListing_group_id(groups[i]);
		rows[i].state = rd_kafka_consumer_group_state_name(
			rd_kafka_ConsumerGroupListing_state(groups[i]));
	}
	if (rc == ADMIN_EXIT_OK)
		print_group_list(ctx, rows, n);
	free(rows);
	rd_kafka_event_destroy(ev);
	return rc;
}

rd_kafka_event_t *groups_describe_one(struct admin_ctx *ctx, const char *group,
				      const rd_kafka_ConsumerGroupDescription_t **out)
{
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, &r);
	rd_kafka_DescribeConsumerGroups(ctx->rk, &group, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "DescribeGroups");
	if (!ev)
		return NULL;
	size_t n;
	const rd_kafka_ConsumerGroupDescription_t **d = rd_kafka_DescribeConsumerGroups_result_groups(
		rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	const rd_kafka_error_t *err = n == 1 ? rd_kafka_ConsumerGroupDescription_error(d[0]) : NULL;
	if (n != 1 || err) {
		client_fail(ctx, group, err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR__BAD_MSG,
			    err ? rd_kafka_error_string(err) : NULL);
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	*out = d[0];
	return ev;
}

rd_kafka_topic_partition_list_t *groups_committed(struct admin_ctx *ctx, const char *group)
{
	rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, &r);
	rd_kafka_ListConsumerGroupOffsets(ctx->rk, &req, 1, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "OffsetFetch");
	rd_kafka_ListConsumerGroupOffsets_destroy(req);
	if (!ev)
		return NULL;
	size_t n;
	const rd_kafka_group_result_t **res = rd_kafka_ListConsumerGroupOffsets_result_groups(
		rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	const rd_kafka_error_t *err = n == 1 ? rd_kafka_group_result_error(res[0]) : NULL;
	rd_kafka_topic_partition_list_t *list = NULL;
	if (n != 1 || err)
		client_fail(ctx, group, err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR__BAD_MSG,
			    err ? rd_kafka_error_string(err) : NULL);
	else
		list = rd_kafka_topic_partition_list_copy(rd_kafka_group_result_partitions(res[0]));
	rd_kafka_event_destroy(ev);
	return list;
}

/* The member a partition is assigned to, or NULL. */
static const rd_kafka_MemberDescription_t *
assigned_to(const rd_kafka_ConsumerGroupDescription_t *d, const char *topic, int32_t partition)
{
	size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
	for (size_t m = 0; m < members; m++) {
		const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_topic_partition_list_t *a =
			rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
		if (a && rd_kafka_topic_partition_list_find(a, topic, partition))
			return md;
	}
	return NULL;
}

/* The committed partitions plus the assigned ones without a commit (offset
 * -1001, none), sorted; ListOffsets' latest in `ends`. */
static rd_kafka_topic_partition_list_t *
lag_partitions(const rd_kafka_ConsumerGroupDescription_t *d,
	       const rd_kafka_topic_partition_list_t *committed)
{
	rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_copy(committed);
	size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
	for (size_t m = 0; m < members; m++) {
		const rd_kafka_topic_partition_list_t *a = rd_kafka_MemberAssignment_partitions(
			rd_kafka_MemberDescription_assignment(rd_kafka_ConsumerGroupDescription_member(d, m)));
		for (int i = 0; a && i < a->cnt; i++)
			if (!rd_kafka_topic_partition_list_find(all, a->elems[i].topic, a->elems[i].partition))
				rd_kafka_topic_partition_list_add(all, a->elems[i].topic,
								  a->elems[i].partition)->offset =
					RD_KAFKA_OFFSET_INVALID;
	}
	rd_kafka_topic_partition_list_sort(all, NULL, NULL);
	return all;
}

static void members_json(struct json *j, const rd_kafka_ConsumerGroupDescription_t *d)
{
	json_array_begin(j, "members");
	size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
	for (size_t m = 0; m < members; m++) {
		const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_topic_partition_list_t *a =
			rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
		json_object_begin(j, NULL);
		json_string(j, "member_id", rd_kafka_MemberDescription_consumer_id(md));
		json_string(j, "group_instance_id", rd_kafka_MemberDescription_group_instance_id(md));
		json_string(j, "client_id", rd_kafka_MemberDescription_client_id(md));
		json_string(j, "host", rd_kafka_MemberDescription_host(md));
		json_array_begin(j, "assignment");
		for (int i = 0; a && i < a->cnt; i++) {
			json_object_begin(j, NULL);
			json_string(j, "topic", a->elems[i].topic);
			json_int(j, "partition", a->elems[i].partition);
			json_object_end(j);
		}
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
}

static void partition_row(struct listing *l, const char *group, const rd_kafka_topic_partition_t *c,
			  int64_t end, const rd_kafka_MemberDescription_t *owner)
{
	listing_row_begin(l);
	if (!l->json)
		table_cell(&l->t, "%s", group);
	listing_str(l, "topic", c->topic);
	listing_int(l, "partition", c->partition);
	listing_offset(l, "committed_offset", c->offset);
	listing_int(l, "end_offset", end);
	listing_offset(l, "lag", c->offset < 0 ? -1 : end > c->offset ? end - c->offset : 0);
	listing_str(l, "member_id", owner ? rd_kafka_MemberDescription_consumer_id(owner) : NULL);
	if (!l->json) {
		table_cell(&l->t, "%s", owner ? rd_kafka_MemberDescription_host(owner) : "-");
		table_cell(&l->t, "%s", owner ? rd_kafka_MemberDescription_client_id(owner) : "-");
	}
	listing_row_end(l);
}

static void print_description(struct admin_ctx *ctx, const rd_kafka_ConsumerGroupDescription_t *d,
			      const rd_kafka_topic_partition_list_t *parts,
			      const rd_kafka_topic_partition_list_t *ends)
{
	const char *group = rd_kafka_ConsumerGroupDescription_group_id(d);
	const char *state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
	const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(d);
	static const char *const headers[] = {"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
					      "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
					      "CLIENT-ID"};
	struct listing l;
	int64_t total = 0;
	listing_begin(&l, ctx->json, NULL, 9, headers);
	if (l.json) {
		json_string(&l.j, "group", group);
		json_string(&l.j, "state", state);
		json_string(&l.j, "partition_assignor", rd_kafka_ConsumerGroupDescription_partition_assignor(d));
		json_int(&l.j, "coordinator", coord ? rd_kafka_Node_id(coord) : -1);
		members_json(&l.j, d);
		json_array_begin(&l.j, "partitions");
	} else {
		printf("Group %s is %s with %zu member(s), coordinator %d\n\n", group, state,
		       rd_kafka_ConsumerGroupDescription_member_count(d),
		       coord ? rd_kafka_Node_id(coord) : -1);
	}
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *c = &parts->elems[i];
		int64_t end = ends->elems[i].offset;
		total += c->offset >= 0 && end > c->offset ? end - c->offset : 0;
		partition_row(&l, group, c, end, assigned_to(d, c->topic, c->partition));
	}
	if (l.json) {
		json_array_end(&l.j);
		json_int(&l.j, "total_lag", total);
	}
	listing_end(&l);
	if (!l.json)
		printf("\nTOTAL LAG: %lld\n", (long long)total);
}

/* The lag table of a described group: committed and end offsets. */
static int describe_offsets(struct admin_ctx *ctx, const rd_kafka_ConsumerGroupDescription_t *d)
{
	rd_kafka_topic_partition_list_t *committed =
		groups_committed(ctx, rd_kafka_ConsumerGroupDescription_group_id(d));
	if (!committed)
		return ADMIN_EXIT_BROKER;
	if (committed->cnt == 0 &&
	    rd_kafka_ConsumerGroupDescription_state(d) == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
		rd_kafka_topic_partition_list_destroy(committed);
		return client_fail(ctx, rd_kafka_ConsumerGroupDescription_group_id(d),
				   RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND, "the group does not exist");
	}
	rd_kafka_topic_partition_list_t *parts = lag_partitions(d, committed);
	rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_copy(parts);
	for (int i = 0; i < ends->cnt; i++)
		ends->elems[i].offset = RD_KAFKA_OFFSET_END;
	int rc = client_offsets_for_times(ctx, ends);
	if (rc == ADMIN_EXIT_OK)
		print_description(ctx, d, parts, ends);
	rd_kafka_topic_partition_list_destroy(ends);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_topic_partition_list_destroy(committed);
	return rc;
}

static int groups_describe(struct admin_ctx *ctx)
{
	const rd_kafka_ConsumerGroupDescription_t *d;
	rd_kafka_event_t *ev = groups_describe_one(ctx, args_value(&ctx->args, "--group"), &d);
	if (!ev)
		return ADMIN_EXIT_BROKER;
	int rc = describe_offsets(ctx, d);
	rd_kafka_event_destroy(ev);
	return rc;
}

static int report_deleted(struct admin_ctx *ctx, const rd_kafka_group_result_t **res, size_t n)
{
	struct client_result got[ARGS_REPEATS_MAX];
	for (size_t i = 0; i < n && i < ARGS_REPEATS_MAX; i++) {
		const rd_kafka_error_t *err = rd_kafka_group_result_error(res[i]);
		got[i].name = rd_kafka_group_result_name(res[i]);
		got[i].err = err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR_NO_ERROR;
		got[i].message = err ? rd_kafka_error_string(err) : NULL;
	}
	n = n < ARGS_REPEATS_MAX ? n : ARGS_REPEATS_MAX;
	return client_report_results(ctx, "groups", "group", got, n, "deleted group");
}

static int groups_delete(struct admin_ctx *ctx)
{
	const struct arg_values *v = args_values(&ctx->args, "--group");
	rd_kafka_DeleteGroup_t *del[ARGS_REPEATS_MAX];
	for (size_t i = 0; i < v->count; i++)
		del[i] = rd_kafka_DeleteGroup_new(v->values[i]);
	struct client_request r;
	client_request_begin(ctx, RD_KAFKA_ADMIN_OP_DELETEGROUPS, &r);
	rd_kafka_DeleteGroups(ctx->rk, del, v->count, r.options, r.queue);
	rd_kafka_event_t *ev = client_request_end(ctx, &r, "DeleteGroups");
	int rc = ADMIN_EXIT_BROKER;
	if (ev) {
		size_t n;
		const rd_kafka_group_result_t **res =
			rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
		rc = report_deleted(ctx, res, n);
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_DeleteGroup_destroy_array(del, v->count);
	return rc;
}

static int check_group(struct admin_ctx *ctx)
{
	return args_require(&ctx->args, "--group");
}

static const struct arg_spec list_specs[] = {
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec describe_specs[] = {
	{"--group", ARG_VALUE, "GROUP", "the consumer group (required)"},
	{NULL, 0, NULL, NULL},
};
static const struct arg_spec delete_specs[] = {
	{"--group", ARG_REPEAT, "GROUP", "a group to delete (required; it must be empty)"},
	{NULL, 0, NULL, NULL},
};

static const struct admin_command commands[] = {
	{"groups", "list", "list the consumer groups and their states", list_specs, NULL,
	 groups_list},
	{"groups", "describe", "a group's members, assignments, offsets and lag",
	 describe_specs, check_group, groups_describe},
	{"groups", "delete", "delete consumer groups", delete_specs, check_group,
	 groups_delete},
	{"groups", "reset-offsets", "move a group's committed offsets (dry run unless --execute)",
	 groups_reset_specs, groups_reset_check, groups_reset_offsets},
};
const struct admin_family admin_groups = {"groups", commands, sizeof(commands) / sizeof(commands[0])};
