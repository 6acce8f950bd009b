/* Kafka's classic rebalance protocol on a group's coordinator: JoinGroup,
 * SyncGroup, Heartbeat and LeaveGroup.
 *
 * States follow Kafka's GroupCoordinator: Empty -> PreparingRebalance (members
 * (re)join; the first rebalance of an empty group waits
 * group.initial.rebalance.delay.ms, extended while members keep arriving, up
 * to the rebalance timeout) -> CompletingRebalance (the leader got every
 * member's subscription; everyone waits for its SyncGroup) -> Stable (the
 * leader's assignment is persisted and handed out). Session timeouts evict
 * members that stop heartbeating; the rebalance timeout evicts members that
 * do not rejoin or sync in time. Static members (group.instance.id) keep their
 * place across restarts of the client; a stale incarnation is fenced.
 *
 * The group's metadata is written to __consumer_offsets before a new
 * assignment is handed out, and replayed at start (group_coordinator.h). */
#ifndef SLUICE_CORE_GROUP_GROUP_MEMBERSHIP_H
#define SLUICE_CORE_GROUP_GROUP_MEMBERSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group.h"
#include "core/group/group_coordinator.h"
#include "proto/cursor.h"

struct group_join_protocol {
	struct kstr name;
	struct kbytes metadata;
};

struct group_join_args {
	struct kstr group_id;
	struct kstr member_id;
	struct kstr instance_id;      /* len -1: dynamic member */
	struct kstr protocol_type;
	struct kstr client_id;
	struct kstr reason;
	const char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	int16_t version;              /* v4+: new members first get MEMBER_ID_REQUIRED */
	uint32_t protocol_count;
	const struct group_join_protocol *protocols;
};

/* Answers through w->done, now or when the rebalance completes. */
void group_join(struct group_coordinator *gc, int32_t partition, const struct group_join_args *a,
		struct group_join_waiter *w);

struct group_sync_assignment {
	struct kstr member_id;
	struct kbytes assignment;
};

struct group_sync_args {
	struct kstr group_id;
	struct kstr member_id;
	struct kstr instance_id;
	struct kstr protocol_type;    /* len -1: not sent */
	struct kstr protocol_name;    /* len -1: not sent */
	int32_t generation;
	uint32_t assignment_count;
	const struct group_sync_assignment *assignments;
};

void group_sync(struct group_coordinator *gc, const struct group_sync_args *a,
		struct group_sync_waiter *w);

int16_t group_heartbeat(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
			struct kstr instance_id, int32_t generation);

struct group_leave_member {
	struct kstr member_id;
	struct kstr instance_id;
	int16_t error;                /* out */
};

/* Returns the request-level error; per-member errors in members[i].error. */
int16_t group_leave(struct group_coordinator *gc, struct kstr group_id,
		    struct group_leave_member *members, uint32_t count);

#endif
