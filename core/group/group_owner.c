/* Which shard coordinates a group: the owner of the group's __consumer_offsets
 * partition (the control shard while the topic does not exist, and only the
 * control shard creates it). */
#include <assert.h>

#include "core/meta/topics.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_store.h"
#include "core/meta/topics.h"
#include "core/shard/shard.h"
#include "proto/kafka_errors.h"

uint32_t group_coordinator_shard_of(struct runtime *rt, struct kstr group_id)
{
	struct topic *t = topics_lookup(rt, kstr_from_cstr(GROUP_STORE_TOPIC));
	if (!t)
		return SHARD_CONTROL;
	return t->partitions[group_store_partition_of(group_id, t->partition_count)].shard;
}

struct group_coordinator *group_coordinator_route(struct runtime *rt, struct kstr group_id,
						  int32_t *partition, int16_t *err)
{
	/* Only the control shard may create the topic; elsewhere it exists, or
	 * is being deleted. */
	struct shard *self = shard_current();
	struct topic *t = !self || self->id == SHARD_CONTROL
				  ? group_store_topic(rt)
				  : topics_lookup(rt, kstr_from_cstr(GROUP_STORE_TOPIC));
	if (!t) {
		*err = KERR_COORDINATOR_NOT_AVAILABLE;
		return NULL;
	}
	*partition = group_store_partition_of(group_id, t->partition_count);
	struct partition *p = topic_partition(t, *partition);
	assert(p && p->shard < rt->io_shards);
	*err = KERR_NONE;
	return group_coordinator_of(&rt->shards[p->shard]);
}
