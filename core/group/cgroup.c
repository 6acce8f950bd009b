/* A consumer-protocol group's state kept consistent: its members, the counts
 * of subscribed names, the holders' map, and target assignments computed by
 * the assignors (cgroup.h). */
#include "core/group/cgroup.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/cgroup_hash.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

enum {
	CGROUP_NAMES_INITIAL = 8,
	CGROUP_EPOCHS_ERR_BYTES = 256,
};

int cgroup_init(struct cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
	cg_epochs_init(&cg->epochs);
	return 0;
}

static void member_free(struct cgroup_member *m)
{
	kstr_free(&m->id);
	kstr_free(&m->instance_id);
	kstr_free(&m->rack_id);
	kstr_free(&m->client_id);
	kstr_free(&m->client_host);
	kstr_free(&m->server_assignor);
	kstr_free(&m->topic_regex);
	for (int32_t i = 0; i < m->topic_name_count; i++)
		kstr_free(&m->topic_names[i]);
	free(m->topic_names);
	cg_member_assignment_free(&m->current);
	cg_assignment_free(&m->target);
	free(m);
}

void cgroup_free(struct cgroup *cg)
{
	struct cgroup_member *m = cg->members;
	while (m) {
		struct cgroup_member *next = m->next;
		if (cg->on_member_free)
			cg->on_member_free(m);
		member_free(m);
		m = next;
	}
	for (int32_t i = 0; i < cg->name_count; i++)
		kstr_free(&cg->names[i].name);
	free(cg->names);
	cg_epochs_free(&cg->epochs);
	memset(cg, 0, sizeof(*cg));
}

struct cgroup_member *cgroup_member_find(const struct cgroup *cg, struct kstr id)
{
	for (struct cgroup_member *m = cg->members; m; m = m->next)
		if (kstr_eq(m->id, id))
			return m;
	return NULL;
}

struct cgroup_member *cgroup_member_find_instance(const struct cgroup *cg, struct kstr instance_id)
{
	if (instance_id.len < 0)
		return NULL;
	for (struct cgroup_member *m = cg->members; m; m = m->next)
		if (m->instance_id.len >= 0 && kstr_eq(m->instance_id, instance_id))
			return m;
	return NULL;
}

struct cgroup_member *cgroup_member_add(struct cgroup *cg, struct kstr id)
{
	assert(id.len > 0 && !cgroup_member_find(cg, id));
	struct cgroup_member *m = calloc(1, sizeof(*m));
	if (!m || !kstr_copy(&m->id, id)) {
		free(m);
		return NULL;
	}
	m->group = cg;
	m->owner = cg->next_owner++;
	m->instance_id = m->rack_id = m->server_assignor = m->topic_regex = (struct kstr){ NULL, -1 };
	m->client_id = m->client_host = (struct kstr){ NULL, -1 };
	cg_member_assignment_init(&m->current);
	cg_assignment_init(&m->target);
	io_timer_init(&m->session_timer);
	io_timer_init(&m->rebalance_timer);
	struct cgroup_member **tail = &cg->members;
	while (*tail)
		tail = &(*tail)->next;
	*tail = m;
	cg->member_count++;
	return m;
}

static struct cgroup_name_count *name_find(struct cgroup *cg, struct kstr name)
{
	for (int32_t i = 0; i < cg->name_count; i++)
		if (kstr_eq(cg->names[i].name, name))
			return &cg->names[i];
	return NULL;
}

/* Counts `delta` more subscribers of the name; a name nobody subscribes to
 * leaves the table. false when out of memory (nothing changed). */
static bool name_count_add(struct cgroup *cg, struct kstr name, int32_t delta)
{
	struct cgroup_name_count *n = name_find(cg, name);
	if (n) {
		n->count += delta;
		assert(n->count >= 0);
		if (n->count == 0) {
			kstr_free(&n->name);
			*n = cg->names[--cg->name_count];
		}
		return true;
	}
	assert(delta > 0);
	if (cg->name_count == cg->name_cap) {
		int32_t cap = cg->name_cap ? cg->name_cap * 2 : CGROUP_NAMES_INITIAL;
		struct cgroup_name_count *grown = realloc(cg->names, (size_t)cap * sizeof(*grown));
		if (!grown)
			return false;
		cg->names = grown;
		cg->name_cap = cap;
	}
	n = &cg->names[cg->name_count];
	if (!kstr_copy(&n->name, name))
		return false;
	n->count = delta;
	cg->name_count++;
	return true;
}

/* Whether names[i] appeared before index i (a member's list counts each
 * name once, as Kafka's set does). */
static bool name_seen_before(const struct kstr *names, int32_t i)
{
	for (int32_t k = 0; k < i; k++)
		if (kstr_eq(names[k], names[i]))
			return true;
	return false;
}

static void names_uncount(struct cgroup *cg, const struct kstr *names, int32_t count)
{
	for (int32_t i = 0; i < count; i++)
		if (!name_seen_before(names, i)) {
			bool ok = name_count_add(cg, names[i], -1);
			assert(ok);
			(void)ok;
		}
}

bool cgroup_member_set_names(struct cgroup *cg, struct cgroup_member *m, const struct kstr *names,
			     int32_t count)
{
	assert(count >= 0 && count <= CGROUP_SUBSCRIBED_NAMES_MAX);
	struct kstr *copy = count ? calloc((size_t)count, sizeof(*copy)) : NULL;
	if (count && !copy)
		return false;
	int32_t copied = 0;
	int32_t counted = 0;
	for (; copied < count; copied++)
		if (!kstr_copy(&copy[copied], names[copied]))
			goto fail;
	for (; counted < count; counted++)
		if (!name_seen_before(copy, counted) && !name_count_add(cg, copy[counted], 1))
			goto fail;
	names_uncount(cg, m->topic_names, m->topic_name_count);
	for (int32_t i = 0; i < m->topic_name_count; i++)
		kstr_free(&m->topic_names[i]);
	free(m->topic_names);
	m->topic_names = copy;
	m->topic_name_count = count;
	return true;
fail:
	names_uncount(cg, copy, counted);
	for (int32_t i = 0; i < copied; i++)
		kstr_free(&copy[i]);
	free(copy);
	return false;
}

bool cgroup_member_names_equal(const struct cgroup_member *m, const struct kstr *names, int32_t count)
{
	for (int32_t i = 0; i < count; i++) {
		bool found = false;
		for (int32_t k = 0; k < m->topic_name_count && !found; k++)
			found = kstr_eq(names[i], m->topic_names[k]);
		if (!found)
			return false;
	}
	for (int32_t k = 0; k < m->topic_name_count; k++) {
		bool found = false;
		for (int32_t i = 0; i < count && !found; i++)
			found = kstr_eq(names[i], m->topic_names[k]);
		if (!found)
			return false;
	}
	return true;
}

void cgroup_member_remove(struct cgroup *cg, struct cgroup_member *m)
{
	assert(m->group == cg);
	char err[CGROUP_EPOCHS_ERR_BYTES];
	if (cg_epochs_update_member(&cg->epochs, m->owner, &m->current, NULL, err, sizeof(err)) !=
	    CG_EPOCHS_OK) {
		/* The map and the member's assignment are kept together by
		 * cgroup_member_set_current; a mismatch is our bug. */
		slog_error("group", "member %s leaves with partitions the holders' map disagrees on: %s",
			   SLOG_STR(m->id), err);
		abort();
	}
	names_uncount(cg, m->topic_names, m->topic_name_count);
	struct cgroup_member **p = &cg->members;
	while (*p != m)
		p = &(*p)->next;
	*p = m->next;
	cg->member_count--;
	if (cg->on_member_free)
		cg->on_member_free(m);
	member_free(m);
}

int16_t cgroup_member_set_current(struct cgroup *cg, struct cgroup_member *m,
				  const struct cg_member_assignment *next)
{
	assert(m->group == cg);
	struct cg_member_assignment copy;
	cg_member_assignment_init(&copy);
	if (cg_member_assignment_copy(&copy, next) != 0)
		return KERR_UNKNOWN_SERVER_ERROR;
	char err[CGROUP_EPOCHS_ERR_BYTES];
	enum cg_epochs_result r =
		cg_epochs_update_member(&cg->epochs, m->owner, &m->current, &copy, err, sizeof(err));
	if (r != CG_EPOCHS_OK) {
		if (r == CG_EPOCHS_CONFLICT)
			slog_error("group", "member %s: its new assignment breaks single ownership: %s",
				   SLOG_STR(m->id), err);
		cg_member_assignment_free(&copy);
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	cg_member_assignment_free(&m->current);
	m->current = copy;
	return KERR_NONE;
}

enum assignor_subscription cgroup_subscription_type(const struct cgroup *cg)
{
	int32_t *counts = cg->name_count ? malloc((size_t)cg->name_count * sizeof(*counts)) : NULL;
	if (cg->name_count && !counts) {
		/* Heterogeneous is correct for any subscriptions, only slower. */
		return ASSIGNOR_HETEROGENEOUS;
	}
	for (int32_t i = 0; i < cg->name_count; i++)
		counts[i] = cg->names[i].count;
	enum assignor_subscription t =
		assignor_subscription_type(counts, cg->name_count, (int32_t)cg->member_count);
	free(counts);
	return t;
}

int64_t cgroup_metadata_hash(const struct cgroup *cg, const struct cgroup_topics *topics)
{
	if (cg->name_count == 0)
		return 0;
	struct kstr *names = malloc((size_t)cg->name_count * sizeof(*names));
	int64_t *hashes = malloc((size_t)cg->name_count * sizeof(*hashes));
	int64_t h = CGROUP_HASH_UNKNOWN;
	if (names && hashes) {
		/* Names without a topic are left out, as Kafka's are. */
		int32_t n = 0;
		for (int32_t i = 0; i < cg->name_count; i++) {
			struct cgroup_topic t;
			if (!topics->by_name(topics->ctx, cg->names[i].name, &t))
				continue;
			names[n] = cg->names[i].name;
			hashes[n++] = cgroup_topic_hash(t.id, t.name, t.partition_count, NULL);
		}
		h = cgroup_group_hash(names, hashes, n);
	}
	free(names);
	free(hashes);
	return h;
}

/* The assignors' view of one member: its subscribed topics that exist, its
 * current target by topic. Arrays come from the caller's stores. */
struct assign_input {
	struct assignor_member *members;
	struct kuuid *topic_ids;
	struct assignor_topic_partitions *current;
	int32_t *partitions;
	struct assignor_topic *topics;
	int32_t topic_count;
};

static void assign_input_free(struct assign_input *in)
{
	free(in->members);
	free(in->topic_ids);
	free(in->current);
	free(in->partitions);
	free(in->topics);
}

static bool topic_listed(const struct assign_input *in, struct kuuid id)
{
	for (int32_t i = 0; i < in->topic_count; i++)
		if (memcmp(in->topics[i].topic_id.b, id.b, sizeof(id.b)) == 0)
			return true;
	return false;
}

/* Fills in; false when out of memory. */
static bool assign_input_build(struct assign_input *in, const struct cgroup *cg,
			       const struct cgroup_topics *topics)
{
	size_t names = 0;
	size_t targeted = 0;
	for (const struct cgroup_member *m = cg->members; m; m = m->next) {
		names += (size_t)m->topic_name_count;
		targeted += (size_t)m->target.count;
	}
	size_t members = cg->member_count;
	in->members = calloc(members ? members : 1, sizeof(*in->members));
	in->topic_ids = calloc(names ? names : 1, sizeof(*in->topic_ids));
	in->current = calloc(targeted ? targeted : 1, sizeof(*in->current));
	in->partitions = calloc(targeted ? targeted : 1, sizeof(*in->partitions));
	in->topics = calloc(cg->name_count ? (size_t)cg->name_count : 1, sizeof(*in->topics));
	if (!in->members || !in->topic_ids || !in->current || !in->partitions || !in->topics)
		return false;
	for (int32_t i = 0; i < cg->name_count; i++) {
		struct cgroup_topic t;
		if (topics->by_name(topics->ctx, cg->names[i].name, &t) && !topic_listed(in, t.id))
			in->topics[in->topic_count++] =
				(struct assignor_topic){ t.id, t.partition_count };
	}
	size_t next_id = 0, next_tp = 0, next_part = 0;
	size_t k = 0;
	for (const struct cgroup_member *m = cg->members; m; m = m->next, k++) {
		struct assignor_member *am = &in->members[k];
		am->member_id = m->id;
		am->instance_id = m->instance_id;
		am->topic_ids = &in->topic_ids[next_id];
		for (int32_t i = 0; i < m->topic_name_count; i++) {
			struct cgroup_topic t;
			if (topics->by_name(topics->ctx, m->topic_names[i], &t))
				in->topic_ids[next_id + (size_t)am->topic_count++] = t.id;
		}
		next_id += (size_t)am->topic_count;
		am->current = &in->current[next_tp];
		for (int32_t i = 0; i < m->target.count; i++) {
			const struct cg_tp *tp = &m->target.tps[i];
			/* Topics gone from the metadata leave the current target. */
			if (!topic_listed(in, tp->topic_id))
				continue;
			if (am->current_count == 0 ||
			    memcmp(in->current[next_tp + (size_t)am->current_count - 1].topic_id.b,
				   tp->topic_id.b, sizeof(tp->topic_id.b)) != 0) {
				in->current[next_tp + (size_t)am->current_count++] =
					(struct assignor_topic_partitions){ tp->topic_id,
									    &in->partitions[next_part], 0 };
			}
			struct assignor_topic_partitions *cur =
				&in->current[next_tp + (size_t)am->current_count - 1];
			in->partitions[next_part++] = tp->partition;
			cur->partition_count++;
		}
		next_tp += (size_t)am->current_count;
	}
	return true;
}

int16_t cgroup_assign(struct cgroup *cg, enum assignor_kind kind, const struct cgroup_topics *topics,
		      int32_t epoch, bool *changed, char *err, size_t err_len)
{
	assert(epoch >= cg->assignment_epoch);
	struct assign_input in = { 0 };
	struct assignor_result result = { 0 };
	struct cg_assignment *targets = NULL;
	int16_t rc = KERR_UNKNOWN_SERVER_ERROR;
	if (!assign_input_build(&in, cg, topics)) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	struct assignor_spec spec = {
		.subscription = cgroup_subscription_type(cg),
		.members = in.members,
		.member_count = (int32_t)cg->member_count,
		.topics = in.topics,
		.topic_count = in.topic_count,
	};
	rc = assignor_assign(kind, &spec, &result, err, err_len);
	if (rc != KERR_NONE)
		goto out;
	assert(result.member_count == (int32_t)cg->member_count);
	targets = calloc(cg->member_count ? cg->member_count : 1, sizeof(*targets));
	if (!targets) {
		snprintf(err, err_len, "out of memory");
		rc = KERR_UNKNOWN_SERVER_ERROR;
		goto out;
	}
	for (uint32_t i = 0; i < cg->member_count; i++) {
		cg_assignment_init(&targets[i]);
		if (cg_assignment_from_result(&targets[i], &result.members[i]) != 0) {
			snprintf(err, err_len, "out of memory");
			rc = KERR_UNKNOWN_SERVER_ERROR;
			goto out;
		}
	}
	uint32_t i = 0;
	for (struct cgroup_member *m = cg->members; m; m = m->next, i++) {
		changed[i] = !cg_assignment_same_partitions(&m->target, &targets[i]);
		cg_assignment_free(&m->target);
		m->target = targets[i];
		cg_assignment_init(&targets[i]);
	}
	cg->assignment_epoch = epoch;
	rc = KERR_NONE;
out:
	if (targets)
		for (uint32_t k = 0; k < cg->member_count; k++)
			cg_assignment_free(&targets[k]);
	free(targets);
	assignor_result_free(&result);
	assign_input_free(&in);
	return rc;
}
