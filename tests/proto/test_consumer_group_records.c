/* Consumer-protocol group records (proto/consumer_group_records.h) against
 * the bytes Kafka 4.4 writes: keys and values of records Kafka's own
 * GroupCoordinatorRecordHelpers built and its GroupCoordinatorRecordSerde
 * serialized (PARTITION_METADATA, which 4.4 only reads, built from its
 * generated message as 4.0 wrote it), and records a live Kafka 4.4 broker
 * wrote. Each must decode to the fields Kafka was given and encode back to
 * the same bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/consumer_group_records.h"

enum { TEST_ARENA_BYTES = 1 << 20 };

/* Topic ids the vectors use: bytes 01..10 and 11..20. */
static struct kuuid topic_id(uint8_t first)
{
	struct kuuid u;
	for (int i = 0; i < 16; i++)
		u.b[i] = (uint8_t)(first + i);
	return u;
}

/* ---- Kafka 4.4's bytes ---- */

static const uint8_t metadata_key[] = {
	0x00, 0x03, 0x00, 0x03, 0x67, 0x72, 0x70,
};

static const uint8_t metadata_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x01, 0x00, 0x08, 0x01, 0x23, 0x45,
	0x67, 0x89, 0xab, 0xcd, 0xef,
};

static const uint8_t metadata_nohash_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
};

static const uint8_t partition_metadata_key[] = {
	0x00, 0x04, 0x00, 0x03, 0x67, 0x72, 0x70,
};

static const uint8_t partition_metadata_value[] = {
	0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x04, 0x66, 0x6f, 0x6f, 0x00,
	0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x72, 0x31,
	0x03, 0x72, 0x32, 0x00, 0x00, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x04, 0x62, 0x61,
	0x72, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
};

static const uint8_t member_key[] = {
	0x00, 0x05, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x08, 0x6d, 0x65, 0x6d,
	0x62, 0x65, 0x72, 0x2d, 0x31,
};

static const uint8_t member_value[] = {
	0x00, 0x00, 0x07, 0x69, 0x6e, 0x73, 0x74, 0x2d, 0x31, 0x07, 0x72, 0x61,
	0x63, 0x6b, 0x2d, 0x61, 0x09, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x2d,
	0x31, 0x0b, 0x2f, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31,
	0x03, 0x04, 0x62, 0x61, 0x72, 0x04, 0x66, 0x6f, 0x6f, 0x05, 0x62, 0x61,
	0x2e, 0x2a, 0x00, 0x00, 0xaf, 0xc8, 0x08, 0x75, 0x6e, 0x69, 0x66, 0x6f,
	0x72, 0x6d, 0x01, 0x00, 0x01, 0x00,
};

static const uint8_t member_minimal_key[] = {
	0x00, 0x05, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x08, 0x6d, 0x65, 0x6d,
	0x62, 0x65, 0x72, 0x2d, 0x32,
};

static const uint8_t member_minimal_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x03, 0x63, 0x32, 0x0a, 0x2f, 0x31, 0x30, 0x2e,
	0x30, 0x2e, 0x30, 0x2e, 0x32, 0x01, 0x01, 0x00, 0x00, 0x75, 0x30, 0x00,
	0x01, 0x00, 0x01, 0x00,
};

static const uint8_t member_classic_key[] = {
	0x00, 0x05, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x08, 0x6d, 0x65, 0x6d,
	0x62, 0x65, 0x72, 0x2d, 0x33,
};

static const uint8_t member_classic_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x03, 0x63, 0x33, 0x0a, 0x2f, 0x31, 0x30, 0x2e,
	0x30, 0x2e, 0x30, 0x2e, 0x33, 0x02, 0x04, 0x66, 0x6f, 0x6f, 0x01, 0x00,
	0x04, 0x93, 0xe0, 0x00, 0x01, 0x00, 0x13, 0x01, 0x00, 0x00, 0x27, 0x10,
	0x02, 0x06, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x05, 0x00, 0x03, 0x01, 0x02,
	0x00, 0x00,
};

static const uint8_t target_metadata_key[] = {
	0x00, 0x06, 0x00, 0x03, 0x67, 0x72, 0x70,
};

static const uint8_t target_metadata_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x01, 0x00, 0x08, 0x00, 0x00, 0x01,
	0x8b, 0xcf, 0xe5, 0x68, 0x7b,
};

static const uint8_t target_member_key[] = {
	0x00, 0x07, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x08, 0x6d, 0x65, 0x6d,
	0x62, 0x65, 0x72, 0x2d, 0x31,
};

static const uint8_t target_member_value[] = {
	0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x11, 0x12, 0x13,
	0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t current_key[] = {
	0x00, 0x08, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x08, 0x6d, 0x65, 0x6d,
	0x62, 0x65, 0x72, 0x2d, 0x31,
};

static const uint8_t current_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x04, 0x01, 0x02,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x01, 0x00, 0x09, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x05, 0x02, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
	0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00,
};

static const uint8_t current_stable_key[] = {
	0x00, 0x08, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x08, 0x6d, 0x65, 0x6d,
	0x62, 0x65, 0x72, 0x2d, 0x32,
};

static const uint8_t current_stable_value[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x00,
};

static const uint8_t regex_key[] = {
	0x00, 0x10, 0x00, 0x03, 0x67, 0x72, 0x70, 0x00, 0x05, 0x66, 0x6f, 0x6f,
	0x2e, 0x2a,
};

static const uint8_t regex_value[] = {
	0x00, 0x00, 0x03, 0x05, 0x66, 0x6f, 0x6f, 0x31, 0x05, 0x66, 0x6f, 0x6f,
	0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01,
	0x8b, 0xcf, 0xe5, 0x69, 0xc8, 0x00,
};

/* Written by a live Kafka 4.4 broker to __consumer_offsets for group cg-test:
 * two Java 4.4 consumers with group.protocol=consumer, one subscribed to
 * cgfoo, one static (instance static-1, rack rack-x) to the regex cg.*; the
 * static one's current assignment after it left (epoch -2). */

static const uint8_t live_static_member_key[] = {
	0x00, 0x05, 0x00, 0x07, 0x63, 0x67, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x00,
	0x16, 0x72, 0x37, 0x74, 0x72, 0x75, 0x74, 0x4b, 0x65, 0x51, 0x57, 0x47,
	0x6c, 0x38, 0x51, 0x73, 0x69, 0x45, 0x5f, 0x79, 0x6e, 0x64, 0x41,
};

static const uint8_t live_static_member_value[] = {
	0x00, 0x00, 0x09, 0x73, 0x74, 0x61, 0x74, 0x69, 0x63, 0x2d, 0x31, 0x07,
	0x72, 0x61, 0x63, 0x6b, 0x2d, 0x78, 0x0b, 0x63, 0x67, 0x63, 0x6c, 0x69,
	0x65, 0x6e, 0x74, 0x2d, 0x31, 0x0b, 0x2f, 0x31, 0x32, 0x37, 0x2e, 0x30,
	0x2e, 0x30, 0x2e, 0x31, 0x01, 0x05, 0x63, 0x67, 0x2e, 0x2a, 0x00, 0x04,
	0x93, 0xe0, 0x00, 0x01, 0x00, 0x01, 0x00,
};

static const uint8_t live_regex_key[] = {
	0x00, 0x10, 0x00, 0x07, 0x63, 0x67, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x00,
	0x04, 0x63, 0x67, 0x2e, 0x2a,
};

static const uint8_t live_regex_value[] = {
	0x00, 0x00, 0x03, 0x06, 0x63, 0x67, 0x62, 0x61, 0x72, 0x06, 0x63, 0x67,
	0x66, 0x6f, 0x6f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xac, 0x00,
	0x00, 0x01, 0xa2, 0x38, 0x1d, 0xd3, 0x92, 0x00,
};

static const uint8_t live_static_left_key[] = {
	0x00, 0x08, 0x00, 0x07, 0x63, 0x67, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x00,
	0x16, 0x72, 0x37, 0x74, 0x72, 0x75, 0x74, 0x4b, 0x65, 0x51, 0x57, 0x47,
	0x6c, 0x38, 0x51, 0x73, 0x69, 0x45, 0x5f, 0x79, 0x6e, 0x64, 0x41,
};

static const uint8_t live_static_left_value[] = {
	0x00, 0x00, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03,
	0xc3, 0x8d, 0x94, 0x83, 0x65, 0x6d, 0x43, 0x7e, 0xa1, 0x5c, 0xc2, 0xfd,
	0xca, 0xfa, 0x37, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x0d, 0x04, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xea, 0x4f, 0x27,
	0xc7, 0x3e, 0x55, 0x41, 0x73, 0x89, 0x48, 0x79, 0xc0, 0x73, 0x8c, 0x7d,
	0xf4, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00,
	0x09, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
};

struct vector {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	int16_t type;
	const char *group;
};

#define VECTOR(name, t, g) { name##_key, sizeof(name##_key), name##_value, sizeof(name##_value), t, g }

static const struct vector vectors[] = {
	VECTOR(metadata, CG_RECORD_METADATA, "grp"),
	{ metadata_key, sizeof(metadata_key), metadata_nohash_value, sizeof(metadata_nohash_value),
	  CG_RECORD_METADATA, "grp" },
	VECTOR(partition_metadata, CG_RECORD_PARTITION_METADATA, "grp"),
	VECTOR(member, CG_RECORD_MEMBER_METADATA, "grp"),
	VECTOR(member_minimal, CG_RECORD_MEMBER_METADATA, "grp"),
	VECTOR(member_classic, CG_RECORD_MEMBER_METADATA, "grp"),
	VECTOR(target_metadata, CG_RECORD_TARGET_ASSIGNMENT_METADATA, "grp"),
	VECTOR(target_member, CG_RECORD_TARGET_ASSIGNMENT_MEMBER, "grp"),
	VECTOR(current, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, "grp"),
	VECTOR(current_stable, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, "grp"),
	VECTOR(regex, CG_RECORD_REGULAR_EXPRESSION, "grp"),
	VECTOR(live_static_member, CG_RECORD_MEMBER_METADATA, "cg-test"),
	VECTOR(live_regex, CG_RECORD_REGULAR_EXPRESSION, "cg-test"),
	VECTOR(live_static_left, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, "cg-test"),
};

static struct kbytes view(const uint8_t *p, size_t n)
{
	return (struct kbytes){ p, (int32_t)n };
}

static bool str_is(struct kstr s, const char *want)
{
	return want ? kstr_eq_cstr(s, want) : s.len == -1;
}

static struct cg_record_value read_ok(int16_t type, const uint8_t *p, size_t n, struct arena *a)
{
	struct cg_record_value v;
	const char *reason = NULL;
	assert_int_equal(cg_record_value_read(type, view(p, n), a, &v, &reason), CG_RECORD_OK);
	assert_int_equal(v.type, type);
	return v;
}

static void assert_encodes_to(const struct cg_record_value *v, const uint8_t *want, size_t want_len)
{
	size_t n = cg_record_value_size(v);
	assert_int_equal(n, want_len);
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	cg_record_value_write(&w, v);
	assert_false(w.overflow);
	assert_ptr_equal(w.pos, w.end);
	assert_memory_equal(buf, want, n);
	free(buf);
}

/* Every Kafka key and value decodes, and encodes back byte for byte. */
static void test_kafka_vectors_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *t = &vectors[i];
		struct cg_record_key k;
		const char *reason = NULL;
		assert_int_equal(cg_record_key_read(view(t->key, t->key_len), &k, &reason), CG_RECORD_OK);
		assert_int_equal(k.type, t->type);
		assert_true(kstr_eq_cstr(k.group_id, t->group));
		assert_true(cg_record_key_fits(&k));
		uint8_t key[64];
		size_t n = cg_record_key_size(&k);
		assert_int_equal(n, t->key_len);
		struct wcursor w;
		wc_init(&w, key, n, NULL, 0);
		cg_record_key_write(&w, &k);
		assert_false(w.overflow);
		assert_memory_equal(key, t->key, n);

		struct arena a;
		arena_init(&a, TEST_ARENA_BYTES);
		struct cg_record_value v = read_ok(t->type, t->value, t->value_len, &a);
		assert_encodes_to(&v, t->value, t->value_len);
		arena_release(&a);
	}
}

static void test_kafka_vectors_fields(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, TEST_ARENA_BYTES);
	struct cg_record_key k;
	const char *reason = NULL;

	struct cg_record_value v = read_ok(CG_RECORD_METADATA, metadata_value, sizeof(metadata_value), &a);
	assert_int_equal(v.metadata.epoch, 7);
	assert_true(v.metadata.metadata_hash == INT64_C(0x0123456789abcdef));
	v = read_ok(CG_RECORD_METADATA, metadata_nohash_value, sizeof(metadata_nohash_value), &a);
	assert_true(v.metadata.epoch == 1 && v.metadata.metadata_hash == 0);

	v = read_ok(CG_RECORD_PARTITION_METADATA, partition_metadata_value, sizeof(partition_metadata_value), &a);
	const struct cg_partition_metadata_value *pm = &v.partition_metadata;
	assert_int_equal(pm->topic_count, 2);
	assert_memory_equal(pm->topics[0].topic_id.b, topic_id(1).b, 16);
	assert_true(kstr_eq_cstr(pm->topics[0].topic_name, "foo") && pm->topics[0].num_partitions == 3);
	assert_int_equal(pm->topics[0].partition_count, 1);
	assert_int_equal(pm->topics[0].partitions[0].rack_count, 2);
	assert_true(kstr_eq_cstr(pm->topics[0].partitions[0].racks[1], "r2"));
	assert_true(kstr_eq_cstr(pm->topics[1].topic_name, "bar") && pm->topics[1].partition_count == 0);

	assert_int_equal(cg_record_key_read(view(member_key, sizeof(member_key)), &k, &reason), CG_RECORD_OK);
	assert_true(kstr_eq_cstr(k.member_id, "member-1"));
	v = read_ok(CG_RECORD_MEMBER_METADATA, member_value, sizeof(member_value), &a);
	const struct cg_member_value *m = &v.member;
	assert_true(str_is(m->instance_id, "inst-1") && str_is(m->rack_id, "rack-a"));
	assert_true(str_is(m->client_id, "client-1") && str_is(m->client_host, "/127.0.0.1"));
	assert_int_equal(m->topic_count, 2);
	assert_true(str_is(m->subscribed_topic_names[0], "bar") && str_is(m->subscribed_topic_names[1], "foo"));
	assert_true(str_is(m->subscribed_topic_regex, "ba.*") && str_is(m->server_assignor, "uniform"));
	assert_int_equal(m->rebalance_timeout_ms, 45000);
	/* A consumer-protocol member: Kafka writes its null classic metadata. */
	assert_false(m->classic);

	v = read_ok(CG_RECORD_MEMBER_METADATA, member_minimal_value, sizeof(member_minimal_value), &a);
	assert_true(str_is(m->instance_id, NULL) && str_is(m->rack_id, NULL) && str_is(m->server_assignor, NULL));
	assert_true(str_is(m->subscribed_topic_regex, "") && m->topic_count == 0 && !m->classic);

	v = read_ok(CG_RECORD_MEMBER_METADATA, member_classic_value, sizeof(member_classic_value), &a);
	assert_true(m->classic && m->classic_session_timeout_ms == 10000);
	assert_int_equal(m->classic_protocol_count, 1);
	assert_true(str_is(m->classic_protocols[0].name, "range"));
	assert_int_equal(m->classic_protocols[0].metadata.len, 4);
	assert_memory_equal(m->classic_protocols[0].metadata.ptr, "\x00\x03\x01\x02", 4);

	v = read_ok(CG_RECORD_TARGET_ASSIGNMENT_METADATA, target_metadata_value, sizeof(target_metadata_value), &a);
	assert_true(v.target_metadata.assignment_epoch == 7 &&
		    v.target_metadata.assignment_timestamp_ms == INT64_C(1700000000123));

	v = read_ok(CG_RECORD_TARGET_ASSIGNMENT_MEMBER, target_member_value, sizeof(target_member_value), &a);
	assert_int_equal(v.target_member.topic_count, 2);
	assert_int_equal(v.target_member.topics[0].partition_count, 3);
	assert_int_equal(v.target_member.topics[0].partitions[2], 2);
	assert_memory_equal(v.target_member.topics[1].topic_id.b, topic_id(0x11).b, 16);

	v = read_ok(CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, current_value, sizeof(current_value), &a);
	const struct cg_current_assignment_value *c = &v.current_assignment;
	assert_true(c->member_epoch == 5 && c->previous_member_epoch == 4 && c->state == 1);
	assert_int_equal(c->assigned_count, 1);
	assert_int_equal(c->assigned[0].partition_count, 2);
	assert_int_equal(c->assigned[0].epoch_count, 2);
	assert_true(c->assigned[0].partitions[1] == 2 && c->assigned[0].assignment_epochs[1] == 5);
	assert_int_equal(c->pending_revocation_count, 1);
	assert_true(c->pending_revocation[0].epoch_count == 1 && c->pending_revocation[0].assignment_epochs[0] == 2);

	assert_int_equal(cg_record_key_read(view(regex_key, sizeof(regex_key)), &k, &reason), CG_RECORD_OK);
	assert_true(kstr_eq_cstr(k.regex, "foo.*"));
	v = read_ok(CG_RECORD_REGULAR_EXPRESSION, regex_value, sizeof(regex_value), &a);
	assert_int_equal(v.regex.topic_count, 2);
	assert_true(str_is(v.regex.topics[1], "foo2") && v.regex.version == 12 &&
		    v.regex.timestamp_ms == INT64_C(1700000000456));
	arena_release(&a);
}

static void test_live_broker_records(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, TEST_ARENA_BYTES);
	struct cg_record_key k;
	const char *reason = NULL;
	assert_int_equal(cg_record_key_read(view(live_static_member_key, sizeof(live_static_member_key)), &k, &reason),
			 CG_RECORD_OK);
	assert_true(kstr_eq_cstr(k.member_id, "r7trutKeQWGl8QsiE_yndA"));
	struct cg_record_value v = read_ok(CG_RECORD_MEMBER_METADATA, live_static_member_value,
					   sizeof(live_static_member_value), &a);
	const struct cg_member_value *m = &v.member;
	assert_true(str_is(m->instance_id, "static-1") && str_is(m->rack_id, "rack-x"));
	assert_true(m->topic_count == 0 && str_is(m->subscribed_topic_regex, "cg.*"));
	assert_true(str_is(m->server_assignor, NULL) && m->rebalance_timeout_ms == 300000 && !m->classic);

	v = read_ok(CG_RECORD_REGULAR_EXPRESSION, live_regex_value, sizeof(live_regex_value), &a);
	assert_int_equal(v.regex.topic_count, 2);
	assert_true(str_is(v.regex.topics[0], "cgbar") && str_is(v.regex.topics[1], "cgfoo"));

	/* A static member that left keeps its record, at epoch -2. */
	v = read_ok(CG_RECORD_CURRENT_MEMBER_ASSIGNMENT, live_static_left_value, sizeof(live_static_left_value), &a);
	const struct cg_current_assignment_value *c = &v.current_assignment;
	assert_true(c->member_epoch == -2 && c->previous_member_epoch == 3 && c->state == 0);
	assert_int_equal(c->assigned_count, 2);
	assert_int_equal(c->assigned[0].partition_count, 3);
	assert_int_equal(c->assigned[0].epoch_count, 3);
	assert_int_equal(c->pending_revocation_count, 0);
	arena_release(&a);
}

/* A null value is a tombstone, whatever the type; its key still decodes. */
static void test_tombstones(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct cg_record_value v;
		const char *reason = NULL;
		assert_int_equal(cg_record_value_read(vectors[i].type, (struct kbytes){ NULL, -1 }, NULL, &v, &reason),
				 CG_RECORD_TOMBSTONE);
		assert_int_equal(v.type, vectors[i].type);
	}
	/* An empty value is not a tombstone but a value cut short. */
	struct cg_record_value v;
	const char *reason = NULL;
	assert_int_equal(cg_record_value_read(CG_RECORD_METADATA, view(metadata_value, 0), NULL, &v, &reason),
			 CG_RECORD_MALFORMED);
}

/* Every strict prefix of a key or value is refused with a reason. */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *t = &vectors[i];
		for (size_t n = 0; n < t->key_len; n++) {
			struct cg_record_key k;
			const char *reason = NULL;
			assert_int_equal(cg_record_key_read(view(t->key, n), &k, &reason), CG_RECORD_MALFORMED);
			assert_non_null(reason);
		}
		for (size_t n = 0; n < t->value_len; n++) {
			struct arena a;
			arena_init(&a, TEST_ARENA_BYTES);
			struct cg_record_value v;
			const char *reason = NULL;
			assert_int_equal(cg_record_value_read(t->type, view(t->value, n), &a, &v, &reason),
					 CG_RECORD_MALFORMED);
			assert_non_null(reason);
			arena_release(&a);
		}
	}
}

static void test_other_types_and_versions(void **state)
{
	(void)state;
	struct cg_record_key k;
	struct cg_record_value v;
	const char *reason = NULL;
	/* Offsets, classic groups, share and streams groups are not ours. */
	const int16_t others[] = { 0, 1, 2, 9, 10, 15, 17, 23, -1 };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		uint8_t key[] = { (uint8_t)((uint16_t)others[i] >> 8), (uint8_t)others[i], 0, 1, 'g' };
		assert_int_equal(cg_record_key_read(view(key, sizeof(key)), &k, &reason), CG_RECORD_OTHER);
		assert_int_equal(cg_record_value_read(others[i], view(metadata_value, sizeof(metadata_value)), NULL,
						      &v, &reason),
				 CG_RECORD_OTHER);
	}
	/* Kafka 4.4 stops loading on a value version it does not know. */
	uint8_t future[sizeof(metadata_value)];
	memcpy(future, metadata_value, sizeof(future));
	future[1] = 1;
	reason = NULL;
	assert_int_equal(cg_record_value_read(CG_RECORD_METADATA, view(future, sizeof(future)), NULL, &v, &reason),
			 CG_RECORD_MALFORMED);
	assert_non_null(reason);
	future[0] = 0xff;
	assert_int_equal(cg_record_value_read(CG_RECORD_METADATA, view(future, sizeof(future)), NULL, &v, &reason),
			 CG_RECORD_MALFORMED);
}

/* Tags a newer Kafka might add are skipped; a known tag must fill its size. */
static void test_tagged_fields(void **state)
{
	(void)state;
	struct cg_record_value v;
	const char *reason = NULL;
	const uint8_t unknown_tag[] = { 0, 0, 0, 0, 0, 9, 2, 5, 2, 0xaa, 0xbb, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3 };
	assert_int_equal(cg_record_value_read(CG_RECORD_METADATA, view(unknown_tag, sizeof(unknown_tag)), NULL, &v,
					      &reason),
			 CG_RECORD_OK);
	assert_true(v.metadata.epoch == 9 && v.metadata.metadata_hash == 3);
	const uint8_t long_hash[] = { 0, 0, 0, 0, 0, 9, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, 0 };
	assert_int_equal(cg_record_value_read(CG_RECORD_METADATA, view(long_hash, sizeof(long_hash)), NULL, &v,
					      &reason),
			 CG_RECORD_MALFORMED);
	const uint8_t short_hash[] = { 0, 0, 0, 0, 0, 9, 1, 0, 4, 0, 0, 0, 3 };
	assert_int_equal(cg_record_value_read(CG_RECORD_METADATA, view(short_hash, sizeof(short_hash)), NULL, &v,
					      &reason),
			 CG_RECORD_MALFORMED);

	/* A member value without the classic tag reads as Kafka reads it: an
	 * empty classic metadata, which is its default, so it is left out again. */
	uint8_t no_classic[sizeof(member_minimal_value)];
	memcpy(no_classic, member_minimal_value, sizeof(no_classic));
	size_t n = sizeof(no_classic) - 3;
	no_classic[n - 1] = 0;
	struct arena a;
	arena_init(&a, TEST_ARENA_BYTES);
	assert_int_equal(cg_record_value_read(CG_RECORD_MEMBER_METADATA, view(no_classic, n), &a, &v, &reason),
			 CG_RECORD_OK);
	assert_true(v.member.classic && v.member.classic_session_timeout_ms == 0 &&
		    v.member.classic_protocol_count == 0);
	assert_encodes_to(&v, no_classic, n);
	arena_release(&a);
}

/* Counts are checked against the bytes left and a bound before anything is
 * allocated, and the arena bounds the rest. */
static void test_bounds(void **state)
{
	(void)state;
	struct cg_record_value v;
	const char *reason = NULL;
	/* The regex value's topic count says 2^28 - 1 topics in 10 bytes. */
	const uint8_t many[] = { 0, 0, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0, 0 };
	struct arena a;
	arena_init(&a, TEST_ARENA_BYTES);
	assert_int_equal(cg_record_value_read(CG_RECORD_REGULAR_EXPRESSION, view(many, sizeof(many)), &a, &v, &reason),
			 CG_RECORD_MALFORMED);
	arena_release(&a);
	/* A tiny arena cannot hold the target assignment's topics. */
	arena_init(&a, 16);
	assert_int_equal(cg_record_value_read(CG_RECORD_TARGET_ASSIGNMENT_MEMBER,
					      view(target_member_value, sizeof(target_member_value)), &a, &v, &reason),
			 CG_RECORD_MALFORMED);
	assert_string_equal(reason, "the arena's bound was reached");
	arena_release(&a);
	/* A key's strings must fit their int16 lengths. */
	struct cg_record_key k = { .type = CG_RECORD_METADATA, .group_id = { "g", INT16_MAX + 1 },
				   .member_id = { "", 0 }, .regex = { "", 0 } };
	assert_false(cg_record_key_fits(&k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_vectors_round_trip),
		cmocka_unit_test(test_kafka_vectors_fields),
		cmocka_unit_test(test_live_broker_records),
		cmocka_unit_test(test_tombstones),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_other_types_and_versions),
		cmocka_unit_test(test_tagged_fields),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
