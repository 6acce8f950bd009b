/* The assignors' shared working state (private to core/group/assignor*.c):
 * the spec normalised once by assignor.c into sorted arrays, so that each
 * algorithm only moves partition owners.
 *
 * Members are numbered by position, their order for the algorithm (member id;
 * for range, instance id first). The group's topics are the subscribed ones,
 * in Kafka's topic id order; each owns a run of `slots` (one per partition,
 * ascending), so slot order is (topic, partition) order. owners[slot] is the
 * position of the member holding that partition, or ASSIGNOR_NO_OWNER. */
#ifndef SLUICE_CORE_GROUP_ASSIGNOR_INTERNAL_H
#define SLUICE_CORE_GROUP_ASSIGNOR_INTERNAL_H

#include "core/group/assignor.h"

enum { ASSIGNOR_NO_OWNER = -1 };

struct assignor_group_topic {
	struct kuuid id;
	int32_t partition_count;
	int32_t first_slot;
	int32_t subscriber_count;
	int32_t *subscribers;  /* positions, ascending */
};

struct assignor_work {
	int32_t member_count;
	const struct assignor_member **members;  /* by position */
	int32_t topic_count;
	struct assignor_group_topic *topics;
	int32_t slot_count;
	int32_t *owners;
	int32_t *sub_start;   /* member_count + 1: position p's topics are */
	int32_t *subs;        /* subs[sub_start[p] .. sub_start[p+1]), ascending */
	int32_t *subscriber_store;
	char *err;
	size_t err_len;
};

/* Kafka's Uuid.compareTo: the two big-endian halves as signed 64-bit. */
int assignor_uuid_compare(struct kuuid a, struct kuuid b);

/* Java's String.compareTo (UTF-16 code units) over two UTF-8 strings. */
int assignor_java_string_compare(struct kstr a, struct kstr b);

/* Each fills w->owners from the claims assignor.c left there; false (with
 * w->err set) when out of memory or when Kafka's builder would throw. */
bool assignor_uniform_homogeneous(struct assignor_work *w);
bool assignor_uniform_heterogeneous(struct assignor_work *w);
/* Range: the member order; then owners from scratch. */
int assignor_range_member_compare(const struct assignor_member *a, const struct assignor_member *b);
void assignor_range(struct assignor_work *w);

/* Sets w->err; returns false for the callers' convenience. */
bool assignor_fail(struct assignor_work *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
