/* Committed offsets on a group's coordinator: OffsetCommit and OffsetDelete
 * (OffsetFetch reads the group's table, group_coordinator_find). Offsets are
 * written to __consumer_offsets before they are acknowledged, and replayed at
 * start; an empty group's offsets expire after offsets.retention.minutes. */
#ifndef SLUICE_CORE_GROUP_GROUP_OFFSETS_H
#define SLUICE_CORE_GROUP_GROUP_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/group/group_coordinator.h"
#include "proto/cursor.h"

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
