/* KIP-848 groups on the coordinator's shard: ConsumerGroupHeartbeat served
 * for a group (created on a first join), the members' session and rebalance
 * timeouts, and every change written to __consumer_offsets before its
 * answer goes out (cgroup_store.h). The meaning of a heartbeat is
 * cgroup_heartbeat.h's; this file gives it a group, time and a disk.
 *
 * A classic group of the same id is answered GROUP_ID_NOT_FOUND, and
 * classic requests to a consumer-protocol group likewise (Kafka's answers
 * when group.consumer.migration.policy forbids the move). */
#ifndef SLUICE_CORE_GROUP_GROUP_CONSUMER_H
#define SLUICE_CORE_GROUP_GROUP_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/cgroup_heartbeat.h"
#include "core/group/group.h"

struct broker_config;

/* The broker's settings for consumer-protocol groups, from its config:
 * -1 (logged) when group.consumer.assignors names an assignor we lack. */
int group_consumer_settings(const struct broker_config *cfg, struct cgroup_settings *out);

/* A heartbeat's answer; member_id and the assignment live until done
 * returns. */
struct group_consumer_answer {
	int16_t error;
	const char *message;           /* NULL: none */
	struct kstr member_id;         /* null: none */
	int32_t member_epoch;
	int32_t heartbeat_interval_ms;
	const struct cg_assignment *assignment; /* NULL: none sent */
};

struct group_consumer_waiter {
	void (*done)(struct group_consumer_waiter *w, const struct group_consumer_answer *a);
};

/* Serves one heartbeat on the shard coordinating the group (partition: its
 * __consumer_offsets partition); w->done runs once, maybe before this
 * returns. */
void group_consumer_heartbeat(struct group_coordinator *gc, struct kstr group_id, int32_t partition,
			      const struct cgroup_heartbeat_args *a, struct group_consumer_waiter *w);

/* OffsetCommit's check for a consumer-protocol group (Kafka 4.4's
 * ConsumerGroup.validateOffsetCommit): a commit from outside the group
 * (epoch < 0, no member id) only while it has no member; otherwise
 * UNKNOWN_MEMBER_ID for a member it lacks and STALE_MEMBER_EPOCH for an
 * epoch other than the member's. */
int16_t group_consumer_commit_check(const struct group *g, struct kstr member_id, int32_t member_epoch);

/* At shutdown: the members' timers stop. */
void group_consumer_shutdown(struct group *g);

#endif
