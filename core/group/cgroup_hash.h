/* A consumer group's metadata hash, bit for bit Kafka 4.4's (KIP-1101): the
 * `MetadataHash` of ConsumerGroupMetadataValue. The coordinator computes it
 * over the group's subscribed topics and bumps the group epoch when it
 * changes (a subscribed topic created, deleted, or given partitions), so a
 * log that Kafka wrote replays here without a spurious bump, and ours in
 * Kafka.
 *
 * Kafka's Utils.computeTopicHash streams into hash4j's XXH3-64 (seed 0,
 * `Hashing.xxh3_64().hashStream()`): the magic byte 0x00, the topic id's
 * most then least significant 64 bits, the name, the partition count, then
 * for each partition its index and, for each replica rack in Java String
 * order, the rack's length (an int) and the rack. hash4j writes an int or a
 * long as little-endian bytes and a String as its UTF-16 code units, each
 * little-endian, followed by its length in code units as an int (so a rack's
 * length is there twice). Utils.computeGroupHash streams the topic hashes as
 * longs in topic-name order (Java String order) and is 0 for no topic.
 *
 * A subscribed name with no topic in the metadata: Kafka 4.4's
 * ModernGroup.computeMetadataHash leaves it out of the map it hands to
 * computeGroupHash (it is not hashed as 0), so callers pass only the names
 * that have a topic. computeTopicHash alone returns 0 for such a name.
 *
 * XXH3 itself is Debian's libxxhash (0.8); the stream and the encodings are
 * ours. Pure functions, no allocation, any thread. */
#ifndef SLUICE_CORE_GROUP_CGROUP_HASH_H
#define SLUICE_CORE_GROUP_CGROUP_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

enum {
	/* Utils.TOPIC_HASH_MAGIC_BYTE: the version of the topic hash layout. */
	CGROUP_TOPIC_HASH_MAGIC = 0x00,
	/* Replica racks of one partition (its replicas with a rack). */
	CGROUP_HASH_RACKS_MAX = 1024,
	/* Room for libxxhash's XXH3_state_t (checked where it is used). */
	CGROUP_HASH_STATE_BYTES = 640,
	CGROUP_HASH_STATE_ALIGN = 64,
};

/* hash4j's HashStream64 over XXH3-64 with seed 0. Caller-owned (the stack
 * is fine); valid after cgroup_hash_stream_init. */
struct cgroup_hash_stream {
	_Alignas(CGROUP_HASH_STATE_ALIGN) unsigned char state[CGROUP_HASH_STATE_BYTES];
};

void cgroup_hash_stream_init(struct cgroup_hash_stream *s);
void cgroup_hash_put_bytes(struct cgroup_hash_stream *s, const void *data, size_t len);
void cgroup_hash_put_byte(struct cgroup_hash_stream *s, uint8_t v);
/* Little-endian, as hash4j's putInt / putLong. */
void cgroup_hash_put_int(struct cgroup_hash_stream *s, int32_t v);
void cgroup_hash_put_long(struct cgroup_hash_stream *s, int64_t v);
/* hash4j's putString of the Java String that `str` (UTF-8, len >= 0)
 * decodes to: its UTF-16 code units little-endian, then their count as an
 * int. A byte that does not start a well-formed UTF-8 sequence counts as
 * one U+FFFD. */
void cgroup_hash_put_string(struct cgroup_hash_stream *s, struct kstr str);
/* The hash of everything put so far (the stream stays usable). */
int64_t cgroup_hash_stream_get(const struct cgroup_hash_stream *s);

/* Java's String.length() of the UTF-8 string: its UTF-16 code units. */
int32_t cgroup_hash_utf16_len(struct kstr str);

/* One-shot XXH3-64, seed 0. */
uint64_t cgroup_xxh3_64(const void *data, size_t len);

/* Utils.computeTopicHash of a topic that exists. racks_per_partition is NULL
 * (no partition has a rack) or has `partitions` entries; entry p is NULL (no
 * rack) or points to partition p's replica racks, one per replica whose
 * broker has a rack, in any order, duplicates kept, ended by an entry with
 * len < 0; at most CGROUP_HASH_RACKS_MAX racks each. */
int64_t cgroup_topic_hash(struct kuuid id, struct kstr name, int32_t partitions,
                          const struct kstr *const *racks_per_partition);

/* Utils.computeGroupHash over n topics (names distinct, in any order, each
 * with its cgroup_topic_hash); 0 when n == 0. */
int64_t cgroup_group_hash(const struct kstr *names, const int64_t *topic_hashes, int32_t n);

#endif
