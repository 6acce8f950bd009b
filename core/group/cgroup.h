/* A consumer-protocol (KIP-848) group as data: its epochs, its members with
 * their subscriptions, target and current assignments, and the map of which
 * member holds each partition. The heartbeat that moves it is
 * cgroup_heartbeat.h; this file keeps the state consistent (subscription
 * counts, partition holders) and computes target assignments with the
 * server-side assignors (assignor.h).
 *
 * A cgroup hangs off a `struct group` of type GROUP_TYPE_CONSUMER and, like
 * it, belongs to the shard owning the group's __consumer_offsets partition.
 * Strings are owned copies (kstr_copy) and may hold NUL bytes. */
#ifndef SLUICE_CORE_GROUP_CGROUP_H
#define SLUICE_CORE_GROUP_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/assignor.h"
#include "core/group/cgroup_assignment.h"
#include "core/group/cgroup_epochs.h"
#include "core/group/cgroup_reconcile.h"
#include "io/reactor.h"
#include "proto/cursor.h"

enum {
	/* Kafka's epochs in a heartbeat: join, leave, leave of a static member
	 * that will return. */
	CGROUP_JOIN_EPOCH = 0,
	CGROUP_LEAVE_EPOCH = -1,
	CGROUP_LEAVE_STATIC_EPOCH = -2,
	/* Topic names one member may subscribe to; Kafka has no bound, this is
	 * far above any real subscription and bounds what one heartbeat costs. */
	CGROUP_SUBSCRIBED_NAMES_MAX = 100000,
};

/* Not a hash: see cgroup_metadata_hash. */
static const int64_t CGROUP_HASH_UNKNOWN = INT64_MIN;

struct cgroup;

struct cgroup_member {
	struct cgroup_member *next;   /* the group's members, in join order */
	struct cgroup *group;
	int32_t owner;                /* its id in the group's holders' map */
	struct kstr id;
	struct kstr instance_id;      /* null: dynamic */
	struct kstr rack_id;          /* null: none */
	struct kstr client_id;
	struct kstr client_host;
	struct kstr server_assignor;  /* null: the broker's default */
	struct kstr topic_regex;      /* null: none */
	struct kstr *topic_names;     /* subscribed names: sorted, each once */
	int32_t topic_name_count;
	int32_t rebalance_timeout_ms;
	struct cg_member_assignment current;
	struct cg_assignment target;
	struct io_timer session_timer;
	struct io_timer rebalance_timer;  /* armed while it must revoke partitions */
};

/* How many members subscribe to one topic name. */
struct cgroup_name_count {
	struct kstr name;
	int32_t count;
};

struct cgroup {
	int32_t group_epoch;
	int32_t assignment_epoch;
	int64_t assignment_timestamp_ms;
	int64_t metadata_hash;        /* of the subscribed topics at group_epoch */
	struct cgroup_member *members;
	uint32_t member_count;
	/* Every distinct subscribed name (also names without a topic), sorted
	 * by bytes; members' topic_names are sorted and unique too. */
	struct cgroup_name_count *names;
	int32_t name_count;
	struct cg_epochs epochs;      /* who holds each assigned partition */
	/* cgroup_metadata_hash's last answer, valid while neither the image
	 * generation nor the subscribed names moved. */
	int64_t hash_cached;
	uint64_t hash_generation;
	bool hash_valid;
	int32_t next_owner;
	/* Called for each member just before it is freed (its timers stop). */
	void (*on_member_free)(struct cgroup_member *m);
	void *owner;                  /* the caller's: the struct group */
};

/* What the group needs to know of a topic from the metadata image. */
struct cgroup_topic {
	struct kuuid id;
	struct kstr name;
	int32_t partition_count;
};

/* The metadata image as the group sees it: a topic by name or by id, false
 * when there is none. */
struct cgroup_topics {
	bool (*by_name)(void *ctx, struct kstr name, struct cgroup_topic *out);
	bool (*by_id)(void *ctx, struct kuuid id, struct cgroup_topic *out);
	void *ctx;
	/* Changes whenever the answers may (the metadata image's generation);
	 * 0: unknown, nothing is cached. */
	uint64_t generation;
};

/* 0, or -1 when out of memory. */
int cgroup_init(struct cgroup *cg);
void cgroup_free(struct cgroup *cg);

struct cgroup_member *cgroup_member_find(const struct cgroup *cg, struct kstr id);
struct cgroup_member *cgroup_member_find_instance(const struct cgroup *cg, struct kstr instance_id);

/* A new member with that id at epoch 0, nothing assigned, no subscription;
 * NULL when out of memory. Its timers are the caller's to set up. */
struct cgroup_member *cgroup_member_add(struct cgroup *cg, struct kstr id);
/* Takes the member out (its partitions leave the holders' map, its names the
 * counts) and frees it; the caller stopped its timers. */
void cgroup_member_remove(struct cgroup *cg, struct cgroup_member *m);

/* Replaces the member's subscribed names (any order, repeats counted once)
 * in O(n log n), keeping the group's counts; false (nothing changed) when
 * out of memory. */
bool cgroup_member_set_names(struct cgroup *cg, struct cgroup_member *m, const struct kstr *names,
			     int32_t count);
/* Whether the member's names are exactly these, as sets. */
bool cgroup_member_names_equal(const struct cgroup_member *m, const struct kstr *names, int32_t count);

/* Replaces the member's current assignment, moving its partitions in the
 * holders' map. KERR_NONE; KERR_UNKNOWN_SERVER_ERROR (logged) when another
 * member still holds one of them, which the reconciliation must never let
 * happen, or when out of memory; the member is unchanged then. */
int16_t cgroup_member_set_current(struct cgroup *cg, struct cgroup_member *m,
				  const struct cg_member_assignment *next);

/* Kafka's rule over the group's subscribed names (assignor.h). */
enum assignor_subscription cgroup_subscription_type(const struct cgroup *cg);

/* Kafka 4.4's hash of the subscribed topics' metadata (KIP-1101,
 * cgroup_hash.h): changes when a subscribed topic is created, deleted or
 * gets partitions. Single node: no replica has a rack. Computed again only
 * when the image generation or the names changed: heartbeats ask for it
 * every time, and it walks every subscribed partition. Out of memory gives
 * CGROUP_HASH_UNKNOWN, which moves the epoch (unless the last one failed
 * too) rather than letting a change be missed. */
int64_t cgroup_metadata_hash(struct cgroup *cg, const struct cgroup_topics *topics);

/* Computes the target assignment of every member with `kind` (the member's
 * or the broker's assignor, chosen by the caller) and installs it as the
 * targets at `epoch`. changed[i] (member_count entries, join order) says
 * whose target moved. KERR_NONE, or KERR_UNKNOWN_SERVER_ERROR with err set
 * (the targets are unchanged then). */
int16_t cgroup_assign(struct cgroup *cg, enum assignor_kind kind, const struct cgroup_topics *topics,
		      int32_t epoch, bool *changed, char *err, size_t err_len);

#endif
