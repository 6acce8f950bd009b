/* The range assignor, as Kafka 4.x's RangeAssignor (rewritten in 4.0,
 * KAFKA-16944): each topic's partitions are cut into contiguous ranges, one
 * per subscriber in member order, the first (partitions % subscribers) ranges
 * one longer. It is recomputed from scratch, not sticky on the current
 * assignment: what keeps partitions in place is the member order, static
 * members first by instance id, so a restarted static member (new member id,
 * same instance id) gets its ranges back. Members subscribed to the same
 * topics of equal partition counts get the same partition numbers of each
 * (co-partitioning). Kafka's homogeneous and heterogeneous paths give the same
 * ranges, so the subscription type is not consulted. */
#include "core/group/assignor_internal.h"

/* Static members first, by instance id; then dynamic ones by member id.
 * Equal instance ids (which the coordinator does not allow) fall back to the
 * member id so the order stays total. */
int assignor_range_member_compare(const struct assignor_member *a, const struct assignor_member *b)
{
	bool a_static = a->instance_id.len >= 0, b_static = b->instance_id.len >= 0;
	if (a_static != b_static)
		return a_static ? -1 : 1;
	if (a_static) {
		int cmp = assignor_java_string_compare(a->instance_id, b->instance_id);
		if (cmp != 0)
			return cmp;
	}
	return assignor_java_string_compare(a->member_id, b->member_id);
}

void assignor_range(struct assignor_work *w)
{
	/* Subscribers are in member order, so walking them per topic gives
	 * Kafka's ranges (it walks members, then their topics). */
	for (int32_t g = 0; g < w->topic_count; g++) {
		const struct assignor_group_topic *t = &w->topics[g];
		int32_t quota_min = t->partition_count / t->subscriber_count;
		int32_t extra = t->partition_count % t->subscriber_count;
		int32_t next = 0;
		for (int32_t i = 0; i < t->subscriber_count; i++) {
			int32_t quota = quota_min + (i < extra ? 1 : 0);
			for (int32_t q = 0; q < quota; q++)
				w->owners[t->first_slot + next++] = t->subscribers[i];
		}
	}
}
