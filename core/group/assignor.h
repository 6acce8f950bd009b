/* The server-side assignors of consumer-protocol groups (KIP-848): `uniform`
 * and `range`, following Kafka 4.4's group coordinator (UniformAssignor with
 * its homogeneous and heterogeneous builders, RangeAssignor). A pure library:
 * no I/O, no shard state; inputs are views the caller owns, the result is one
 * allocation set that assignor_result_free releases.
 *
 * How the coordinator calls it, each time the group epoch moves past the
 * target assignment epoch (a member joined, left or changed its subscription,
 * or a subscribed topic's partition count changed):
 *  - kind: the member's ServerAssignor when set, else the first name of
 *    group.consumer.assignors (assignor_by_name; an unknown name is
 *    UNSUPPORTED_ASSIGNOR, 112, answered to the heartbeat, not a failure here).
 *  - members: every member of the group, in any order (the assignors sort by
 *    member id, or instance id then member id, themselves): its member id, its
 *    instance id (null when dynamic), its subscribed topic ids (the topic names
 *    and the regex's resolved names it subscribes to that exist in the
 *    metadata image, mapped to their ids; names without a topic are left out,
 *    as Kafka does), and its current target assignment (the partitions of the
 *    last ConsumerGroupTargetAssignmentMember record, not what the member owns
 *    yet; empty for a new member).
 *  - subscription: assignor_subscription_type over the number of members
 *    subscribed to each topic *name* (including names without a topic), as
 *    Kafka's ModernGroup.subscriptionType does.
 *  - topics: the metadata of at least every subscribed topic: id and
 *    partition count (more topics may be given; unsubscribed ones are never
 *    assigned). A deleted topic is simply absent, so its partitions leave
 *    every assignment; added partitions are assigned.
 * Member racks are not an input: Kafka 4.4's consumer assignors read neither
 * member nor partition racks (SubscribedTopicDescriber.racksForPartition is
 * called by no consumer assignor).
 * The result has one entry per input member, at the same index; `changed`
 * says whether its target assignment differs from the one passed in, i.e.
 * whether a ConsumerGroupTargetAssignmentMember record must be written.
 * Then the target assignment epoch becomes the group epoch and members
 * reconcile towards their new target.
 *
 * Order: where Kafka iterates hash maps (the members, a member's topics and
 * partitions), these walk members by member id (Java's String order), topics
 * by Kafka's Uuid order and partitions ascending, so that the result never
 * depends on the input's order; it has the properties of Kafka's, but when
 * several assignments are equally good it may pick another one than Kafka
 * would.
 *
 * Errors: where Kafka's assignors throw PartitionAssignorException (a member
 * subscribed to a topic missing from the metadata) and for inputs beyond the
 * limits below or inconsistent ones (a duplicate member or topic id, a
 * homogeneous type over different subscriptions), assignor_assign returns
 * KERR_UNKNOWN_SERVER_ERROR with a message: Kafka's coordinator logs the
 * exception and fails the heartbeat with UNKNOWN_SERVER_ERROR, and so should
 * ours. Out of memory returns the same code. */
#ifndef SLUICE_CORE_GROUP_ASSIGNOR_H
#define SLUICE_CORE_GROUP_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

enum {
	/* Above any group.consumer.max.size the coordinator should allow. */
	ASSIGNOR_MEMBERS_MAX = 1 << 20,
	/* Topic metadata entries given in one call. */
	ASSIGNOR_TOPICS_MAX = 1 << 20,
	/* Partitions over all subscribed topics; bounds the working memory (a
	 * few int32 per partition). */
	ASSIGNOR_PARTITIONS_MAX = 1 << 24,
};

enum assignor_kind {
	ASSIGNOR_UNIFORM,
	ASSIGNOR_RANGE,
};

enum assignor_subscription {
	ASSIGNOR_HOMOGENEOUS,   /* every member subscribes to the same topics */
	ASSIGNOR_HETEROGENEOUS,
};

/* Partitions of one topic, in any order. */
struct assignor_topic_partitions {
	struct kuuid topic_id;
	const int32_t *partitions;
	int32_t partition_count;
};

struct assignor_member {
	struct kstr member_id;
	struct kstr instance_id;  /* len < 0: a dynamic member */
	const struct kuuid *topic_ids;  /* subscribed; duplicates are ignored */
	int32_t topic_count;
	const struct assignor_topic_partitions *current;  /* current target assignment */
	int32_t current_count;
};

struct assignor_topic {
	struct kuuid topic_id;
	int32_t partition_count;
};

struct assignor_spec {
	enum assignor_subscription subscription;
	const struct assignor_member *members;
	int32_t member_count;
	const struct assignor_topic *topics;
	int32_t topic_count;
};

/* A member's partitions of one topic, ascending. */
struct assignor_partitions {
	struct kuuid topic_id;
	const int32_t *partitions;
	int32_t partition_count;
};

struct assignor_member_result {
	const struct assignor_partitions *topics;  /* by Kafka's topic id order */
	int32_t topic_count;
	int32_t partition_count;  /* over all its topics */
	bool changed;
};

struct assignor_result {
	struct assignor_member_result *members;  /* spec.members' order */
	int32_t member_count;
	struct assignor_partitions *topic_store;
	int32_t *partition_store;
};

/* "uniform" or "range" (Kafka's names); false for any other. */
bool assignor_by_name(struct kstr name, enum assignor_kind *out);

/* Kafka's rule: homogeneous when no topic name is subscribed or each name is
 * subscribed by every member. subscriber_counts[i]: members subscribed to the
 * group's i-th distinct topic name. */
enum assignor_subscription assignor_subscription_type(const int32_t *subscriber_counts,
						      int32_t name_count, int32_t member_count);

/* Computes the group's new target assignment into *out (which the caller
 * frees with assignor_result_free, also after an error). Returns KERR_NONE, or
 * KERR_UNKNOWN_SERVER_ERROR with the reason in err. The same spec always
 * gives the same result, whatever the order of its members and topics. */
int16_t assignor_assign(enum assignor_kind kind, const struct assignor_spec *spec,
			struct assignor_result *out, char *err, size_t err_len);

void assignor_result_free(struct assignor_result *r);

#endif
