/* The uniform assignor's two builders, as Kafka 4.4's UniformAssignor runs
 * them: balance first (assignment sizes differ by at most one among members
 * that could take the same partitions), then stickiness (a member keeps what
 * it had while that stays balanced). Both start from the owners assignor.c
 * claimed from the current target assignment. */
#include <stdlib.h>

#include "core/group/assignor_internal.h"

/* Orders the owned slots by owner: held_start[p] .. held_start[p+1] is
 * position p's run in held, ascending; unowned slots go to unassigned. */
static int32_t group_by_owner(const struct assignor_work *w, int32_t *held_start, int32_t *held,
			      int32_t *unassigned)
{
	int32_t unassigned_count = 0;
	for (int32_t s = 0; s < w->slot_count; s++) {
		if (w->owners[s] == ASSIGNOR_NO_OWNER)
			unassigned[unassigned_count++] = s;
		else
			held_start[w->owners[s] + 2]++;
	}
	for (int32_t p = 0; p < w->member_count; p++)
		held_start[p + 2] += held_start[p + 1];
	for (int32_t s = 0; s < w->slot_count; s++)
		if (w->owners[s] != ASSIGNOR_NO_OWNER)
			held[held_start[w->owners[s] + 1]++] = s;
	return unassigned_count;
}

/* Keeps up to quota of the run held[from..to) (one member's slots,
 * ascending), the lowest of each topic first as Kafka walks a topic's set;
 * the rest are appended to unassigned. Returns the quota left. */
static int32_t keep_within_quota(struct assignor_work *w, const int32_t *held, int32_t from,
				 int32_t to, int32_t quota, int32_t *unassigned, int32_t *unassigned_count)
{
	int32_t topic = 0;
	for (int32_t i = from; i < to;) {
		while (w->topics[topic].first_slot + w->topics[topic].partition_count <= held[i])
			topic++;
		int32_t end = w->topics[topic].first_slot + w->topics[topic].partition_count;
		int32_t run_end = i;
		while (run_end < to && held[run_end] < end)
			run_end++;
		int32_t keep = run_end - i <= quota ? run_end - i : quota;
		for (int32_t j = i + keep; j < run_end; j++) {
			w->owners[held[j]] = ASSIGNOR_NO_OWNER;
			unassigned[(*unassigned_count)++] = held[j];
		}
		quota -= keep;
		i = run_end;
	}
	return quota;
}

/* Homogeneous: every member subscribes to the same topics, so the quota is
 * the total over the members; members in position order keep up to their
 * quota, the first ones that already hold more than the minimum keep the
 * extra partition (Kafka 4.1's stability fix, KAFKA-18688), and the freed and
 * unowned partitions go, in slot order, to the members still below quota. */
bool assignor_uniform_homogeneous(struct assignor_work *w)
{
	int32_t members = w->member_count;
	int32_t *unassigned = malloc(((size_t)w->slot_count + 1) * sizeof(*unassigned));
	int32_t *held_start = calloc((size_t)members + 2, sizeof(*held_start));
	int32_t *held = malloc(((size_t)w->slot_count + 1) * sizeof(*held));
	int32_t *unfilled = malloc((2 * (size_t)members + 1) * sizeof(*unfilled));
	bool ok = unassigned && held_start && held && unfilled;
	int32_t unassigned_count = 0, unfilled_count = 0, next = 0;
	if (ok)
		unassigned_count = group_by_owner(w, held_start, held, unassigned);
	int32_t quota_min = w->slot_count / members;
	int32_t extra_left = w->slot_count % members;
	for (int32_t p = 0; ok && p < members; p++) {
		bool extra = extra_left > 0;
		int32_t quota = keep_within_quota(w, held, held_start[p], held_start[p + 1],
						  quota_min + (extra ? 1 : 0), unassigned,
						  &unassigned_count);
		/* The extra slot is left to a later member unless too few remain. */
		if (quota > 0 && extra && members - p > extra_left) {
			quota--;
			extra = false;
		}
		if (quota > 0) {
			unfilled[2 * unfilled_count] = p;
			unfilled[2 * unfilled_count + 1] = quota;
			unfilled_count++;
		}
		if (extra)
			extra_left--;
	}
	for (int32_t u = 0; ok && u < unfilled_count; u++)
		for (int32_t q = 0; q < unfilled[2 * u + 1] && next < unassigned_count; q++)
			w->owners[unassigned[next++]] = unfilled[2 * u];
	free(unassigned);
	free(held_start);
	free(held);
	free(unfilled);
	if (!ok)
		return assignor_fail(w, "out of memory");
	return next == unassigned_count ? true : assignor_fail(w, "Partitions were left unassigned");
}

/* ---- heterogeneous ------------------------------------------------------ */

/* Kafka's MAX_ITERATION_COUNT: passes over the topics in the final balancing,
 * which converges in one pass unless subscriptions overlap partially. */
enum { UNIFORM_BALANCE_PASSES_MAX = 16 };

struct hetero {
	struct assignor_work *w;
	int32_t *sizes;     /* partitions per position */
	int32_t *sorted;    /* the balancer's members */
	int32_t sorted_count;
	uint64_t *keys;     /* sort scratch, one per member */
	int32_t *run_start; /* per position: its partitions in `grouped` */
	int32_t *run_end;
	int32_t *grouped;   /* one topic's partitions, grouped by owner */
	/* [0, least_end): members with the fewest partitions, least_count each
	 * before this round; next_least: the next to receive one. */
	int32_t least_end, least_count, next_least;
	/* [most_start, most_end): members with the most, most_count each;
	 * next_most: the next to give one up. */
	int32_t most_start, most_end, most_count, next_most;
};

static int uint64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts the topic's subscribers by (size, position) and resets both ranges;
 * returns the spread between the most and the least loaded. */
static int32_t balancer_init(struct hetero *h, const struct assignor_group_topic *t)
{
	int32_t n = t->subscriber_count;
	for (int32_t i = 0; i < n; i++)
		h->keys[i] = (uint64_t)h->sizes[t->subscribers[i]] << 32 | (uint32_t)t->subscribers[i];
	qsort(h->keys, (size_t)n, sizeof(*h->keys), uint64_compare);
	for (int32_t i = 0; i < n; i++)
		h->sorted[i] = (int32_t)(h->keys[i] & 0xffffffffu);
	h->sorted_count = n;
	h->least_end = 0;
	h->least_count = h->sizes[h->sorted[0]] - 1;
	h->next_least = 0;
	h->most_start = h->most_end = n;
	h->most_count = h->sizes[h->sorted[n - 1]] + 1;
	h->next_most = n - 1;
	return h->sizes[h->sorted[n - 1]] - h->sizes[h->sorted[0]];
}

/* The least loaded member to give the next partition to: the range is
 * served round-robin; once each had one, its level rises and it takes in the
 * members now at that level. */
static int32_t balancer_next_least(struct hetero *h)
{
	if (h->next_least >= h->least_end) {
		h->least_count++;
		while (h->least_end < h->sorted_count && h->sizes[h->sorted[h->least_end]] == h->least_count)
			h->least_end++;
		h->next_least = 0;
	}
	return h->sorted[h->next_least++];
}

/* The most loaded member to take a partition from, or -1 when none is left;
 * the mirror of balancer_next_least, leftwards. */
static int32_t balancer_next_most(struct hetero *h)
{
	if (h->next_most < h->most_start) {
		/* Emptied by exclusions: restart from the next member's level. */
		if (h->most_end <= h->most_start && h->most_start > 0)
			h->most_count = h->sizes[h->sorted[h->most_start - 1]];
		else
			h->most_count--;
		while (h->most_start > 0 && h->sizes[h->sorted[h->most_start - 1]] == h->most_count)
			h->most_start--;
		h->next_most = h->most_end - 1;
	}
	if (h->next_most < 0)
		return -1;
	return h->sorted[h->next_most--];
}

/* Drops the member balancer_next_most just returned (it has nothing of this
 * topic to give) from the most loaded range. */
static void balancer_exclude_most(struct hetero *h)
{
	int32_t at = h->next_most + 1, last = h->most_end - 1;
	int32_t member = h->sorted[at];
	h->sorted[at] = h->sorted[last];
	h->sorted[last] = member;
	h->most_end--;
}

static bool balancer_balanced(const struct hetero *h)
{
	return h->most_count - h->least_count <= 1;
}

static void hetero_move(struct hetero *h, int32_t slot, int32_t to)
{
	int32_t from = h->w->owners[slot];
	if (from != ASSIGNOR_NO_OWNER)
		h->sizes[from]--;
	h->w->owners[slot] = to;
	h->sizes[to]++;
}

struct topic_rank {
	double partitions_per_subscriber;
	int32_t subscriber_count;
	int32_t topic;
};

/* Kafka's topic order: partitions per subscriber descending (as doubles, as
 * Kafka divides), then fewer subscribers, then topic id (index order). */
static int topic_rank_compare(const void *a, const void *b)
{
	const struct topic_rank *x = a, *y = b;
	if (x->partitions_per_subscriber != y->partitions_per_subscriber)
		return x->partitions_per_subscriber > y->partitions_per_subscriber ? -1 : 1;
	if (x->subscriber_count != y->subscriber_count)
		return x->subscriber_count < y->subscriber_count ? -1 : 1;
	return x->topic < y->topic ? -1 : x->topic > y->topic;
}

/* ranks: the topics that `want` keeps, in Kafka's order; returns how many. */
static int32_t rank_topics(const struct assignor_work *w, struct topic_rank *ranks,
			   bool (*want)(const struct assignor_work *, int32_t))
{
	int32_t n = 0;
	for (int32_t g = 0; g < w->topic_count; g++) {
		if (!want(w, g))
			continue;
		const struct assignor_group_topic *t = &w->topics[g];
		ranks[n].partitions_per_subscriber = (double)t->partition_count / t->subscriber_count;
		ranks[n].subscriber_count = t->subscriber_count;
		ranks[n].topic = g;
		n++;
	}
	qsort(ranks, (size_t)n, sizeof(*ranks), topic_rank_compare);
	return n;
}

static bool has_unowned(const struct assignor_work *w, int32_t g)
{
	const struct assignor_group_topic *t = &w->topics[g];
	for (int32_t p = 0; p < t->partition_count; p++)
		if (w->owners[t->first_slot + p] == ASSIGNOR_NO_OWNER)
			return true;
	return false;
}

static bool has_two_subscribers(const struct assignor_work *w, int32_t g)
{
	return w->topics[g].subscriber_count >= 2;
}

/* The unowned partitions, topic by topic in Kafka's order, each to the
 * topic's least loaded subscriber. */
static void assign_unowned(struct hetero *h, struct topic_rank *ranks)
{
	int32_t n = rank_topics(h->w, ranks, has_unowned);
	for (int32_t r = 0; r < n; r++) {
		const struct assignor_group_topic *t = &h->w->topics[ranks[r].topic];
		balancer_init(h, t);
		for (int32_t p = 0; p < t->partition_count; p++)
			if (h->w->owners[t->first_slot + p] == ASSIGNOR_NO_OWNER)
				hetero_move(h, t->first_slot + p, balancer_next_least(h));
	}
}

/* Lays the topic's partitions out grouped by owner (owners ascending, as the
 * subscribers are, partitions ascending within), so that a member's highest
 * partition is found in constant time. */
static void group_topic_partitions(struct hetero *h, const struct assignor_group_topic *t)
{
	const int32_t *owners = h->w->owners + t->first_slot;
	for (int32_t i = 0; i < t->subscriber_count; i++)
		h->run_start[t->subscribers[i]] = h->run_end[t->subscribers[i]] = 0;
	for (int32_t p = 0; p < t->partition_count; p++)
		h->run_end[owners[p]]++;
	int32_t at = 0;
	for (int32_t i = 0; i < t->subscriber_count; i++) {
		int32_t m = t->subscribers[i];
		int32_t count = h->run_end[m];
		h->run_start[m] = h->run_end[m] = at;
		at += count;
	}
	for (int32_t p = 0; p < t->partition_count; p++)
		h->grouped[h->run_end[owners[p]]++] = p;
}

/* Moves the topic's partitions from its most to its least loaded
 * subscribers until their counts differ by at most one, or the most loaded
 * have none of it left. Returns how many moved. */
static int32_t balance_topic(struct hetero *h, const struct assignor_group_topic *t)
{
	if (balancer_init(h, t) <= 1)
		return 0;
	group_topic_partitions(h, t);
	int32_t moved = 0;
	while (!balancer_balanced(h)) {
		int32_t most;
		while ((most = balancer_next_most(h)) != -1 && h->run_end[most] <= h->run_start[most])
			balancer_exclude_most(h);
		if (most == -1)
			break;
		int32_t partition = h->grouped[--h->run_end[most]];
		int32_t least = balancer_next_least(h);
		if (balancer_balanced(h))
			break;
		hetero_move(h, t->first_slot + partition, least);
		moved++;
	}
	return moved;
}

/* Passes over the topics with two or more subscribers, in Kafka's order,
 * until a whole pass moves nothing or the pass limit is reached. */
static void balance_topics(struct hetero *h, struct topic_rank *ranks)
{
	int32_t n = rank_topics(h->w, ranks, has_two_subscribers);
	int32_t last_moved = -1;
	for (int pass = 0; pass < UNIFORM_BALANCE_PASSES_MAX; pass++) {
		for (int32_t r = 0; r < n; r++) {
			if (r == last_moved)
				return;
			int32_t moved = balance_topic(h, &h->w->topics[ranks[r].topic]);
			if (moved > 0 || last_moved == -1)
				last_moved = r;
		}
	}
}

/* Heterogeneous: members keep every partition they held of the topics they
 * still subscribe to (assignor.c dropped the others), the unowned ones go to
 * the least loaded subscribers, then partitions move from the most to the
 * least loaded subscribers of each topic. */
bool assignor_uniform_heterogeneous(struct assignor_work *w)
{
	size_t n = (size_t)w->member_count + 1;
	struct hetero h = { .w = w };
	h.sizes = calloc(n, sizeof(*h.sizes));
	h.sorted = malloc(n * sizeof(*h.sorted));
	h.keys = malloc(n * sizeof(*h.keys));
	h.run_start = malloc(n * sizeof(*h.run_start));
	h.run_end = malloc(n * sizeof(*h.run_end));
	h.grouped = malloc(((size_t)w->slot_count + 1) * sizeof(*h.grouped));
	struct topic_rank *ranks = malloc(((size_t)w->topic_count + 1) * sizeof(*ranks));
	bool ok = h.sizes && h.sorted && h.keys && h.run_start && h.run_end && h.grouped && ranks;
	if (ok) {
		for (int32_t s = 0; s < w->slot_count; s++)
			if (w->owners[s] != ASSIGNOR_NO_OWNER)
				h.sizes[w->owners[s]]++;
		assign_unowned(&h, ranks);
		balance_topics(&h, ranks);
	}
	free(h.sizes);
	free(h.sorted);
	free(h.keys);
	free(h.run_start);
	free(h.run_end);
	free(h.grouped);
	free(ranks);
	return ok ? true : assignor_fail(w, "out of memory");
}
