/* The group coordinator: Kafka's classic rebalance protocol and committed
 * offsets, for the groups whose __consumer_offsets partition this shard owns.
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
 * Group metadata and offsets are written to __consumer_offsets before they are
 * acknowledged, and replayed at start. Empty groups' offsets expire after
 * offsets.retention.minutes. */
#ifndef SLUICE_CORE_GROUP_GROUP_COORDINATOR_H
#define SLUICE_CORE_GROUP_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group.h"
#include "proto/cursor.h"

struct broker;
struct shard;

struct group_coordinator {
	struct broker *broker;
	struct shard *shard;
	struct group_table groups;
	struct io_timer retention_timer;
};

/* Creates the io shard's coordinator, for the groups whose __consumer_offsets
 * partition the shard owns, and replays those partitions. Returns 0 or -1
 * after logging why. */
int group_coordinator_start(struct broker *b, struct shard *s);
/* At shutdown: answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR
 * and stops the timers. */
void group_coordinator_shutdown(struct shard *s);
/* After the shard's ring drained. */
void group_coordinator_free(struct shard *s);

/* The coordinator of a group (the control shard creates __consumer_offsets
 * when needed), with the group's partition. NULL with *err =
 * COORDINATOR_NOT_AVAILABLE when the topic cannot be had. */
struct group_coordinator *group_coordinator_route(struct broker *b, struct kstr group_id,
						  int32_t *partition, int16_t *err);
/* Any shard: the shard coordinating the group (the control shard while
 * __consumer_offsets does not exist). */
uint32_t group_coordinator_shard_of(struct broker *b, struct kstr group_id);

struct group *group_coordinator_find(struct group_coordinator *gc, struct kstr group_id);

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

/* An asynchronous group operation's completion. */
struct group_done {
	void (*fn)(struct group_done *d, int16_t error_code);
};

struct group_commit_partition {
	struct kstr topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	int64_t commit_timestamp;     /* -1: now */
	struct kstr metadata;
	int16_t error;                /* out */
};

struct group_commit_args {
	struct kstr group_id;
	struct kstr member_id;
	struct kstr instance_id;
	int32_t generation;           /* < 0: a commit outside group management */
	int64_t retention_ms;         /* -1: the broker's retention policy */
	uint32_t count;
	struct group_commit_partition *parts;
};

/* Validates, writes and applies the offsets; per-partition errors are in
 * a->parts[i].error when d->fn runs (now or after the write). */
void group_commit(struct group_coordinator *gc, int32_t partition, struct group_commit_args *a,
		  struct group_done *d);

/* DeleteGroups for one group: d->fn runs with NONE once the tombstones are
 * written, or with the error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...). */
void group_delete(struct group_coordinator *gc, struct kstr group_id, struct group_done *d);

struct group_offset_delete_partition {
	struct kstr topic;
	int32_t partition;
	int16_t error;                /* out */
};

/* OffsetDelete: d->fn gets the request-level error; per-partition errors in
 * parts[i].error. */
void group_offset_delete(struct group_coordinator *gc, struct kstr group_id,
			 struct group_offset_delete_partition *parts, uint32_t count,
			 struct group_done *d);

/* The subscription's topics of a consumer-protocol member (for OffsetDelete);
 * calls fn per topic; false when the metadata does not parse. */
bool group_consumer_subscription_topics(struct kbytes metadata,
					void (*fn)(struct kstr topic, void *ctx), void *ctx);

#endif
