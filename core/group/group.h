/* Consumer groups as data: a group, its members and its committed offsets,
 * and the table of groups one coordinator owns. The classic protocol that
 * moves a group between states lives in group_rebalance.c (with
 * group_join.c and group_sync.c), committed offsets in group_offsets.c,
 * offsets of open transactions in group_txn.c, persistence in
 * group_store.c. Everything here belongs to the shard that owns the group's
 * __consumer_offsets partition. */
#ifndef SLUICE_CORE_GROUP_GROUP_H
#define SLUICE_CORE_GROUP_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/cgroup_heartbeat.h"
#include "io/reactor.h"
#include "proto/cursor.h"

enum group_state {
	GROUP_EMPTY,
	GROUP_PREPARING_REBALANCE,
	GROUP_COMPLETING_REBALANCE,
	GROUP_STABLE,
	GROUP_DEAD,
};

enum {
	GROUP_TABLE_BUCKETS_MIN = 16,
};

/* Which protocol a group speaks: the classic one (JoinGroup, SyncGroup) or
 * KIP-848's (ConsumerGroupHeartbeat, group_consumer.h). */
enum group_type {
	GROUP_TYPE_CLASSIC,
	GROUP_TYPE_CONSUMER,
};

/* Waiting JoinGroup / SyncGroup requests: the handler's callback answers.
 * Every string here, as in the group, is a Kafka string: its length counts,
 * and it may hold NUL bytes (len -1: none). */
struct group_join_member {
	struct kstr member_id;
	struct kstr instance_id;    /* null: dynamic */
	struct kbytes metadata;
};

struct group_join_result {
	int16_t error;
	int32_t generation;
	struct kstr protocol_type;  /* null when none */
	struct kstr protocol_name;  /* null when none */
	struct kstr leader;
	struct kstr member_id;      /* empty: none */
	bool skip_assignment;
	uint32_t member_count;      /* the leader gets every member */
	const struct group_join_member *members;
};

struct group_join_waiter {
	void (*done)(struct group_join_waiter *w, const struct group_join_result *r);
};

struct group_sync_result {
	int16_t error;
	struct kstr protocol_type;
	struct kstr protocol_name;
	struct kbytes assignment;
};

struct group_sync_waiter {
	void (*done)(struct group_sync_waiter *w, const struct group_sync_result *r);
};

/* Strings below are owned copies (kstr_copy), freed with their holder. */
struct group_protocol {
	struct kstr name;
	uint8_t *metadata;
	int32_t metadata_len;
};

struct group;

struct group_member {
	struct group_member *next;    /* the group's members, in join order */
	struct group *group;
	struct kstr id;
	struct kstr instance_id;      /* null: dynamic */
	struct kstr client_id;
	struct kstr client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	struct group_protocol *protocols;
	uint32_t protocol_count;
	uint8_t *assignment;
	int32_t assignment_len;
	struct io_timer session_timer;
	struct group_join_waiter *join_wait;
	struct group_sync_waiter *sync_wait;
	bool synced;                  /* sent SyncGroup in this generation */
	bool pending;                 /* got its id (MEMBER_ID_REQUIRED), not joined yet */
};

struct group_offset {
	struct group_offset *next;
	struct kstr topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	struct kstr metadata;         /* never null once set */
	int64_t commit_timestamp;
	int64_t expire_timestamp;
	int64_t record_offset;        /* of its record in __consumer_offsets */
};

struct group_offset_table {
	struct group_offset **buckets;
	size_t bucket_count;
	size_t count;
};

struct group_coordinator;
struct group_txn_pending;
struct cgroup;

struct group {
	struct group *next;           /* the coordinator's hash chain */
	struct group_coordinator *coord;
	struct kstr id;
	int32_t partition;            /* of __consumer_offsets */
	enum group_type type;
	/* GROUP_TYPE_CONSUMER: its members and assignments. Its state here is
	 * Empty without members and Stable with some, for the paths both
	 * protocols share (retention, deletion). */
	struct cgroup *consumer;
	enum group_state state;
	int64_t state_timestamp;      /* when the state last changed (ms, wall clock) */
	int32_t generation;
	struct kstr protocol_type;    /* null until a member joins */
	struct kstr protocol_name;    /* null unless a generation is running */
	struct kstr leader_id;        /* null when there is no leader */
	struct group_member *members;
	struct group_member *pending_members;
	uint32_t member_count;
	bool initial_delay;           /* the first rebalance of an empty group waits */
	bool new_member_added;        /* a member joined during that wait */
	int64_t initial_delay_left_ms;
	struct io_timer rebalance_timer;
	uint32_t writes_in_flight;    /* appends to __consumer_offsets not yet done */
	bool removed;                 /* out of the table; freed when writes finish */
	struct group_offset_table offsets;
	/* Offsets of open transactions, per producer (group_txn.h); a group
	 * with any is on its coordinator's txn_groups list. */
	struct group_txn_pending *txn_pending;
	struct group *txn_next;
	struct group **txn_prev;      /* the pointer to this group on the list */
};

struct group_table {
	struct group **buckets;
	size_t bucket_count;
	size_t count;
};

struct runtime;
struct shard;
struct broker_config;

/* One io shard's groups (group_coordinator.h has its life). */
struct group_coordinator {
	struct runtime *rt;
	struct shard *shard;
	struct group_table groups;
	struct io_timer retention_timer;
	struct group *txn_groups;     /* the groups with pending transactional offsets */
	struct cgroup_settings consumer_settings;
};

/* An asynchronous group operation's completion. */
struct group_done {
	void (*fn)(struct group_done *d, int16_t error_code);
};

/* The reactor and configuration of the shard coordinating the group. */
struct reactor *group_reactor(const struct group *g);
const struct broker_config *group_cfg(const struct group *g);
/* Removes a group that a failed request created and that holds nothing. */
void group_drop_if_unused(struct group_coordinator *gc, struct group *g);

const char *group_state_name(enum group_state s);
/* Parses Kafka's state names (case-insensitive); -1 when unknown. */
int group_state_parse(struct kstr name);

struct group *group_table_find(const struct group_table *t, struct kstr id);
/* Creates an Empty group; NULL when out of memory. */
struct group *group_table_add(struct group_table *t, struct kstr id, int32_t partition,
			      struct group_coordinator *coord);
/* Takes the group out of the table; it is freed now, or when its last append
 * completes. */
void group_table_remove(struct group_table *t, struct group *g);
void group_table_for_each(const struct group_table *t, void (*fn)(struct group *g, void *ctx),
			  void *ctx);
void group_table_free(struct group_table *t);
void group_free(struct group *g);

struct group_member *group_member_find(const struct group *g, struct kstr id);
struct group_member *group_member_find_instance(const struct group *g, struct kstr id);
struct group_member *group_pending_find(const struct group *g, struct kstr id);
void group_member_free(struct group_member *m);

struct group_offset *group_offset_find(const struct group_offset_table *t, struct kstr topic,
				       int32_t partition);
/* Inserts or replaces; returns the entry, NULL when out of memory. */
struct group_offset *group_offset_put(struct group_offset_table *t, struct kstr topic,
				      int32_t partition);
void group_offset_remove(struct group_offset_table *t, struct group_offset *o);
void group_offset_for_each(struct group_offset_table *t,
			   void (*fn)(struct group_offset *o, void *ctx), void *ctx);
/* Frees every entry and the buckets; the table is empty afterwards. */
void group_offset_table_clear(struct group_offset_table *t);

/* Wall clock in milliseconds (commit timestamps, as Kafka's). */
int64_t group_now_ms(void);

/* OffsetCommit v2-v4's retention_time_ms: -1 (Kafka's DEFAULT_RETENTION_TIME)
 * leaves the offset to the broker's retention policy (returns -1); any other
 * value expires it at commit_ms + retention_ms, saturated to [0, INT64_MAX]
 * (a peer's INT64_MAX means never, not a time in the past). */
int64_t group_offset_expire_ms(int64_t commit_ms, int64_t retention_ms);
/* Whether `age_ms` have passed from since_ms to now_ms, for any values. */
bool group_elapsed(int64_t now_ms, int64_t since_ms, int64_t age_ms);

/* ---- offsets of open transactions (TxnOffsetCommit, group_txn.h), kept
 * with the group until their producer's marker ---- */

/* Whether an open transaction holds an offset of the partition for the group
 * (OffsetFetch's require_stable answers UNSTABLE_OFFSET_COMMIT then). */
bool group_txn_has_pending(const struct group *g, struct kstr topic, int32_t partition);

/* Calls fn for every pending offset of the group (any producer). */
void group_txn_for_each_pending(struct group *g, void (*fn)(struct group_offset *o, void *ctx),
				void *ctx);
/* How many pending offsets the group holds, over all its producers. */
size_t group_txn_pending_count(const struct group *g);

#endif
