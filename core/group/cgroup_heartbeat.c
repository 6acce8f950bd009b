/* ConsumerGroupHeartbeat on one group: validation, member resolution
 * (dynamic, static, replaced static), subscription updates, the group epoch,
 * the target assignment and the member's reconciliation, and leaving or
 * being fenced (cgroup_heartbeat.h). */
#include "core/group/cgroup_heartbeat.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/group/assignor_internal.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

enum {
	CGROUP_RECORDS_INITIAL = 8,
	CGROUP_ASSIGN_ERR_BYTES = 256,
};

void cgroup_records_free(struct cgroup_records *r)
{
	for (uint32_t i = 0; i < r->count; i++)
		kstr_free(&r->refs[i].member_id);
	free(r->refs);
	memset(r, 0, sizeof(*r));
}

static void record_add(struct cgroup_records *r, int16_t type, bool tombstone, struct kstr member_id)
{
	if (r->failed)
		return;
	if (r->count == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : CGROUP_RECORDS_INITIAL;
		struct cgroup_record_ref *grown = realloc(r->refs, cap * sizeof(*grown));
		if (!grown) {
			r->failed = true;
			return;
		}
		r->refs = grown;
		r->cap = cap;
	}
	struct cgroup_record_ref *ref = &r->refs[r->count];
	ref->type = type;
	ref->tombstone = tombstone;
	if (!kstr_copy(&ref->member_id, member_id)) {
		r->failed = true;
		return;
	}
	r->count++;
}

static const struct kstr NO_MEMBER = { NULL, -1 };

static void fail(struct cgroup_heartbeat_result *out, int16_t err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct cgroup_heartbeat_result *out, int16_t err, const char *fmt, ...)
{
	out->error = err;
	out->member = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
}

/* Java's String.trim().isEmpty() for a present string: nothing but bytes
 * at or below ' '. */
static bool blank(struct kstr s)
{
	for (int32_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] > ' ')
			return false;
	return s.len >= 0;
}

int16_t cgroup_heartbeat_validate(struct kstr group_id, const struct cgroup_heartbeat_args *a,
				  const struct cgroup_settings *s, char *msg, size_t msg_len)
{
	const char *why = NULL;
	if ((a->version >= CGROUP_CLIENT_MEMBER_ID_VERSION || a->member_epoch > 0 ||
	     a->member_epoch == CGROUP_LEAVE_EPOCH) && blank(a->member_id))
		why = "MemberId can't be empty.";
	else if (blank(group_id))
		why = "GroupId can't be empty.";
	else if (a->instance_id.len >= 0 && blank(a->instance_id))
		why = "InstanceId can't be empty.";
	else if (a->rack_id.len >= 0 && blank(a->rack_id))
		why = "RackId can't be empty.";
	else if (a->topic_name_count > CGROUP_SUBSCRIBED_NAMES_MAX)
		why = "SubscribedTopicNames lists more topics than this broker takes.";
	else if (a->member_epoch == CGROUP_JOIN_EPOCH) {
		if (a->rebalance_timeout_ms == -1)
			why = "RebalanceTimeoutMs must be provided in first request.";
		else if (!a->owned || a->owned_topic_count != 0)
			why = "TopicPartitions must be empty when (re-)joining.";
		else if (a->topic_name_count < 0 && a->topic_regex.len < 0)
			why = "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
			      "(re-)joining.";
	} else if (a->member_epoch == CGROUP_LEAVE_STATIC_EPOCH) {
		if (a->instance_id.len < 0)
			why = "InstanceId can't be null.";
	} else if (a->member_epoch < CGROUP_LEAVE_STATIC_EPOCH) {
		why = "MemberEpoch is invalid.";
	}
	/* Regular expressions need their resolver against the topics (an RE2
	 * engine); until it exists they are refused as Kafka 3.7-3.9 did. */
	if (!why && a->topic_regex.len > 0)
		why = "SubscribedTopicRegex is not supported yet.";
	if (why) {
		snprintf(msg, msg_len, "%s", why);
		return KERR_INVALID_REQUEST;
	}
	enum assignor_kind kind;
	if (a->server_assignor.len >= 0 && !assignor_by_name(a->server_assignor, &kind)) {
		snprintf(msg, msg_len, "ServerAssignor %.*s is not supported. Supported assignors: %s.",
			 (int)a->server_assignor.len, a->server_assignor.ptr, s->assignor_names);
		return KERR_UNSUPPORTED_ASSIGNOR;
	}
	msg[0] = '\0';
	return KERR_NONE;
}

/* Kafka's isSubset: every owned partition is assigned (a null list is
 * not a subset). */
static bool owned_subset(const struct cg_assignment *owned, const struct cg_assignment *assigned)
{
	if (!owned)
		return false;
	for (int32_t i = 0; i < owned->count; i++)
		if (!cg_assignment_contains(assigned, owned->tps[i].topic_id, owned->tps[i].partition))
			return false;
	return true;
}

static bool epoch_valid(const struct cgroup_member *m, const struct cgroup_heartbeat_args *a,
			struct cgroup_heartbeat_result *out)
{
	int32_t known = m->current.member_epoch;
	if (a->member_epoch > known) {
		fail(out, KERR_FENCED_MEMBER_EPOCH,
		     "The consumer group member has a greater member epoch (%d) than the one known by "
		     "the group coordinator (%d). The member must abandon all its partitions and rejoin.",
		     a->member_epoch, known);
		return false;
	}
	if (a->member_epoch < known &&
	    (a->member_epoch != m->current.previous_member_epoch ||
	     !owned_subset(a->owned, &m->current.assigned))) {
		fail(out, KERR_FENCED_MEMBER_EPOCH,
		     "The consumer group member has a smaller member epoch (%d) than the one known by "
		     "the group coordinator (%d). The member must abandon all its partitions and rejoin.",
		     a->member_epoch, known);
		return false;
	}
	return true;
}

/* Kafka's Uuid.randomUuid().toString() for a v0 member that sent none. */
static bool random_member_id(char out[KUUID_TEXT_BYTES])
{
	struct kuuid u;
	if (getrandom(u.b, sizeof(u.b), 0) != (ssize_t)sizeof(u.b)) {
		slog_error("group", "getrandom: %s", strerror(errno));
		return false;
	}
	kuuid_format(u, out);
	return true;
}

static void tombstones_of(struct cgroup_records *r, struct kstr member_id)
{
	record_add(r, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, true, member_id);
	record_add(r, CG_RECORD_TARGET_ASSIGNMENT_MEMBER, true, member_id);
	record_add(r, CG_RECORD_MEMBER_METADATA, true, member_id);
}

static bool copy_member_fields(struct cgroup *cg, struct cgroup_member *dst,
			       const struct cgroup_member *src)
{
	dst->rebalance_timeout_ms = src->rebalance_timeout_ms;
	return kstr_replace(&dst->instance_id, src->instance_id) &&
	       kstr_replace(&dst->rack_id, src->rack_id) &&
	       kstr_replace(&dst->client_id, src->client_id) &&
	       kstr_replace(&dst->client_host, src->client_host) &&
	       kstr_replace(&dst->server_assignor, src->server_assignor) &&
	       kstr_replace(&dst->topic_regex, src->topic_regex) &&
	       cgroup_member_set_names(cg, dst, src->topic_names, src->topic_name_count) &&
	       cg_assignment_copy(&dst->target, &src->target) == 0;
}

/* A static member returning under a new member id takes the place of the
 * one that left with epoch -2: its subscription, target and partitions, at
 * epoch 0 (Kafka's replaceMember). */
static int16_t replace_static(struct cgroup *cg, struct cgroup_member *old, struct cgroup_member *m,
			      struct cgroup_records *recs)
{
	struct cg_member_assignment current;
	cg_member_assignment_init(&current);
	if (!copy_member_fields(cg, m, old) || cg_member_assignment_copy(&current, &old->current) != 0) {
		cg_member_assignment_free(&current);
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	current.member_epoch = 0;
	current.previous_member_epoch = 0;
	tombstones_of(recs, old->id);
	cgroup_member_remove(cg, old);
	int16_t err = cgroup_member_set_current(cg, m, &current);
	cg_member_assignment_free(&current);
	if (err != KERR_NONE)
		return err;
	record_add(recs, CG_RECORD_MEMBER_METADATA, false, m->id);
	record_add(recs, CG_RECORD_TARGET_ASSIGNMENT_MEMBER, false, m->id);
	record_add(recs, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, false, m->id);
	return KERR_NONE;
}

/* A member rejoining with epoch 0 under an id the group knows, when that
 * epoch is not the one a lost answer would explain: it starts afresh, its
 * partitions released (a fenced member that kept its id, KIP-1082). */
static bool restart_member(struct cgroup *cg, struct cgroup_member *m, struct cgroup_records *recs)
{
	struct cg_member_assignment fresh;
	cg_member_assignment_init(&fresh);
	int16_t err = cgroup_member_set_current(cg, m, &fresh);
	cg_member_assignment_free(&fresh);
	if (err != KERR_NONE)
		return false;
	record_add(recs, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, false, m->id);
	return true;
}

/* A static member that left with -2 returns under the same id: its state
 * is rewritten at epoch 0, as Kafka's replaceMember does for a new id. */
static int16_t rejoin_static_same_id(struct cgroup *cg, struct cgroup_member *m,
				     struct cgroup_records *recs)
{
	struct cg_member_assignment current;
	cg_member_assignment_init(&current);
	if (cg_member_assignment_copy(&current, &m->current) != 0)
		return KERR_UNKNOWN_SERVER_ERROR;
	current.member_epoch = 0;
	current.previous_member_epoch = 0;
	int16_t err = cgroup_member_set_current(cg, m, &current);
	cg_member_assignment_free(&current);
	if (err != KERR_NONE)
		return err;
	tombstones_of(recs, m->id);
	record_add(recs, CG_RECORD_MEMBER_METADATA, false, m->id);
	record_add(recs, CG_RECORD_TARGET_ASSIGNMENT_MEMBER, false, m->id);
	record_add(recs, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, false, m->id);
	return KERR_NONE;
}

static struct cgroup_member *add_member(struct cgroup *cg, struct kstr member_id,
					struct cgroup_heartbeat_result *out, bool *is_new)
{
	struct cgroup_member *m = cgroup_member_add(cg, member_id);
	if (!m)
		fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
	*is_new = m != NULL;
	return m;
}

/* A joining static member (epoch 0). */
static struct cgroup_member *join_static(struct cgroup *cg, struct kstr group_id,
					 const struct cgroup_heartbeat_args *a, struct kstr member_id,
					 struct cgroup_heartbeat_result *out, bool *is_new)
{
	struct cgroup_member *existing = cgroup_member_find_instance(cg, a->instance_id);
	struct cgroup_member *same_id = cgroup_member_find(cg, member_id);
	if (!existing) {
		if (same_id)
			return epoch_valid(same_id, a, out) ? same_id : NULL;
		return add_member(cg, member_id, out, is_new);
	}
	if (existing->current.member_epoch != CGROUP_LEAVE_STATIC_EPOCH) {
		slog_info("group", "group %s: static member %s with instance id %s cannot join: "
			  "the instance id is owned by member %s", SLOG_STR(group_id),
			  SLOG_STR(member_id), SLOG_STR(a->instance_id), SLOG_STR(existing->id));
		fail(out, KERR_UNRELEASED_INSTANCE_ID,
		     "Static member %.*s with instance id %.*s cannot join the group because the "
		     "instance id is owned by %.*s member.", (int)member_id.len, member_id.ptr,
		     (int)a->instance_id.len, a->instance_id.ptr, (int)existing->id.len,
		     existing->id.ptr);
		return NULL;
	}
	slog_info("group", "group %s: static member with instance id %s rejoins as member %s",
		  SLOG_STR(group_id), SLOG_STR(a->instance_id), SLOG_STR(member_id));
	int16_t err;
	if (same_id == existing) {
		err = rejoin_static_same_id(cg, existing, &out->records);
		if (err != KERR_NONE) {
			fail(out, err, "out of memory");
			return NULL;
		}
		return existing;
	}
	if (same_id) {
		fail(out, KERR_FENCED_INSTANCE_ID,
		     "Static member %.*s with instance id %.*s was fenced by member %.*s.",
		     (int)member_id.len, member_id.ptr, (int)a->instance_id.len, a->instance_id.ptr,
		     (int)existing->id.len, existing->id.ptr);
		return NULL;
	}
	struct cgroup_member *m = add_member(cg, member_id, out, is_new);
	if (!m)
		return NULL;
	err = replace_static(cg, existing, m, &out->records);
	if (err != KERR_NONE) {
		cgroup_member_remove(cg, m);
		*is_new = false;
		fail(out, err, "out of memory replacing the static member");
		return NULL;
	}
	/* Its records are written: it is the member that left, renamed. */
	*is_new = false;
	return m;
}

/* Finds the heartbeat's member, or creates it when it joins; NULL with out's
 * error set. *is_new: a member the group did not have before. */
static struct cgroup_member *resolve_member(struct cgroup *cg, struct kstr group_id,
					    const struct cgroup_heartbeat_args *a, struct kstr member_id,
					    struct cgroup_heartbeat_result *out, bool *is_new)
{
	bool join = a->member_epoch == CGROUP_JOIN_EPOCH;
	*is_new = false;
	if (a->instance_id.len >= 0) {
		if (join)
			return join_static(cg, group_id, a, member_id, out, is_new);
		struct cgroup_member *existing = cgroup_member_find_instance(cg, a->instance_id);
		if (!existing) {
			fail(out, KERR_UNKNOWN_MEMBER_ID, "Instance id %.*s is unknown.",
			     (int)a->instance_id.len, a->instance_id.ptr);
			return NULL;
		}
		if (!kstr_eq(existing->id, member_id)) {
			fail(out, KERR_FENCED_INSTANCE_ID,
			     "Static member %.*s with instance id %.*s was fenced by member %.*s.",
			     (int)member_id.len, member_id.ptr, (int)a->instance_id.len,
			     a->instance_id.ptr, (int)existing->id.len, existing->id.ptr);
			return NULL;
		}
		return epoch_valid(existing, a, out) ? existing : NULL;
	}
	struct cgroup_member *m = cgroup_member_find(cg, member_id);
	if (!m) {
		if (join)
			return add_member(cg, member_id, out, is_new);
		fail(out, KERR_UNKNOWN_MEMBER_ID, "Member %.*s is not a member of group %.*s.",
		     (int)member_id.len, member_id.ptr, (int)group_id.len, group_id.ptr);
		return NULL;
	}
	if (epoch_valid(m, a, out))
		return m;
	if (!join)
		return NULL;
	out->error = KERR_NONE;
	out->message[0] = '\0';
	if (!restart_member(cg, m, &out->records)) {
		fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
		return NULL;
	}
	return m;
}

/* Applies what the heartbeat changes of the member; *names_changed when its
 * subscribed names moved. false when out of memory. */
static bool update_member(struct cgroup *cg, struct cgroup_member *m,
			  const struct cgroup_heartbeat_args *a, bool *changed, bool *names_changed)
{
	*names_changed = false;
	struct kstr *fields[] = { &m->instance_id, &m->rack_id, &m->server_assignor };
	struct kstr given[] = { a->instance_id, a->rack_id, a->server_assignor };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (given[i].len < 0 || (fields[i]->len >= 0 && kstr_eq(*fields[i], given[i])))
			continue;
		if (!kstr_replace(fields[i], given[i]))
			return false;
		*changed = true;
	}
	if (a->rebalance_timeout_ms != -1 && a->rebalance_timeout_ms != m->rebalance_timeout_ms) {
		m->rebalance_timeout_ms = a->rebalance_timeout_ms;
		*changed = true;
	}
	struct kstr *always[] = { &m->client_id, &m->client_host };
	struct kstr sent[] = { a->client_id, a->client_host };
	for (size_t i = 0; i < 2; i++) {
		if (always[i]->len == sent[i].len && kstr_eq(*always[i], sent[i]))
			continue;
		if (!kstr_replace(always[i], sent[i]))
			return false;
		*changed = true;
	}
	if (a->topic_name_count >= 0 && !cgroup_member_names_equal(m, a->topic_names, a->topic_name_count)) {
		if (!cgroup_member_set_names(cg, m, a->topic_names, a->topic_name_count))
			return false;
		*changed = true;
		*names_changed = true;
	}
	return true;
}

/* The assignor most members name, else the broker's default (Kafka's
 * preferred server assignor); ties go to the smaller name. */
static enum assignor_kind preferred_assignor(const struct cgroup *cg, const struct cgroup_settings *s)
{
	int32_t counts[2] = { 0, 0 };
	for (const struct cgroup_member *m = cg->members; m; m = m->next) {
		enum assignor_kind k;
		if (m->server_assignor.len >= 0 && assignor_by_name(m->server_assignor, &k))
			counts[k]++;
	}
	if (counts[ASSIGNOR_UNIFORM] == 0 && counts[ASSIGNOR_RANGE] == 0)
		return s->default_assignor;
	/* "range" < "uniform" */
	return counts[ASSIGNOR_RANGE] >= counts[ASSIGNOR_UNIFORM] ? ASSIGNOR_RANGE : ASSIGNOR_UNIFORM;
}

static int16_t update_target(struct cgroup *cg, struct kstr group_id, const struct cgroup_settings *s,
			     const struct cgroup_topics *topics, int64_t now_ms,
			     struct cgroup_heartbeat_result *out)
{
	bool *changed = calloc(cg->member_count ? cg->member_count : 1, sizeof(*changed));
	if (!changed) {
		fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
		return out->error;
	}
	char err[CGROUP_ASSIGN_ERR_BYTES];
	int16_t rc = cgroup_assign(cg, preferred_assignor(cg, s), topics, cg->group_epoch, changed, err,
				   sizeof(err));
	if (rc != KERR_NONE) {
		slog_error("group", "group %s: no target assignment for epoch %d: %s", SLOG_STR(group_id),
			   cg->group_epoch, err);
		fail(out, rc, "Failed to compute a new target assignment for epoch %d: %s.",
		     cg->group_epoch, err);
		free(changed);
		return rc;
	}
	uint32_t i = 0;
	for (struct cgroup_member *m = cg->members; m; m = m->next, i++)
		if (changed[i])
			record_add(&out->records, CG_RECORD_TARGET_ASSIGNMENT_MEMBER, false, m->id);
	free(changed);
	cg->assignment_timestamp_ms = now_ms;
	record_add(&out->records, CG_RECORD_TARGET_ASSIGNMENT_METADATA, false, NO_MEMBER);
	return KERR_NONE;
}

static int uuid_order(const void *a, const void *b)
{
	return assignor_uuid_compare(*(const struct kuuid *)a, *(const struct kuuid *)b);
}

/* The member's subscribed names that have a topic, as ids in Kafka's order
 * without duplicates, into *ids (malloc'd; NULL with count 0 when none).
 * false when out of memory. */
static bool subscribed_ids(const struct cgroup_member *m, const struct cgroup_topics *topics,
			   struct kuuid **ids, int32_t *count)
{
	*ids = NULL;
	*count = 0;
	if (m->topic_name_count == 0)
		return true;
	struct kuuid *v = malloc((size_t)m->topic_name_count * sizeof(*v));
	if (!v)
		return false;
	int32_t n = 0;
	for (int32_t i = 0; i < m->topic_name_count; i++) {
		struct cgroup_topic t;
		if (topics->by_name(topics->ctx, m->topic_names[i], &t))
			v[n++] = t.id;
	}
	qsort(v, (size_t)n, sizeof(*v), uuid_order);
	int32_t kept = 0;
	for (int32_t i = 0; i < n; i++)
		if (kept == 0 || memcmp(v[kept - 1].b, v[i].b, sizeof(v[i].b)) != 0)
			v[kept++] = v[i];
	*ids = v;
	*count = kept;
	return true;
}

static void reconcile(struct cgroup *cg, struct cgroup_member *m, const struct cgroup_heartbeat_args *a,
		      const struct cgroup_topics *topics, bool enforce, bool *assigned_changed,
		      struct cgroup_heartbeat_result *out)
{
	*assigned_changed = false;
	struct cgroup_reconcile_group g = { .epochs = &cg->epochs, .enforce_subscription = enforce };
	struct kuuid *ids;
	if (!subscribed_ids(m, topics, &ids, &g.subscribed_count)) {
		fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	g.subscribed = ids;
	struct cg_member_assignment next;
	cg_member_assignment_init(&next);
	bool changed = false;
	enum cgroup_reconcile_result r = cgroup_reconcile(&m->current, cg->assignment_epoch, &m->target,
							  a->owned, &g, &next, &changed);
	free(ids);
	if (r == CG_RECONCILE_FENCED) {
		fail(out, KERR_FENCED_MEMBER_EPOCH,
		     "The consumer group member is in an unknown state. The member must abandon all "
		     "its partitions and rejoin.");
	} else if (r != CG_RECONCILE_OK) {
		fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
	} else if (changed) {
		*assigned_changed = !cg_assignment_same_partitions(&m->current.assigned, &next.assigned);
		int16_t err = cgroup_member_set_current(cg, m, &next);
		if (err != KERR_NONE)
			fail(out, err, "The member's new assignment conflicts with another member's.");
		else
			record_add(&out->records, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, false, m->id);
	}
	cg_member_assignment_free(&next);
}

void cgroup_heartbeat(struct cgroup *cg, struct kstr group_id, const struct cgroup_heartbeat_args *a,
		      const struct cgroup_settings *s, const struct cgroup_topics *topics,
		      int64_t now_ms, struct cgroup_heartbeat_result *out)
{
	assert(a->member_epoch >= 0);
	memset(out, 0, sizeof(*out));
	struct kstr member_id = a->member_id;
	char generated[KUUID_TEXT_BYTES];
	if (member_id.len <= 0) {
		if (!random_member_id(generated)) {
			fail(out, KERR_UNKNOWN_SERVER_ERROR, "no member id could be generated");
			return;
		}
		member_id = (struct kstr){ generated, KUUID_TEXT_BYTES - 1 };
	}
	if (cg->member_count >= s->max_size &&
	    (a->member_id.len <= 0 || !cgroup_member_find(cg, a->member_id))) {
		fail(out, KERR_GROUP_MAX_SIZE_REACHED,
		     "The consumer group has reached its maximum capacity of %u members.", s->max_size);
		return;
	}
	bool is_new;
	struct cgroup_member *m = resolve_member(cg, group_id, a, member_id, out, &is_new);
	if (!m)
		return;
	if (is_new)
		slog_info("group", "group %s: member %s joins with the consumer protocol",
			  SLOG_STR(group_id), SLOG_STR(member_id));
	bool member_changed = is_new, names_changed;
	if (!update_member(cg, m, a, &member_changed, &names_changed)) {
		fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	if (member_changed)
		record_add(&out->records, CG_RECORD_MEMBER_METADATA, false, m->id);
	bool bump = cg->group_epoch == 0 || names_changed;
	int64_t hash = cgroup_metadata_hash(cg, topics);
	if (hash != cg->metadata_hash)
		bump = true;
	if (bump) {
		cg->group_epoch++;
		cg->metadata_hash = hash;
		record_add(&out->records, CG_RECORD_METADATA, false, NO_MEMBER);
		slog_info("group", "group %s: group epoch %d", SLOG_STR(group_id), cg->group_epoch);
	}
	if (cg->group_epoch > cg->assignment_epoch &&
	    update_target(cg, group_id, s, topics, now_ms, out) != KERR_NONE)
		return;
	bool assigned_changed;
	reconcile(cg, m, a, topics, names_changed, &assigned_changed, out);
	if (out->error)
		return;
	out->member = m;
	out->member_epoch = m->current.member_epoch;
	bool full = a->member_epoch == CGROUP_JOIN_EPOCH ||
		    (a->rebalance_timeout_ms != -1 &&
		     (a->topic_name_count >= 0 || a->topic_regex.len >= 0) && a->owned);
	out->with_assignment = full || assigned_changed;
	out->revoking = m->current.state == CG_MEMBER_UNREVOKED_PARTITIONS;
}

void cgroup_fence_member(struct cgroup *cg, struct cgroup_member *m,
			 const struct cgroup_topics *topics, struct cgroup_records *recs)
{
	tombstones_of(recs, m->id);
	cgroup_member_remove(cg, m);
	cg->group_epoch++;
	cg->metadata_hash = cgroup_metadata_hash(cg, topics);
	record_add(recs, CG_RECORD_METADATA, false, NO_MEMBER);
}

void cgroup_leave(struct cgroup *cg, struct kstr group_id, const struct cgroup_heartbeat_args *a,
		  const struct cgroup_topics *topics, struct cgroup_heartbeat_result *out)
{
	assert(a->member_epoch == CGROUP_LEAVE_EPOCH || a->member_epoch == CGROUP_LEAVE_STATIC_EPOCH);
	memset(out, 0, sizeof(*out));
	struct cgroup_member *m;
	if (a->instance_id.len < 0) {
		m = cgroup_member_find(cg, a->member_id);
		if (!m) {
			fail(out, KERR_UNKNOWN_MEMBER_ID, "Member %.*s is not a member of group %.*s.",
			     (int)a->member_id.len, a->member_id.ptr, (int)group_id.len, group_id.ptr);
			return;
		}
	} else {
		m = cgroup_member_find_instance(cg, a->instance_id);
		if (!m) {
			fail(out, KERR_UNKNOWN_MEMBER_ID, "Instance id %.*s is unknown.",
			     (int)a->instance_id.len, a->instance_id.ptr);
			return;
		}
		if (!kstr_eq(m->id, a->member_id)) {
			fail(out, KERR_FENCED_INSTANCE_ID,
			     "Static member %.*s with instance id %.*s was fenced by member %.*s.",
			     (int)a->member_id.len, a->member_id.ptr, (int)a->instance_id.len,
			     a->instance_id.ptr, (int)m->id.len, m->id.ptr);
			return;
		}
	}
	out->member_epoch = a->member_epoch;
	if (a->member_epoch == CGROUP_LEAVE_STATIC_EPOCH) {
		/* It keeps its partitions until it returns or its session ends;
		 * what it was revoking is gone with it. */
		struct cg_member_assignment left;
		cg_member_assignment_init(&left);
		if (cg_member_assignment_copy(&left, &m->current) != 0) {
			fail(out, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
			return;
		}
		left.member_epoch = CGROUP_LEAVE_STATIC_EPOCH;
		cg_assignment_clear(&left.pending_revocation);
		int16_t err = cgroup_member_set_current(cg, m, &left);
		cg_member_assignment_free(&left);
		if (err != KERR_NONE) {
			fail(out, err, "out of memory");
			return;
		}
		slog_info("group", "group %s: static member %s with instance id %s left for now",
			  SLOG_STR(group_id), SLOG_STR(m->id), SLOG_STR(m->instance_id));
		record_add(&out->records, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, false, m->id);
		out->member = m;
		return;
	}
	slog_info("group", "group %s: member %s leaves", SLOG_STR(group_id), SLOG_STR(m->id));
	cgroup_fence_member(cg, m, topics, &out->records);
}

void cgroup_heartbeat_result_free(struct cgroup_heartbeat_result *r)
{
	cgroup_records_free(&r->records);
}
