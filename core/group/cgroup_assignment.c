/* The partition sets of consumer-protocol members (cgroup_assignment.h):
 * sorted arrays of (topic id, partition, epoch), merged in one pass for the
 * set operations, searched by bisection, read from and written to the
 * records' per-topic form. */
#include "core/group/cgroup_assignment.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/assignor_internal.h"

void cg_assignment_init(struct cg_assignment *a)
{
	assert(a);
	a->tps = NULL;
	a->count = 0;
	a->cap = 0;
}

void cg_assignment_free(struct cg_assignment *a)
{
	assert(a);
	free(a->tps);
	cg_assignment_init(a);
}

void cg_assignment_clear(struct cg_assignment *a)
{
	assert(a);
	assert(a->count >= 0 && a->count <= a->cap);
	a->count = 0;
}

int cg_tp_compare(const struct cg_tp *a, const struct cg_tp *b)
{
	int c = assignor_uuid_compare(a->topic_id, b->topic_id);
	if (c != 0)
		return c;
	return a->partition < b->partition ? -1 : a->partition > b->partition;
}

/* Room for at least n entries; the contents are kept. */
static int reserve(struct cg_assignment *a, int64_t n)
{
	assert(n >= 0);
	if (n <= a->cap)
		return 0;
	if (n > CG_ASSIGNMENT_PARTITIONS_MAX)
		return -1;
	int64_t cap = a->cap > 0 ? a->cap : 8;
	while (cap < n)
		cap *= 2;
	if (cap > CG_ASSIGNMENT_PARTITIONS_MAX)
		cap = CG_ASSIGNMENT_PARTITIONS_MAX;
	struct cg_tp *p = realloc(a->tps, (size_t)cap * sizeof(*p));
	if (!p)
		return -1;
	a->tps = p;
	a->cap = (int32_t)cap;
	return 0;
}

/* Appends an entry that sorts after every one already there. */
static void push(struct cg_assignment *a, const struct cg_tp *tp)
{
	assert(a->count < a->cap);
	assert(a->count == 0 || cg_tp_compare(&a->tps[a->count - 1], tp) < 0);
	a->tps[a->count++] = *tp;
}

/* Fails with the output emptied, as the header promises. */
static int fail(struct cg_assignment *out)
{
	cg_assignment_clear(out);
	return -1;
}

int cg_assignment_copy(struct cg_assignment *dst, const struct cg_assignment *src)
{
	assert(dst && src && dst != src);
	cg_assignment_clear(dst);
	if (reserve(dst, src->count) < 0)
		return -1;
	if (src->count > 0)
		memcpy(dst->tps, src->tps, (size_t)src->count * sizeof(*src->tps));
	dst->count = src->count;
	return 0;
}

/* Index of the first entry not below key. */
static int32_t lower_bound(const struct cg_assignment *a, const struct cg_tp *key)
{
	int32_t lo = 0, hi = a->count;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		if (cg_tp_compare(&a->tps[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int cg_assignment_insert(struct cg_assignment *a, struct kuuid topic_id, int32_t partition,
			 int32_t epoch)
{
	assert(a);
	assert(partition >= 0);
	struct cg_tp key = { .topic_id = topic_id, .partition = partition, .epoch = epoch };
	int32_t i = lower_bound(a, &key);
	if (i < a->count && cg_tp_compare(&a->tps[i], &key) == 0) {
		a->tps[i].epoch = epoch;
		return 0;
	}
	if (reserve(a, (int64_t)a->count + 1) < 0)
		return -1;
	memmove(a->tps + i + 1, a->tps + i, (size_t)(a->count - i) * sizeof(*a->tps));
	a->tps[i] = key;
	a->count++;
	return 0;
}

static int qsort_tp(const void *x, const void *y)
{
	return cg_tp_compare(x, y);
}

/* Sorts out's entries; returns how many duplicates were merged away. */
static int32_t sort_and_merge(struct cg_assignment *out)
{
	if (out->count > 1)
		qsort(out->tps, (size_t)out->count, sizeof(*out->tps), qsort_tp);
	int32_t w = 0, merged = 0;
	for (int32_t r = 0; r < out->count; r++) {
		if (w > 0 && cg_tp_compare(&out->tps[w - 1], &out->tps[r]) == 0) {
			merged++;
			continue;
		}
		out->tps[w++] = out->tps[r];
	}
	out->count = w;
	return merged;
}

/* Duplicates keep the first one's epoch: after the sort merges them, the
 * input is walked backwards so that the earliest occurrence writes last. */
int cg_assignment_from_unsorted(struct cg_assignment *out, const struct cg_tp *tps, int32_t n)
{
	assert(out && n >= 0 && (n == 0 || tps));
	cg_assignment_clear(out);
	if (reserve(out, n) < 0)
		return -1;
	for (int32_t i = 0; i < n; i++)
		if (tps[i].partition >= 0)
			out->tps[out->count++] = tps[i];
	sort_and_merge(out);
	for (int32_t i = n - 1; i >= 0; i--) {
		if (tps[i].partition < 0)
			continue;
		int32_t j = lower_bound(out, &tps[i]);
		assert(j < out->count);
		out->tps[j].epoch = tps[i].epoch;
	}
	return 0;
}

int cg_assignment_from_result(struct cg_assignment *out, const struct assignor_member_result *r)
{
	assert(out && r);
	assert(r->topic_count >= 0 && r->partition_count >= 0);
	cg_assignment_clear(out);
	if (reserve(out, r->partition_count) < 0)
		return -1;
	for (int32_t t = 0; t < r->topic_count; t++) {
		const struct assignor_partitions *ap = &r->topics[t];
		for (int32_t i = 0; i < ap->partition_count; i++) {
			struct cg_tp tp = { ap->topic_id, ap->partitions[i], CG_EPOCH_NONE };
			push(out, &tp);
		}
	}
	assert(out->count == r->partition_count);
	return 0;
}

/* The checks of one record topic that need no sorting. */
static const char *record_topic_problem(const struct cg_topic_partitions *t, int64_t total)
{
	if (t->partition_count < 0 || t->epoch_count < 0)
		return "negative array length";
	assert(t->partition_count == 0 || t->partitions);
	assert(t->epoch_count == 0 || t->assignment_epochs);
	if (total + t->partition_count > CG_ASSIGNMENT_PARTITIONS_MAX)
		return "too many partitions";
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i] < 0)
			return "negative partition";
	return NULL;
}

int cg_topic_id_compare(const void *x, const void *y)
{
	return assignor_uuid_compare(*(const struct kuuid *)x, *(const struct kuuid *)y);
}

/* A topic listed twice with disjoint partitions would pass the partition
 * check: the ids are sorted apart and compared neighbour to neighbour. */
static enum cg_assignment_load duplicate_topic(const struct cg_topic_partitions *topics,
					       int32_t topic_count, const char **reason)
{
	if (topic_count < 2)
		return CG_LOAD_OK;
	struct kuuid *ids = malloc((size_t)topic_count * sizeof(*ids));
	if (!ids)
		return CG_LOAD_NOMEM;
	for (int32_t t = 0; t < topic_count; t++)
		ids[t] = topics[t].topic_id;
	qsort(ids, (size_t)topic_count, sizeof(*ids), cg_topic_id_compare);
	enum cg_assignment_load r = CG_LOAD_OK;
	for (int32_t t = 1; t < topic_count && r == CG_LOAD_OK; t++)
		if (memcmp(ids[t - 1].b, ids[t].b, 16) == 0) {
			*reason = "duplicate topic";
			r = CG_LOAD_INVALID;
		}
	free(ids);
	return r;
}

enum cg_assignment_load cg_assignment_from_records(struct cg_assignment *out,
						   const struct cg_topic_partitions *topics,
						   int32_t topic_count, int32_t default_epoch,
						   bool *epochs_mismatch, const char **reason)
{
	assert(out && reason && epochs_mismatch);
	assert(topic_count >= 0 && (topic_count == 0 || topics));
	cg_assignment_clear(out);
	*epochs_mismatch = false;
	int32_t fallback = default_epoch < 0 ? 0 : default_epoch;
	int64_t total = 0;
	for (int32_t t = 0; t < topic_count; t++) {
		*reason = record_topic_problem(&topics[t], total);
		if (*reason)
			return CG_LOAD_INVALID;
		total += topics[t].partition_count;
	}
	if (reserve(out, total) < 0)
		return CG_LOAD_NOMEM;
	for (int32_t t = 0; t < topic_count; t++) {
		const struct cg_topic_partitions *tp = &topics[t];
		bool own = tp->epoch_count == tp->partition_count;
		if (tp->epoch_count != 0 && !own)
			*epochs_mismatch = true;
		for (int32_t i = 0; i < tp->partition_count; i++) {
			struct cg_tp e = { tp->topic_id, tp->partitions[i],
					   own ? tp->assignment_epochs[i] : fallback };
			out->tps[out->count++] = e;
		}
	}
	enum cg_assignment_load dup = duplicate_topic(topics, topic_count, reason);
	if (dup != CG_LOAD_OK) {
		cg_assignment_clear(out);
		return dup;
	}
	if (sort_and_merge(out) > 0) {
		*reason = "duplicate partition";
		cg_assignment_clear(out);
		return CG_LOAD_INVALID;
	}
	return CG_LOAD_OK;
}

static bool same_topic(const struct cg_tp *a, const struct cg_tp *b)
{
	return memcmp(a->topic_id.b, b->topic_id.b, 16) == 0;
}

int cg_assignment_to_records(const struct cg_assignment *a, bool with_epochs, struct arena *ar,
			     struct cg_topic_partitions **topics, int32_t *topic_count)
{
	assert(a && ar && topics && topic_count);
	int32_t n = 0;
	for (int32_t i = 0; i < a->count; i++)
		if (i == 0 || !same_topic(&a->tps[i - 1], &a->tps[i]))
			n++;
	*topics = NULL;
	*topic_count = 0;
	if (n == 0)
		return 0;
	struct cg_topic_partitions *out = arena_calloc(ar, (size_t)n, sizeof(*out));
	int32_t *parts = arena_calloc(ar, (size_t)a->count, sizeof(int32_t));
	int32_t *epochs = with_epochs ? arena_calloc(ar, (size_t)a->count, sizeof(int32_t)) : NULL;
	if (!out || !parts || (with_epochs && !epochs))
		return -1;
	int32_t t = -1;
	for (int32_t i = 0; i < a->count; i++) {
		const struct cg_tp *e = &a->tps[i];
		if (i == 0 || !same_topic(&a->tps[i - 1], e)) {
			t++;
			out[t].topic_id = e->topic_id;
			out[t].partitions = parts + i;
			out[t].assignment_epochs = with_epochs ? epochs + i : NULL;
		}
		parts[i] = e->partition;
		out[t].partition_count++;
		if (with_epochs) {
			assert(e->epoch != CG_EPOCH_NONE);
			epochs[i] = e->epoch;
			out[t].epoch_count++;
		}
	}
	assert(t + 1 == n);
	*topics = out;
	*topic_count = n;
	return 0;
}

bool cg_assignment_equal(const struct cg_assignment *a, const struct cg_assignment *b)
{
	if (!cg_assignment_same_partitions(a, b))
		return false;
	for (int32_t i = 0; i < a->count; i++)
		if (a->tps[i].epoch != b->tps[i].epoch)
			return false;
	return true;
}

bool cg_assignment_same_partitions(const struct cg_assignment *a, const struct cg_assignment *b)
{
	assert(a && b);
	if (a->count != b->count)
		return false;
	for (int32_t i = 0; i < a->count; i++)
		if (cg_tp_compare(&a->tps[i], &b->tps[i]) != 0)
			return false;
	return true;
}

const struct cg_tp *cg_assignment_find(const struct cg_assignment *a, struct kuuid topic_id,
				       int32_t partition)
{
	assert(a);
	struct cg_tp key = { .topic_id = topic_id, .partition = partition };
	int32_t i = lower_bound(a, &key);
	if (i < a->count && cg_tp_compare(&a->tps[i], &key) == 0)
		return &a->tps[i];
	return NULL;
}

bool cg_assignment_contains(const struct cg_assignment *a, struct kuuid topic_id, int32_t partition)
{
	return cg_assignment_find(a, topic_id, partition) != NULL;
}

bool cg_assignment_has_topic(const struct cg_assignment *a, struct kuuid topic_id)
{
	assert(a);
	struct cg_tp key = { .topic_id = topic_id, .partition = INT32_MIN };
	int32_t i = lower_bound(a, &key);
	return i < a->count && same_topic(&a->tps[i], &key);
}

int32_t cg_assignment_count(const struct cg_assignment *a)
{
	assert(a && a->count >= 0);
	return a->count;
}

bool cg_assignment_intersects(const struct cg_assignment *a, const struct cg_assignment *b)
{
	assert(a && b);
	int32_t i = 0, j = 0;
	while (i < a->count && j < b->count) {
		int c = cg_tp_compare(&a->tps[i], &b->tps[j]);
		if (c == 0)
			return true;
		if (c < 0)
			i++;
		else
			j++;
	}
	return false;
}

enum merge_op { MERGE_DIFFERENCE, MERGE_INTERSECTION, MERGE_UNION };

/* One pass over both sorted sets. */
static int merge(struct cg_assignment *out, const struct cg_assignment *a,
		 const struct cg_assignment *b, enum merge_op op)
{
	assert(out && a && b && out != a && out != b);
	cg_assignment_clear(out);
	int64_t need = op == MERGE_UNION ? (int64_t)a->count + b->count : a->count;
	if (need > CG_ASSIGNMENT_PARTITIONS_MAX)
		need = CG_ASSIGNMENT_PARTITIONS_MAX;
	if (reserve(out, need) < 0)
		return -1;
	int32_t i = 0, j = 0;
	while (i < a->count || j < b->count) {
		int c = i == a->count ? 1 : j == b->count ? -1 : cg_tp_compare(&a->tps[i], &b->tps[j]);
		const struct cg_tp *take = NULL;
		if (c < 0)
			take = op != MERGE_INTERSECTION ? &a->tps[i] : NULL;
		else if (c > 0)
			take = op == MERGE_UNION ? &b->tps[j] : NULL;
		else
			take = op != MERGE_DIFFERENCE ? &a->tps[i] : NULL;
		if (take) {
			if (out->count == out->cap)
				return fail(out);
			push(out, take);
		}
		i += c <= 0 && i < a->count;
		j += c >= 0 && j < b->count;
	}
	return 0;
}

int cg_assignment_difference(struct cg_assignment *out, const struct cg_assignment *a,
			     const struct cg_assignment *b)
{
	return merge(out, a, b, MERGE_DIFFERENCE);
}

int cg_assignment_intersection(struct cg_assignment *out, const struct cg_assignment *a,
			       const struct cg_assignment *b)
{
	return merge(out, a, b, MERGE_INTERSECTION);
}

int cg_assignment_union(struct cg_assignment *out, const struct cg_assignment *a,
			const struct cg_assignment *b)
{
	return merge(out, a, b, MERGE_UNION);
}

bool cg_assignment_for_each(const struct cg_assignment *a, cg_assignment_visit_fn visit, void *ctx)
{
	assert(a && visit);
	for (int32_t i = 0; i < a->count; i++)
		if (!visit(ctx, &a->tps[i]))
			return false;
	return true;
}

void cg_member_assignment_init(struct cg_member_assignment *m)
{
	assert(m);
	m->member_epoch = 0;
	m->previous_member_epoch = -1;
	m->state = CG_MEMBER_STABLE;
	cg_assignment_init(&m->assigned);
	cg_assignment_init(&m->pending_revocation);
}

void cg_member_assignment_free(struct cg_member_assignment *m)
{
	assert(m);
	cg_assignment_free(&m->assigned);
	cg_assignment_free(&m->pending_revocation);
}

int cg_member_assignment_copy(struct cg_member_assignment *dst,
			      const struct cg_member_assignment *src)
{
	assert(dst && src && dst != src);
	dst->member_epoch = src->member_epoch;
	dst->previous_member_epoch = src->previous_member_epoch;
	dst->state = src->state;
	if (cg_assignment_copy(&dst->assigned, &src->assigned) < 0)
		return -1;
	if (cg_assignment_copy(&dst->pending_revocation, &src->pending_revocation) < 0) {
		cg_assignment_clear(&dst->assigned);
		return -1;
	}
	return 0;
}

bool cg_member_assignment_equal(const struct cg_member_assignment *a,
				const struct cg_member_assignment *b)
{
	assert(a && b);
	return a->member_epoch == b->member_epoch &&
	       a->previous_member_epoch == b->previous_member_epoch && a->state == b->state &&
	       cg_assignment_equal(&a->assigned, &b->assigned) &&
	       cg_assignment_equal(&a->pending_revocation, &b->pending_revocation);
}

enum cg_member_state cg_member_state_from_byte(int8_t b)
{
	switch (b) {
	case CG_MEMBER_STABLE:
	case CG_MEMBER_UNREVOKED_PARTITIONS:
	case CG_MEMBER_UNRELEASED_PARTITIONS:
		return (enum cg_member_state)b;
	default:
		return CG_MEMBER_UNKNOWN;
	}
}

enum cg_assignment_load cg_member_assignment_from_record(struct cg_member_assignment *out,
							 const struct cg_current_assignment_value *v,
							 bool *epochs_mismatch, const char **reason)
{
	assert(out && v && epochs_mismatch && reason);
	bool mismatch_pending = false;
	enum cg_assignment_load r = cg_assignment_from_records(
		&out->assigned, v->assigned, v->assigned_count, v->member_epoch, epochs_mismatch,
		reason);
	if (r == CG_LOAD_OK)
		r = cg_assignment_from_records(&out->pending_revocation, v->pending_revocation,
					       v->pending_revocation_count, v->member_epoch,
					       &mismatch_pending, reason);
	if (r != CG_LOAD_OK) {
		cg_assignment_clear(&out->assigned);
		cg_assignment_clear(&out->pending_revocation);
		return r;
	}
	*epochs_mismatch = *epochs_mismatch || mismatch_pending;
	out->member_epoch = v->member_epoch;
	out->previous_member_epoch = v->previous_member_epoch;
	out->state = cg_member_state_from_byte(v->state);
	return CG_LOAD_OK;
}

int cg_member_assignment_to_record(const struct cg_member_assignment *m, struct arena *ar,
				   struct cg_current_assignment_value *v)
{
	assert(m && ar && v);
	memset(v, 0, sizeof(*v));
	v->member_epoch = m->member_epoch;
	v->previous_member_epoch = m->previous_member_epoch;
	v->state = (int8_t)m->state;
	if (cg_assignment_to_records(&m->assigned, true, ar, &v->assigned, &v->assigned_count) < 0)
		return -1;
	return cg_assignment_to_records(&m->pending_revocation, true, ar, &v->pending_revocation,
					&v->pending_revocation_count);
}
