/* The records Kafka 4.x's group coordinator writes to __consumer_offsets for
 * consumer-protocol (KIP-848) groups, in Kafka's byte format: keys and values
 * of the record types below, so that sluice can replay a log Kafka wrote and
 * Kafka's tools can read sluice's.
 *
 * A key is an int16 record type (Kafka's CoordinatorRecordType, the "key
 * version" of the classic records in group_records.h) followed by the key's
 * fields in its only, non-flexible version 0 (int16-length strings). A value
 * is an int16 version, 0 for every type here, then the fields in their
 * flexible encoding (compact strings and arrays, tagged fields). A record
 * whose value is null is a tombstone: how Kafka deletes the key.
 *
 * What Kafka 4.4 writes and reads: it writes every type here except
 * PARTITION_METADATA, whose values it only reads (4.0 wrote them; KIP-1101
 * replaced them by the metadata hash in the group's METADATA value) and
 * deletes by tombstone. Values it cannot read (an unknown version) stop its load of the
 * partition; record types it does not know are skipped. The decoders here do
 * the same: an unknown value version is refused with a reason, an unknown
 * record type is reported so that the caller skips it.
 *
 * Strings and bytes are views into the record; arrays come from the caller's
 * arena, which bounds what a value from disk can make us allocate. */
#ifndef SLUICE_PROTO_CONSUMER_GROUP_RECORDS_H
#define SLUICE_PROTO_CONSUMER_GROUP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/cursor.h"

enum cg_record_type {
	CG_RECORD_METADATA = 3,
	CG_RECORD_PARTITION_METADATA = 4,
	CG_RECORD_MEMBER_METADATA = 5,
	CG_RECORD_TARGET_ASSIGNMENT_METADATA = 6,
	CG_RECORD_TARGET_ASSIGNMENT_MEMBER = 7,
	CG_RECORD_CURRENT_MEMBER_ASSIGNMENT = 8,
	CG_RECORD_REGULAR_EXPRESSION = 16,
};

enum {
	CG_RECORD_VALUE_VERSION = 0,
	/* Bound on every array's element count in a value. */
	CG_RECORD_ARRAY_MAX = 100000,
};

enum cg_record_result {
	CG_RECORD_OK = 0,
	CG_RECORD_TOMBSTONE = 1, /* a null value: the key is deleted */
	CG_RECORD_OTHER = 2,     /* a key of a type not listed above */
	CG_RECORD_MALFORMED = -1,
};

struct cg_record_key {
	int16_t type;               /* enum cg_record_type */
	struct kstr group_id;
	struct kstr member_id;      /* MEMBER_METADATA, TARGET_ASSIGNMENT_MEMBER, CURRENT_MEMBER_ASSIGNMENT */
	struct kstr regex;          /* REGULAR_EXPRESSION */
};

/* CG_RECORD_OK, CG_RECORD_OTHER for another record type (offsets, classic
 * groups, share and streams groups: not read here), or CG_RECORD_MALFORMED
 * with *reason set. */
enum cg_record_result cg_record_key_read(struct kbytes key, struct cg_record_key *out,
					 const char **reason);
/* Whether the key's strings fit its int16 lengths; the writer must only be
 * given keys that do. */
bool cg_record_key_fits(const struct cg_record_key *k);
size_t cg_record_key_size(const struct cg_record_key *k);
void cg_record_key_write(struct wcursor *w, const struct cg_record_key *k);

/* Partitions of one topic, by topic id. assignment_epochs (only in
 * CURRENT_MEMBER_ASSIGNMENT; Kafka 4.4 writes one per partition, older
 * versions none) has epoch_count entries, -1 for null; the codec does not
 * check that it matches partition_count. */
struct cg_topic_partitions {
	struct kuuid topic_id;
	int32_t partition_count;
	int32_t *partitions;
	int32_t epoch_count;
	int32_t *assignment_epochs;
};

struct cg_metadata_value {
	int32_t epoch;
	int64_t metadata_hash; /* 0: none (Kafka 4.0 wrote none) */
};

struct cg_partition_racks {
	int32_t partition;
	int32_t rack_count;
	struct kstr *racks;
};

struct cg_topic_metadata {
	struct kuuid topic_id;
	struct kstr topic_name;
	int32_t num_partitions;
	int32_t partition_count;
	struct cg_partition_racks *partitions;
};

struct cg_partition_metadata_value {
	int32_t topic_count;
	struct cg_topic_metadata *topics;
};

struct cg_classic_protocol {
	struct kstr name;
	struct kbytes metadata;
};

struct cg_member_value {
	struct kstr instance_id;  /* len -1: none */
	struct kstr rack_id;      /* len -1: none */
	struct kstr client_id;
	struct kstr client_host;
	int32_t topic_count;
	struct kstr *subscribed_topic_names;
	struct kstr subscribed_topic_regex; /* len -1: none; Kafka writes "" for none */
	int32_t rebalance_timeout_ms;
	struct kstr server_assignor;        /* len -1: none */
	/* A member that joined with the classic protocol (a group being
	 * migrated) carries its session timeout and protocols. A value without
	 * the tagged field reads, as in Kafka, as a classic member with none. */
	bool classic;
	int32_t classic_session_timeout_ms;
	int32_t classic_protocol_count;
	struct cg_classic_protocol *classic_protocols;
};

struct cg_target_metadata_value {
	int32_t assignment_epoch;
	int64_t assignment_timestamp_ms; /* 0: none (Kafka 4.0 wrote none) */
};

struct cg_target_member_value {
	int32_t topic_count;
	struct cg_topic_partitions *topics; /* no assignment_epochs */
};

struct cg_current_assignment_value {
	int32_t member_epoch;
	int32_t previous_member_epoch;
	int8_t state; /* Kafka's MemberState: 0 stable, 1 unrevoked, 2 unreleased partitions, 127 unknown */
	int32_t assigned_count;
	struct cg_topic_partitions *assigned;
	int32_t pending_revocation_count;
	struct cg_topic_partitions *pending_revocation;
};

struct cg_regex_value {
	int32_t topic_count;
	struct kstr *topics;
	int64_t version;      /* the metadata image version it was resolved against */
	int64_t timestamp_ms;
};

struct cg_record_value {
	int16_t type; /* the key's record type, which selects the member below */
	union {
		struct cg_metadata_value metadata;
		struct cg_partition_metadata_value partition_metadata;
		struct cg_member_value member;
		struct cg_target_metadata_value target_metadata;
		struct cg_target_member_value target_member;
		struct cg_current_assignment_value current_assignment;
		struct cg_regex_value regex;
	};
};

/* Reads the value of a record whose key has `type`. CG_RECORD_TOMBSTONE for
 * a null value, CG_RECORD_MALFORMED with *reason for a value that is cut
 * short, breaks a bound, has a version other than 0, or whose arrays do not
 * fit in the arena; CG_RECORD_OTHER for a type not listed above. Trailing
 * bytes after the value are ignored, as Kafka ignores them. */
enum cg_record_result cg_record_value_read(int16_t type, struct kbytes value, struct arena *a,
					   struct cg_record_value *out, const char **reason);
size_t cg_record_value_size(const struct cg_record_value *v);
/* Writes version 0 as Kafka 4.4 does (tagged fields only when they differ
 * from their defaults, the classic member metadata always). */
void cg_record_value_write(struct wcursor *w, const struct cg_record_value *v);

#endif
