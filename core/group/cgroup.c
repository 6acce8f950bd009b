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

/* Names in byte order (then length): members' lists and the group's table
 * are kept sorted and without duplicates, so that comparing and updating
 * them is a merge, not a search per name (a member may name up to
 * CGROUP_SUBSCRIBED_NAMES_MAX topics). */
static int name_order(struct kstr a, struct kstr b)
{
	int32_t n = a.len < b.len ? a.len : b.len;
	int c = n > 0 ? memcmp(a.ptr, b.ptr, (size_t)n) : 0;
	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int name_qsort_order(const void *a, const void *b)
{
	return name_order(*(const struct kstr *)a, *(const struct kstr *)b);
}

/* Sorts v and drops repeats (Kafka's subscription is a set); the new
 * count. The dropped entries are left past it, for an owner to free. */
static int32_t names_sort_unique(struct kstr *v, int32_t n)
{
	qsort(v, (size_t)n, sizeof(*v), name_qsort_order);
	int32_t kept = 0;
	for (int32_t i = 0; i < n; i++) {
		if (kept && name_order(v[kept - 1], v[i]) == 0)
			continue;
		struct kstr t = v[kept];
		v[kept++] = v[i];
		v[i] = t;
	}
	return kept;
}

/* The group's table after a member moved from old to new (both sorted and
 * unique): one merge of the three lists into a fresh table. false when out
 * of memory (the table is unchanged). */
static bool names_recount(struct cgroup *cg, const struct kstr *old, int32_t old_n,
			  const struct kstr *new, int32_t new_n)
{
	int32_t cap = cg->name_count + new_n;
	struct cgroup_name_count *out = cap ? calloc((size_t)cap, sizeof(*out)) : NULL;
	if (cap && !out)
		return false;
	int32_t n = 0, t = 0, o = 0, w = 0;
	while (t < cg->name_count || w < new_n) {
		struct kstr next = t < cg->name_count ? cg->names[t].name : new[w];
		if (w < new_n && name_order(new[w], next) < 0)
			next = new[w];
		int32_t count = 0;
		if (t < cg->name_count && name_order(cg->names[t].name, next) == 0)
			count = cg->names[t++].count;
		while (o < old_n && name_order(old[o], next) < 0)
			o++;
		if (o < old_n && name_order(old[o], next) == 0) {
			count--;
			o++;
		}
		if (w < new_n && name_order(new[w], next) == 0) {
			count++;
			w++;
		}
		assert(count >= 0);
		if (count == 0)
			continue;
		if (!kstr_copy(&out[n].name, next)) {
			for (int32_t i = 0; i < n; i++)
				kstr_free(&out[i].name);
			free(out);
			return false;
		}
		out[n++].count = count;
	}
	for (int32_t i = 0; i < cg->name_count; i++)
		kstr_free(&cg->names[i].name);
	free(cg->names);
	cg->names = out;
	cg->name_count = n;
	cg->hash_valid = false;
	return true;
}

bool cgroup_member_set_names(struct cgroup *cg, struct cgroup_member *m, const struct kstr *names,
			     int32_t count)
{
	assert(count >= 0 && count <= CGROUP_SUBSCRIBED_NAMES_MAX);
	struct kstr *copy = count ? calloc((size_t)count, sizeof(*copy)) : NULL;
	if (count && !copy)
		return false;
	int32_t copied = 0;
	for (; copied < count; copied++)
		if (!kstr_copy(&copy[copied], names[copied]))
			break;
	int32_t unique = copied == count ? names_sort_unique(copy, count) : 0;
	if (copied < count ||
	    !names_recount(cg, m->topic_names, m->topic_name_count, copy, unique)) {
		for (int32_t i = 0; i < copied; i++)
			kstr_free(&copy[i]);
		free(copy);
		return false;
	}
	for (int32_t i = unique; i < count; i++)
		kstr_free(&copy[i]);
	for (int32_t i = 0; i < m->topic_name_count; i++)
		kstr_free(&m->topic_names[i]);
	free(m->topic_names);
	m->topic_names = copy;
	m->topic_name_count = unique;
	return true;
}

bool cgroup_member_names_equal(const struct cgroup_member *m, const struct kstr *names, int32_t count)
{
	if (count < m->topic_name_count)
		return false;
	struct kstr *v = count ? malloc((size_t)count * sizeof(*v)) : NULL;
	if (count && !v)
		return false; /* unequal: the caller's update then reports the shortage */
	if (count)
		memcpy(v, names, (size_t)count * sizeof(*v));
	int32_t n = names_sort_unique(v, count);
	bool equal = n == m->topic_name_count;
	for (int32_t i = 0; equal && i < n; i++)
		equal = name_order(v[i], m->topic_names[i]) == 0;
	free(v);
	return equal;
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
	bool recounted = names_recount(cg, m->topic_names, m->topic_name_count, NULL, 0);
	/* Without memory for the new table the counts of this member's names
	 * stay one too high: the assignors then see a heterogeneous group,
	 * which is correct for any subscriptions, only slower. */
	if (!recounted)
		slog_error("group", "member %s: out of memory dropping its subscription from the "
			   "group's counts", SLOG_STR(m->id));
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

int64_t cgroup_metadata_hash(struct cgroup *cg, const struct cgroup_topics *topics)
{
	if (cg->hash_valid && topics->generation && topics->generation == cg->hash_generation)
		return cg->hash_cached;
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
	cg->hash_cached = h;
	cg->hash_generation = topics->generation;
	cg->hash_valid = h != CGROUP_HASH_UNKNOWN;
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

static int topic_id_order(const void *a, const void *b)
{
	return memcmp(((const struct assignor_topic *)a)->topic_id.b,
		      ((const struct assignor_topic *)b)->topic_id.b, sizeof(struct kuuid));
}

/* in->topics is sorted by id once built. */
static bool topic_listed(const struct assign_input *in, struct kuuid id)
{
	struct assignor_topic key = { .topic_id = id };
	return bsearch(&key, in->topics, (size_t)in->topic_count, sizeof(key), topic_id_order);
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
		/* The names are distinct, so are their topics. */
		if (topics->by_name(topics->ctx, cg->names[i].name, &t))
			in->topics[in->topic_count++] =
				(struct assignor_topic){ t.id, t.partition_count };
	}
	qsort(in->topics, (size_t)in->topic_count, sizeof(*in->topics), topic_id_order);
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
