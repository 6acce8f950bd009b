/* The records of __consumer_offsets in Kafka's own format, so that Kafka's
 * tools can read sluice's log and sluice can load one Kafka wrote.
 *
 * Keys (never flexible): version 0/1 is an offset commit (group, topic,
 * partition), version 2 group metadata (group). Values: OffsetCommitValue
 * v0-v4 (v1 carries an expire timestamp, v3+ a leader epoch, v4 is flexible)
 * and GroupMetadataValue v0-v4 (v1 adds rebalance timeouts, v2 the state
 * timestamp, v3 static instance ids, v4 is flexible). A null value is a
 * tombstone. Strings and bytes are views into the record. */
#ifndef SLUICE_PROTO_GROUP_RECORDS_H
#define SLUICE_PROTO_GROUP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

enum group_record_kind {
	GROUP_RECORD_OFFSET,
	GROUP_RECORD_METADATA,
	GROUP_RECORD_OTHER,     /* a key version we do not know: skipped */
	GROUP_RECORD_MALFORMED,
};

enum {
	GROUP_KEY_OFFSET_VERSION = 1,
	GROUP_KEY_METADATA_VERSION = 2,
	GROUP_VALUE_OFFSET_EXPIRING_VERSION = 1,
	GROUP_VALUE_OFFSET_VERSION = 3,
	GROUP_VALUE_METADATA_VERSION = 3,
	GROUP_VALUE_VERSION_MAX = 4,
	GROUP_RECORD_MEMBERS_MAX = 100000,
};

struct group_record_key {
	struct kstr group;
	struct kstr topic;  /* offset keys only */
	int32_t partition;  /* offset keys only */
};

enum group_record_kind group_record_key_read(struct kbytes key, struct group_record_key *out);
size_t group_offset_key_size(struct kstr group, struct kstr topic);
void group_offset_key_write(struct wcursor *w, struct kstr group, struct kstr topic, int32_t partition);
size_t group_metadata_key_size(struct kstr group);
void group_metadata_key_write(struct wcursor *w, struct kstr group);

struct group_offset_value {
	int64_t offset;
	int32_t leader_epoch;  /* -1: none */
	struct kstr metadata;
	int64_t commit_timestamp;
	int64_t expire_timestamp; /* -1: none (the retention policy decides) */
};

/* Whether a string fits the records' non-flexible string fields (int16
 * length); the writers below must only be given strings that do. */
bool group_record_str_fits(struct kstr s);
bool group_offset_value_fits(const struct group_offset_value *v);

/* Returns 0, or -1 for a malformed or unknown-version value. */
int group_offset_value_read(struct kbytes value, struct group_offset_value *out);
/* Written as v1 when an expire timestamp is set, else v3. */
size_t group_offset_value_size(const struct group_offset_value *v);
void group_offset_value_write(struct wcursor *w, const struct group_offset_value *v);

struct group_member_value {
	struct kstr member_id;
	struct kstr instance_id; /* len -1: a dynamic member */
	struct kstr client_id;
	struct kstr client_host;
	int32_t rebalance_timeout_ms;
	int32_t session_timeout_ms;
	struct kbytes subscription;
	struct kbytes assignment;
};

struct group_metadata_value {
	struct kstr protocol_type;
	int32_t generation;
	struct kstr protocol;  /* len -1: none */
	struct kstr leader;    /* len -1: none */
	int64_t state_timestamp;
	int32_t member_count;
	struct group_member_value *members;
};

/* Reads a value; `members` (capacity `members_cap`) receives the members.
 * With members NULL, reads up to member_count (bounded by the bytes left) so
 * that the caller can size the array. Returns 0, or -1 for a malformed value,
 * an unknown version or more members than members_cap. */
int group_metadata_value_read(struct kbytes value, struct group_metadata_value *out,
			      struct group_member_value *members, int32_t members_cap);
bool group_metadata_value_fits(const struct group_metadata_value *v);
size_t group_metadata_value_size(const struct group_metadata_value *v);
void group_metadata_value_write(struct wcursor *w, const struct group_metadata_value *v);

#endif
