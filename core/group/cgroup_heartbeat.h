/* ConsumerGroupHeartbeat's meaning for one consumer-protocol group, as Kafka
 * 4.4's group coordinator gives it: joining (epoch 0), heartbeats, leaving
 * (-1; -2 for a static member that returns), fencing, static members taking
 * their instance id back, the group epoch bumped when a subscription or the
 * subscribed topics change, the target assignment recomputed when the group
 * epoch passes it, and the member reconciled towards its target
 * (cgroup_reconcile.h). Session and rebalance timeouts end here too
 * (cgroup_fence_member).
 *
 * Pure over the group: no I/O, no timers. Each call says which
 * __consumer_offsets records the change needs (cgroup_records, in Kafka's
 * order); their values are the group's state once the call returns, so the
 * caller encodes them from it. The caller owns the group's lookup and
 * creation, the timers and the answer. */
#ifndef SLUICE_CORE_GROUP_CGROUP_HEARTBEAT_H
#define SLUICE_CORE_GROUP_CGROUP_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/assignor.h"
#include "core/group/cgroup.h"
#include "proto/consumer_group_records.h"
#include "proto/cursor.h"

enum {
	/* An error message in a response; Kafka's are one sentence. */
	CGROUP_MESSAGE_BYTES = 512,
	/* The version from which clients choose their member ids (KIP-1082). */
	CGROUP_CLIENT_MEMBER_ID_VERSION = 1,
};

/* The broker's settings the heartbeat reads. */
struct cgroup_settings {
	int32_t heartbeat_interval_ms;
	uint32_t max_size;                   /* group.consumer.max.size */
	enum assignor_kind default_assignor; /* the first of group.consumer.assignors */
	const char *assignor_names;          /* "uniform, range": for the error message */
};

/* One record to write: the key of that type for the group (and member);
 * the value comes from the group's state, or none for a tombstone. */
struct cgroup_record_ref {
	int16_t type;             /* enum cg_record_type */
	bool tombstone;
	struct kstr member_id;    /* owned copy; null for the group's own records */
};

struct cgroup_records {
	struct cgroup_record_ref *refs;
	uint32_t count;
	uint32_t cap;
	bool failed;              /* out of memory while listing */
};

void cgroup_records_free(struct cgroup_records *r);

struct cgroup_heartbeat_args {
	int16_t version;
	struct kstr member_id;
	int32_t member_epoch;
	struct kstr instance_id;           /* null: not sent or unchanged */
	struct kstr rack_id;               /* null: not sent or unchanged */
	int32_t rebalance_timeout_ms;      /* -1: unchanged */
	const struct kstr *topic_names;    /* NULL with count -1: unchanged */
	int32_t topic_name_count;
	struct kstr topic_regex;           /* null: unchanged */
	struct kstr server_assignor;       /* null: unchanged */
	const struct cg_assignment *owned; /* NULL: unchanged */
	int32_t owned_topic_count;         /* topics as sent (some may list no partition) */
	struct kstr client_id;
	struct kstr client_host;
};

struct cgroup_heartbeat_result {
	int16_t error;
	char message[CGROUP_MESSAGE_BYTES]; /* "" for none */
	/* The member the answer is for; NULL after an error or when it left. */
	struct cgroup_member *member;
	int32_t member_epoch;
	bool with_assignment;              /* member->current.assigned goes out */
	/* The member must revoke partitions: its rebalance timeout runs. */
	bool revoking;
	struct cgroup_records records;
};

/* Kafka's checks of a request that need no group: INVALID_REQUEST or
 * UNSUPPORTED_ASSIGNOR with Kafka's message, or KERR_NONE. */
int16_t cgroup_heartbeat_validate(struct kstr group_id, const struct cgroup_heartbeat_args *a,
				  const struct cgroup_settings *s, char *msg, size_t msg_len);

/* A validated heartbeat with epoch >= 0 on the group (just created when the
 * member joins a group that did not exist: epoch 0 and no members). */
void cgroup_heartbeat(struct cgroup *cg, struct kstr group_id, const struct cgroup_heartbeat_args *a,
		      const struct cgroup_settings *s, const struct cgroup_topics *topics,
		      int64_t now_ms, struct cgroup_heartbeat_result *out);

/* A validated heartbeat with epoch -1 or -2. */
void cgroup_leave(struct cgroup *cg, struct kstr group_id, const struct cgroup_heartbeat_args *a,
		  const struct cgroup_topics *topics, struct cgroup_heartbeat_result *out);

/* Removes the member (session or rebalance timeout, or a leave) and bumps
 * the group epoch, listing the tombstones and the group's record in recs. */
void cgroup_fence_member(struct cgroup *cg, struct cgroup_member *m,
			 const struct cgroup_topics *topics, struct cgroup_records *recs);

void cgroup_heartbeat_result_free(struct cgroup_heartbeat_result *r);

#endif
