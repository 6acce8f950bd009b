/* The KIP-848 consumer group APIs' generated codecs, ConsumerGroupHeartbeat
 * (68) and ConsumerGroupDescribe (69): byte-exact encodings written out by
 * hand from Kafka's message schemas at every version (null and present
 * Assignment, SubscribedTopicNames, SubscribedTopicRegex, InstanceId), round
 * trips at every version, every truncated prefix refused, unknown tagged
 * fields skipped at every level, oversized counts refused, and the error
 * codes a response carries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec_fixture.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { ARENA_BYTES = 1 << 20, ERRORS_MAX = 8 };

/* A topic id whose bytes are 0x01..0x10, as the golden encodings spell it. */
#define TOPIC_ID_BYTES 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, \
		       0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10

static const struct kuuid TOPIC_ID = { { TOPIC_ID_BYTES } };

/* Releases what DECODE made: the arena and the copy its views point into. */
static void decoded_release(struct arena *a, uint8_t *copy)
{
	arena_release(a);
	free(copy);
}

/* Decodes all of buf (an exactly sized copy) into out with arena a, which
 * the caller releases; the copy stays alive with the arena (views point in). */
#define DECODE(type, buf, len, version, a, out, copy)                             \
	do {                                                                      \
		copy = malloc((len) ? (len) : 1);                                 \
		assert_non_null(copy);                                            \
		memcpy(copy, (buf), (len));                                       \
		struct rcursor c;                                                 \
		arena_init(&(a), ARENA_BYTES);                                    \
		rc_init(&c, copy, (len));                                         \
		assert_int_equal(type##_decode(&c, (version), &(a), (out)), 0);  \
		assert_int_equal(rc_left(&c), 0);                                 \
	} while (0)

/* msg encodes to exactly the len bytes at expected. */
#define EXPECT_ENCODES_TO(type, msg, version, expected, len)  \
	do {                                                  \
		uint8_t *enc_;                                \
		size_t n_;                                    \
		ENCODE(type, (msg), (version), enc_, n_);     \
		assert_int_equal(n_, (len));                  \
		assert_memory_equal(enc_, (expected), n_);    \
		free(enc_);                                   \
	} while (0)

/* The message encodes to exactly the golden bytes, and the golden bytes
 * decode (every prefix failing) and encode back to themselves. */
#define EXPECT_GOLDEN(type, msg, version, golden)                                   \
	do {                                                                        \
		EXPECT_ENCODES_TO(type, (msg), (version), (golden), sizeof(golden)); \
		EXPECT_PREFIXES_FAIL(type, (golden), sizeof(golden), (version));    \
		struct arena ga;                                                    \
		struct type back;                                                   \
		uint8_t *copy;                                                      \
		DECODE(type, (golden), sizeof(golden), (version), ga, &back, copy); \
		EXPECT_ENCODES_TO(type, &back, (version), (golden), sizeof(golden)); \
		decoded_release(&ga, copy);                                         \
	} while (0)

/* Encodes msg, decodes it, encodes the result again: the same bytes, and
 * every prefix of them refused. */
#define EXPECT_ROUND_TRIP(type, msg, version, a, out, copy)                       \
	do {                                                                      \
		uint8_t *enc1, *enc2;                                             \
		size_t n1, n2;                                                    \
		ENCODE(type, (msg), (version), enc1, n1);                         \
		EXPECT_PREFIXES_FAIL(type, enc1, n1, (version));                  \
		DECODE(type, enc1, n1, (version), a, (out), copy);                \
		ENCODE(type, (out), (version), enc2, n2);                         \
		assert_int_equal(n1, n2);                                         \
		assert_memory_equal(enc1, enc2, n1);                              \
		free(enc2);                                                       \
		free(enc1);                                                       \
	} while (0)

struct errors_seen {
	int16_t codes[ERRORS_MAX];
	size_t n;
};

static void errors_collect(void *ctx, int16_t code)
{
	struct errors_seen *e = ctx;
	assert_true(e->n < ERRORS_MAX);
	e->codes[e->n++] = code;
}

/* ---- ConsumerGroupHeartbeat request ---- */

static void hb_request_nulls(struct consumer_group_heartbeat_request *q)
{
	consumer_group_heartbeat_request_init(q);
	q->group_id = kstr_from_cstr("g");
	q->member_id = kstr_from_cstr("");
}

/* The fields before and after subscribed_topic_regex (v1+), all null or
 * defaults but the group id. */
#define HB_REQ_NULLS_HEAD                                                  \
	0x02, 'g',              /* group_id "g" (compact: length + 1) */   \
	0x01,                   /* member_id "" */                         \
	0x00, 0x00, 0x00, 0x00, /* member_epoch 0: join */                 \
	0x00,                   /* instance_id null */                     \
	0x00,                   /* rack_id null */                         \
	0xff, 0xff, 0xff, 0xff, /* rebalance_timeout_ms -1 (the default) */ \
	0x00                    /* subscribed_topic_names null */

#define HB_REQ_NULLS_TAIL                                \
	0x00,                   /* server_assignor null */ \
	0x00,                   /* topic_partitions null */ \
	0x00                    /* no tagged fields */

static const uint8_t HB_REQ_V0_NULLS[] = { HB_REQ_NULLS_HEAD, HB_REQ_NULLS_TAIL };
static const uint8_t HB_REQ_V1_NULLS[] = {
	HB_REQ_NULLS_HEAD,
	0x00, /* subscribed_topic_regex null (v1+) */
	HB_REQ_NULLS_TAIL,
};

static struct consumer_group_heartbeat_request_topic_partitions hb_owned[1];
static int32_t hb_owned_partitions[] = { 0, 2 };
static struct kstr hb_names[2];

static void hb_request_full(struct consumer_group_heartbeat_request *q)
{
	consumer_group_heartbeat_request_init(q);
	q->group_id = kstr_from_cstr("g");
	q->member_id = kstr_from_cstr("m1");
	q->member_epoch = 5;
	q->instance_id = kstr_from_cstr("i");
	q->rack_id = kstr_from_cstr("r");
	q->rebalance_timeout_ms = 30000;
	hb_names[0] = kstr_from_cstr("t1");
	hb_names[1] = kstr_from_cstr("t2");
	q->subscribed_topic_names = hb_names;
	q->subscribed_topic_names_count = 2;
	q->subscribed_topic_regex = kstr_from_cstr("t.*");
	q->server_assignor = kstr_from_cstr("uniform");
	consumer_group_heartbeat_request_topic_partitions_init(&hb_owned[0]);
	hb_owned[0].topic_id = TOPIC_ID;
	hb_owned[0].partitions = hb_owned_partitions;
	hb_owned[0].partitions_count = 2;
	q->topic_partitions = hb_owned;
	q->topic_partitions_count = 1;
}

/* The fields before and after subscribed_topic_regex, all set. */
#define HB_REQ_FULL_HEAD                                                       \
	0x02, 'g',                          /* group_id "g" */                 \
	0x03, 'm', '1',                     /* member_id "m1" */               \
	0x00, 0x00, 0x00, 0x05,             /* member_epoch 5 */               \
	0x02, 'i',                          /* instance_id "i" */              \
	0x02, 'r',                          /* rack_id "r" */                  \
	0x00, 0x00, 0x75, 0x30,             /* rebalance_timeout_ms 30000 */   \
	0x03,                               /* subscribed_topic_names: 2 */    \
	0x03, 't', '1', 0x03, 't', '2'      /*   "t1", "t2" */

#define HB_REQ_FULL_TAIL                                                       \
	0x08, 'u', 'n', 'i', 'f', 'o', 'r', 'm', /* server_assignor "uniform" */ \
	0x02,                               /* topic_partitions: 1 */          \
	TOPIC_ID_BYTES,                     /*   topic_id */                   \
	0x03,                               /*   partitions: 2 */              \
	0x00, 0x00, 0x00, 0x00,             /*     0 */                        \
	0x00, 0x00, 0x00, 0x02,             /*     2 */                        \
	0x00,                               /*   no tagged fields */           \
	0x00                                /* no tagged fields */

static const uint8_t HB_REQ_V0_FULL[] = { HB_REQ_FULL_HEAD, HB_REQ_FULL_TAIL };
static const uint8_t HB_REQ_V1_FULL[] = {
	HB_REQ_FULL_HEAD,
	0x04, 't', '.', '*', /* subscribed_topic_regex "t.*" (v1+) */
	HB_REQ_FULL_TAIL,
};

/* HB_REQ_V1_FULL with unknown tagged fields in the owned partition's entry
 * and at the top level: the decoder skips them. */
static const uint8_t HB_REQ_V1_UNKNOWN_TAGS[] = {
	0x02, 'g', 0x03, 'm', '1', 0x00, 0x00, 0x00, 0x05, 0x02, 'i', 0x02, 'r',
	0x00, 0x00, 0x75, 0x30, 0x03, 0x03, 't', '1', 0x03, 't', '2',
	0x04, 't', '.', '*', 0x08, 'u', 'n', 'i', 'f', 'o', 'r', 'm',
	0x02, TOPIC_ID_BYTES, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x01,                   /*   1 tagged field: */
	0x05, 0x01, 0xaa,       /*     tag 5, 1 byte */
	0x02,                   /* 2 tagged fields: */
	0x07, 0x02, 'z', 'z',   /*   tag 7, 2 bytes */
	0x80, 0x01, 0x00,       /*   tag 128 (a two-byte varint), empty */
};

static void hb_request_check_full(const struct consumer_group_heartbeat_request *q, int16_t version)
{
	assert_true(kstr_eq_cstr(q->group_id, "g"));
	assert_true(kstr_eq_cstr(q->member_id, "m1"));
	assert_int_equal(q->member_epoch, 5);
	assert_true(kstr_eq_cstr(q->instance_id, "i"));
	assert_true(kstr_eq_cstr(q->rack_id, "r"));
	assert_int_equal(q->rebalance_timeout_ms, 30000);
	assert_int_equal(q->subscribed_topic_names_count, 2);
	assert_true(kstr_eq_cstr(q->subscribed_topic_names[0], "t1"));
	assert_true(kstr_eq_cstr(q->subscribed_topic_names[1], "t2"));
	if (version >= 1)
		assert_true(kstr_eq_cstr(q->subscribed_topic_regex, "t.*"));
	else
		assert_int_equal(q->subscribed_topic_regex.len, -1);
	assert_true(kstr_eq_cstr(q->server_assignor, "uniform"));
	assert_int_equal(q->topic_partitions_count, 1);
	assert_memory_equal(q->topic_partitions[0].topic_id.b, TOPIC_ID.b, 16);
	assert_int_equal(q->topic_partitions[0].partitions_count, 2);
	assert_int_equal(q->topic_partitions[0].partitions[0], 0);
	assert_int_equal(q->topic_partitions[0].partitions[1], 2);
}

static void test_heartbeat_request_golden(void **state)
{
	(void)state;
	struct consumer_group_heartbeat_request q;
	hb_request_nulls(&q);
	EXPECT_GOLDEN(consumer_group_heartbeat_request, &q, 0, HB_REQ_V0_NULLS);
	EXPECT_GOLDEN(consumer_group_heartbeat_request, &q, 1, HB_REQ_V1_NULLS);
	/* v0 has no regex: a set one is not written. */
	hb_request_full(&q);
	EXPECT_GOLDEN(consumer_group_heartbeat_request, &q, 0, HB_REQ_V0_FULL);
	EXPECT_GOLDEN(consumer_group_heartbeat_request, &q, 1, HB_REQ_V1_FULL);
}

static void test_heartbeat_request_decoded_fields(void **state)
{
	(void)state;
	struct consumer_group_heartbeat_request q;
	struct arena a;
	uint8_t *copy;
	DECODE(consumer_group_heartbeat_request, HB_REQ_V1_NULLS, sizeof(HB_REQ_V1_NULLS), 1, a, &q, copy);
	assert_true(kstr_eq_cstr(q.group_id, "g"));
	assert_int_equal(q.member_id.len, 0);
	assert_int_equal(q.instance_id.len, -1);
	assert_int_equal(q.rack_id.len, -1);
	assert_int_equal(q.rebalance_timeout_ms, -1);
	assert_int_equal(q.subscribed_topic_names_count, -1);
	assert_int_equal(q.subscribed_topic_regex.len, -1);
	assert_int_equal(q.server_assignor.len, -1);
	assert_int_equal(q.topic_partitions_count, -1);
	decoded_release(&a, copy);
	for (int16_t v = 0; v <= 1; v++) {
		const uint8_t *g = v == 0 ? HB_REQ_V0_FULL : HB_REQ_V1_FULL;
		size_t n = v == 0 ? sizeof(HB_REQ_V0_FULL) : sizeof(HB_REQ_V1_FULL);
		DECODE(consumer_group_heartbeat_request, g, n, v, a, &q, copy);
		hb_request_check_full(&q, v);
		decoded_release(&a, copy);
	}
}

static void test_heartbeat_request_unknown_tags(void **state)
{
	(void)state;
	struct consumer_group_heartbeat_request q;
	struct arena a;
	uint8_t *copy;
	EXPECT_PREFIXES_FAIL(consumer_group_heartbeat_request, HB_REQ_V1_UNKNOWN_TAGS,
			     sizeof(HB_REQ_V1_UNKNOWN_TAGS), 1);
	DECODE(consumer_group_heartbeat_request, HB_REQ_V1_UNKNOWN_TAGS, sizeof(HB_REQ_V1_UNKNOWN_TAGS),
	       1, a, &q, copy);
	hb_request_check_full(&q, 1);
	/* What was skipped is not written back. */
	EXPECT_ENCODES_TO(consumer_group_heartbeat_request, &q, 1, HB_REQ_V1_FULL, sizeof(HB_REQ_V1_FULL));
	decoded_release(&a, copy);
}

static void test_heartbeat_request_round_trips(void **state)
{
	(void)state;
	const struct proto_api_info *info = proto_api_find(API_CONSUMER_GROUP_HEARTBEAT);
	assert_non_null(info);
	assert_int_equal(info->min_version, 0);
	assert_int_equal(info->max_version, 1);
	assert_int_equal(info->flexible_from, 0);
	for (int16_t v = info->min_version; v <= info->max_version; v++) {
		struct consumer_group_heartbeat_request q, back;
		struct arena a;
		uint8_t *copy;
		hb_request_full(&q);
		EXPECT_ROUND_TRIP(consumer_group_heartbeat_request, &q, v, a, &back, copy);
		hb_request_check_full(&back, v);
		decoded_release(&a, copy);
		/* Present but empty lists stay empty, not null. */
		hb_request_nulls(&q);
		q.subscribed_topic_names_count = 0;
		q.topic_partitions_count = 0;
		q.subscribed_topic_regex = kstr_from_cstr("");
		EXPECT_ROUND_TRIP(consumer_group_heartbeat_request, &q, v, a, &back, copy);
		assert_int_equal(back.subscribed_topic_names_count, 0);
		assert_int_equal(back.topic_partitions_count, 0);
		assert_int_equal(back.subscribed_topic_regex.len, v >= 1 ? 0 : -1);
		assert_int_equal(back.instance_id.len, -1);
		decoded_release(&a, copy);
	}
}

/* Counts larger than the bytes that follow are refused before anything is
 * allocated for them. */
static void test_heartbeat_request_oversized_counts(void **state)
{
	(void)state;
	static const uint8_t names_count[] = {
		0x02, 'g', 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0x0f, /* subscribed_topic_names: 2^32 - 2 */
		0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t partitions_count[] = {
		0x02, 'g', 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x02, TOPIC_ID_BYTES,
		0x40, /* partitions: 63, each 4 bytes, 3 left */
		0x00, 0x00, 0x00,
	};
	struct consumer_group_heartbeat_request q;
	struct arena a;
	struct rcursor c;
	arena_init(&a, ARENA_BYTES);
	rc_init(&c, (uint8_t *)names_count, sizeof(names_count));
	assert_int_equal(consumer_group_heartbeat_request_decode(&c, 1, &a, &q), -1);
	assert_int_not_equal(c.err, RC_OK);
	rc_init(&c, (uint8_t *)partitions_count, sizeof(partitions_count));
	assert_int_equal(consumer_group_heartbeat_request_decode(&c, 1, &a, &q), -1);
	assert_int_not_equal(c.err, RC_OK);
	arena_release(&a);
}

/* ---- ConsumerGroupHeartbeat response ---- */

static struct consumer_group_heartbeat_response_topic_partitions hb_assigned[1];
static int32_t hb_assigned_partitions[] = { 0, 1 };

static void hb_response_make(struct consumer_group_heartbeat_response *r, bool assignment)
{
	consumer_group_heartbeat_response_init(r);
	r->member_id = kstr_from_cstr("m1");
	r->member_epoch = 1;
	r->heartbeat_interval_ms = 5000;
	if (!assignment)
		return;
	consumer_group_heartbeat_response_topic_partitions_init(&hb_assigned[0]);
	hb_assigned[0].topic_id = TOPIC_ID;
	hb_assigned[0].partitions = hb_assigned_partitions;
	hb_assigned[0].partitions_count = 2;
	r->assignment.topic_partitions = hb_assigned;
	r->assignment.topic_partitions_count = 1;
	r->assignment_present = true;
}

/* v0 and v1 responses have the same fields. */
static const uint8_t HB_RESP_NULL_ASSIGNMENT[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms 0 */
	0x00, 0x00,             /* error_code 0 */
	0x00,                   /* error_message null */
	0x03, 'm', '1',         /* member_id "m1" */
	0x00, 0x00, 0x00, 0x01, /* member_epoch 1 */
	0x00, 0x00, 0x13, 0x88, /* heartbeat_interval_ms 5000 */
	0xff,                   /* assignment: null (int8 -1) */
	0x00,                   /* no tagged fields */
};

static const uint8_t HB_RESP_ASSIGNMENT[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms 0 */
	0x00, 0x00,             /* error_code 0 */
	0x00,                   /* error_message null */
	0x03, 'm', '1',         /* member_id "m1" */
	0x00, 0x00, 0x00, 0x01, /* member_epoch 1 */
	0x00, 0x00, 0x13, 0x88, /* heartbeat_interval_ms 5000 */
	0x01,                   /* assignment: present (int8 1), then: */
	0x02,                   /*   topic_partitions: 1 */
	TOPIC_ID_BYTES,         /*     topic_id */
	0x03,                   /*     partitions: 2 */
	0x00, 0x00, 0x00, 0x00, /*       0 */
	0x00, 0x00, 0x00, 0x01, /*       1 */
	0x00,                   /*     no tagged fields (TopicPartitions) */
	0x00,                   /*   no tagged fields (Assignment) */
	0x00,                   /* no tagged fields */
};

static const uint8_t HB_RESP_ERROR[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms 0 */
	0x00, 0x19,             /* error_code 25: UNKNOWN_MEMBER_ID */
	0x04, 'b', 'a', 'd',    /* error_message "bad" */
	0x00,                   /* member_id null */
	0xff, 0xff, 0xff, 0xff, /* member_epoch -1 */
	0x00, 0x00, 0x00, 0x00, /* heartbeat_interval_ms 0 */
	0xff,                   /* assignment: null */
	0x00,                   /* no tagged fields */
};

static void test_heartbeat_response_golden(void **state)
{
	(void)state;
	for (int16_t v = 0; v <= 1; v++) {
		struct consumer_group_heartbeat_response r;
		hb_response_make(&r, false);
		EXPECT_GOLDEN(consumer_group_heartbeat_response, &r, v, HB_RESP_NULL_ASSIGNMENT);
		hb_response_make(&r, true);
		EXPECT_GOLDEN(consumer_group_heartbeat_response, &r, v, HB_RESP_ASSIGNMENT);
		consumer_group_heartbeat_response_init(&r);
		r.error_code = KERR_UNKNOWN_MEMBER_ID;
		r.error_message = kstr_from_cstr("bad");
		r.member_epoch = -1;
		EXPECT_GOLDEN(consumer_group_heartbeat_response, &r, v, HB_RESP_ERROR);
	}
}

static void test_heartbeat_response_assignment_decoded(void **state)
{
	(void)state;
	struct consumer_group_heartbeat_response r;
	struct arena a;
	uint8_t *copy;
	DECODE(consumer_group_heartbeat_response, HB_RESP_NULL_ASSIGNMENT, sizeof(HB_RESP_NULL_ASSIGNMENT),
	       1, a, &r, copy);
	assert_false(r.assignment_present);
	assert_int_equal(r.assignment.topic_partitions_count, 0);
	assert_int_equal(r.error_message.len, -1);
	assert_true(kstr_eq_cstr(r.member_id, "m1"));
	assert_int_equal(r.heartbeat_interval_ms, 5000);
	decoded_release(&a, copy);

	DECODE(consumer_group_heartbeat_response, HB_RESP_ASSIGNMENT, sizeof(HB_RESP_ASSIGNMENT), 0, a, &r,
	       copy);
	assert_true(r.assignment_present);
	assert_int_equal(r.assignment.topic_partitions_count, 1);
	assert_memory_equal(r.assignment.topic_partitions[0].topic_id.b, TOPIC_ID.b, 16);
	assert_int_equal(r.assignment.topic_partitions[0].partitions_count, 2);
	assert_int_equal(r.assignment.topic_partitions[0].partitions[1], 1);
	decoded_release(&a, copy);
}

/* Kafka reads any negative marker as null and any other as present. */
static void test_heartbeat_response_null_markers(void **state)
{
	(void)state;
	uint8_t buf[sizeof(HB_RESP_ASSIGNMENT)];
	struct consumer_group_heartbeat_response r;
	struct arena a;
	uint8_t *copy;
	memcpy(buf, HB_RESP_NULL_ASSIGNMENT, sizeof(HB_RESP_NULL_ASSIGNMENT));
	buf[18] = 0x80; /* int8 -128 */
	DECODE(consumer_group_heartbeat_response, buf, sizeof(HB_RESP_NULL_ASSIGNMENT), 1, a, &r, copy);
	assert_false(r.assignment_present);
	decoded_release(&a, copy);

	memcpy(buf, HB_RESP_ASSIGNMENT, sizeof(HB_RESP_ASSIGNMENT));
	buf[18] = 0x00; /* int8 0 */
	DECODE(consumer_group_heartbeat_response, buf, sizeof(HB_RESP_ASSIGNMENT), 1, a, &r, copy);
	assert_true(r.assignment_present);
	assert_int_equal(r.assignment.topic_partitions_count, 1);
	/* Written back with Kafka's own marker, 1. */
	EXPECT_ENCODES_TO(consumer_group_heartbeat_response, &r, 1, HB_RESP_ASSIGNMENT,
			  sizeof(HB_RESP_ASSIGNMENT));
	decoded_release(&a, copy);
}

/* Unknown tags inside the nullable struct and its array are skipped. */
static void test_heartbeat_response_unknown_tags(void **state)
{
	(void)state;
	static const uint8_t tagged[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 'm', '1',
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x13, 0x88,
		0x01, 0x02, TOPIC_ID_BYTES, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x01, 0x00, 0x01, 0x07, /*     TopicPartitions: tag 0, 1 byte */
		0x01, 0x09, 0x00,       /*   Assignment: tag 9, empty */
		0x01, 0x03, 0x02, 0x01, 0x02, /* response: tag 3, 2 bytes */
	};
	EXPECT_PREFIXES_FAIL(consumer_group_heartbeat_response, tagged, sizeof(tagged), 1);
	struct consumer_group_heartbeat_response r;
	struct arena a;
	uint8_t *copy;
	DECODE(consumer_group_heartbeat_response, tagged, sizeof(tagged), 1, a, &r, copy);
	EXPECT_ENCODES_TO(consumer_group_heartbeat_response, &r, 1, HB_RESP_ASSIGNMENT,
			  sizeof(HB_RESP_ASSIGNMENT));
	decoded_release(&a, copy);
}

static void test_heartbeat_response_round_trips_and_errors(void **state)
{
	(void)state;
	for (int16_t v = 0; v <= 1; v++) {
		struct consumer_group_heartbeat_response r, back;
		struct arena a;
		uint8_t *copy;
		hb_response_make(&r, true);
		r.throttle_time_ms = 7;
		r.error_code = KERR_NOT_COORDINATOR;
		r.error_message = kstr_from_cstr("moved");
		EXPECT_ROUND_TRIP(consumer_group_heartbeat_response, &r, v, a, &back, copy);
		assert_true(back.assignment_present);
		assert_int_equal(back.throttle_time_ms, 7);
		assert_true(kstr_eq_cstr(back.error_message, "moved"));
		struct errors_seen e = { .n = 0 };
		consumer_group_heartbeat_response_errors(&back, v, errors_collect, &e);
		assert_int_equal(e.n, 1);
		assert_int_equal(e.codes[0], KERR_NOT_COORDINATOR);
		decoded_release(&a, copy);
		/* A present assignment with no partitions is not null. */
		hb_response_make(&r, false);
		r.assignment_present = true;
		EXPECT_ROUND_TRIP(consumer_group_heartbeat_response, &r, v, a, &back, copy);
		assert_true(back.assignment_present);
		assert_int_equal(back.assignment.topic_partitions_count, 0);
		decoded_release(&a, copy);
	}
}

/* ---- ConsumerGroupDescribe ---- */

/* v0 and v1 requests have the same fields. */
static const uint8_t CGD_REQ[] = {
	0x03,                   /* group_ids: 2 */
	0x03, 'g', '1',         /*   "g1" */
	0x01,                   /*   "" */
	0x01,                   /* include_authorized_operations true */
	0x00,                   /* no tagged fields */
};

static void test_describe_request_golden_and_round_trips(void **state)
{
	(void)state;
	struct kstr ids[2] = { kstr_from_cstr("g1"), kstr_from_cstr("") };
	const struct proto_api_info *info = proto_api_find(API_CONSUMER_GROUP_DESCRIBE);
	assert_non_null(info);
	assert_int_equal(info->min_version, 0);
	assert_int_equal(info->max_version, 1);
	assert_int_equal(info->flexible_from, 0);
	for (int16_t v = info->min_version; v <= info->max_version; v++) {
		struct consumer_group_describe_request q, back;
		consumer_group_describe_request_init(&q);
		q.group_ids = ids;
		q.group_ids_count = 2;
		q.include_authorized_operations = true;
		EXPECT_GOLDEN(consumer_group_describe_request, &q, v, CGD_REQ);
		struct arena a;
		uint8_t *copy;
		EXPECT_ROUND_TRIP(consumer_group_describe_request, &q, v, a, &back, copy);
		assert_int_equal(back.group_ids_count, 2);
		assert_true(kstr_eq_cstr(back.group_ids[0], "g1"));
		assert_int_equal(back.group_ids[1].len, 0);
		assert_true(back.include_authorized_operations);
		decoded_release(&a, copy);
	}
	/* group_ids is not nullable: a null count is refused. */
	static const uint8_t null_ids[] = { 0x00, 0x00, 0x00 };
	struct consumer_group_describe_request q;
	struct arena a;
	struct rcursor c;
	arena_init(&a, ARENA_BYTES);
	rc_init(&c, (uint8_t *)null_ids, sizeof(null_ids));
	assert_int_equal(consumer_group_describe_request_decode(&c, 0, &a, &q), -1);
	assert_int_equal(c.err, RC_NEGATIVE);
	arena_release(&a);
}

static struct consumer_group_describe_response_described_group cgd_groups[2];
static struct consumer_group_describe_response_member cgd_members[1];
static struct consumer_group_describe_response_topic_partitions cgd_tps[1];
static int32_t cgd_partitions[] = { 0 };
static struct kstr cgd_subscribed[1];

/* One group with one member, its current assignment one partition and its
 * target empty; with `failed`, a second group that was not found. */
static void cgd_response_make(struct consumer_group_describe_response *r, bool failed)
{
	consumer_group_describe_response_init(r);
	struct consumer_group_describe_response_described_group *g = &cgd_groups[0];
	consumer_group_describe_response_described_group_init(g);
	g->group_id = kstr_from_cstr("g1");
	g->group_state = kstr_from_cstr("Stable");
	g->group_epoch = 3;
	g->assignment_epoch = 3;
	g->assignor_name = kstr_from_cstr("uniform");
	struct consumer_group_describe_response_member *m = &cgd_members[0];
	consumer_group_describe_response_member_init(m);
	m->member_id = kstr_from_cstr("m1");
	m->rack_id = kstr_from_cstr("r");
	m->member_epoch = 3;
	m->client_id = kstr_from_cstr("c1");
	m->client_host = kstr_from_cstr("/h");
	cgd_subscribed[0] = kstr_from_cstr("t");
	m->subscribed_topic_names = cgd_subscribed;
	m->subscribed_topic_names_count = 1;
	consumer_group_describe_response_topic_partitions_init(&cgd_tps[0]);
	cgd_tps[0].topic_id = TOPIC_ID;
	cgd_tps[0].topic_name = kstr_from_cstr("t");
	cgd_tps[0].partitions = cgd_partitions;
	cgd_tps[0].partitions_count = 1;
	m->assignment.topic_partitions = cgd_tps;
	m->assignment.topic_partitions_count = 1;
	m->member_type = 1;
	g->members = m;
	g->members_count = 1;
	r->groups = cgd_groups;
	r->groups_count = 1;
	if (!failed)
		return;
	consumer_group_describe_response_described_group_init(&cgd_groups[1]);
	cgd_groups[1].error_code = KERR_GROUP_ID_NOT_FOUND;
	cgd_groups[1].error_message = kstr_from_cstr("none");
	cgd_groups[1].group_id = kstr_from_cstr("g2");
	cgd_groups[1].group_state = kstr_from_cstr("Dead");
	r->groups_count = 2;
}

#define CGD_RESP_HEAD                                                                   \
	0x00, 0x00, 0x00, 0x00,             /* throttle_time_ms 0 */                    \
	0x02,                               /* groups: 1 */                             \
	0x00, 0x00,                         /*   error_code 0 */                        \
	0x00,                               /*   error_message null */                  \
	0x03, 'g', '1',                     /*   group_id "g1" */                       \
	0x07, 'S', 't', 'a', 'b', 'l', 'e', /*   group_state "Stable" */                \
	0x00, 0x00, 0x00, 0x03,             /*   group_epoch 3 */                       \
	0x00, 0x00, 0x00, 0x03,             /*   assignment_epoch 3 */                  \
	0x08, 'u', 'n', 'i', 'f', 'o', 'r', 'm', /* assignor_name "uniform" */          \
	0x02,                               /*   members: 1 */                          \
	0x03, 'm', '1',                     /*     member_id "m1" */                    \
	0x00,                               /*     instance_id null */                  \
	0x02, 'r',                          /*     rack_id "r" */                       \
	0x00, 0x00, 0x00, 0x03,             /*     member_epoch 3 */                    \
	0x03, 'c', '1',                     /*     client_id "c1" */                    \
	0x03, '/', 'h',                     /*     client_host "/h" */                  \
	0x02, 0x02, 't',                    /*     subscribed_topic_names ["t"] */      \
	0x00,                               /*     subscribed_topic_regex null */       \
	0x02,                               /*     assignment: topic_partitions 1 */    \
	TOPIC_ID_BYTES,                     /*       topic_id */                        \
	0x02, 't',                          /*       topic_name "t" */                  \
	0x02, 0x00, 0x00, 0x00, 0x00,       /*       partitions [0] */                  \
	0x00,                               /*       no tagged fields */                \
	0x00,                               /*     (assignment) no tagged fields */     \
	0x01,                               /*     target_assignment: 0 partitions */   \
	0x00                                /*     (target) no tagged fields */

#define CGD_RESP_TAIL                                                                   \
	0x00,                               /*     (member) no tagged fields */         \
	0x80, 0x00, 0x00, 0x00,             /*   authorized_operations INT32_MIN */     \
	0x00,                               /*   (group) no tagged fields */            \
	0x00                                /* no tagged fields */

static const uint8_t CGD_RESP_V0[] = { CGD_RESP_HEAD, CGD_RESP_TAIL };
static const uint8_t CGD_RESP_V1[] = {
	CGD_RESP_HEAD,
	0x01, /*     member_type 1: consumer (v1+) */
	CGD_RESP_TAIL,
};

static void cgd_response_check(const struct consumer_group_describe_response *r, int16_t version)
{
	assert_int_equal(r->groups_count, 1);
	const struct consumer_group_describe_response_described_group *g = &r->groups[0];
	assert_true(kstr_eq_cstr(g->group_state, "Stable"));
	assert_int_equal(g->authorized_operations, INT32_MIN);
	assert_int_equal(g->members_count, 1);
	const struct consumer_group_describe_response_member *m = &g->members[0];
	assert_int_equal(m->instance_id.len, -1);
	assert_true(kstr_eq_cstr(m->rack_id, "r"));
	assert_int_equal(m->subscribed_topic_regex.len, -1);
	assert_int_equal(m->subscribed_topic_names_count, 1);
	assert_int_equal(m->assignment.topic_partitions_count, 1);
	assert_true(kstr_eq_cstr(m->assignment.topic_partitions[0].topic_name, "t"));
	assert_int_equal(m->assignment.topic_partitions[0].partitions[0], 0);
	assert_int_equal(m->target_assignment.topic_partitions_count, 0);
	assert_int_equal(m->member_type, version >= 1 ? 1 : -1);
}

static void test_describe_response_golden(void **state)
{
	(void)state;
	struct consumer_group_describe_response r;
	cgd_response_make(&r, false);
	EXPECT_GOLDEN(consumer_group_describe_response, &r, 0, CGD_RESP_V0);
	EXPECT_GOLDEN(consumer_group_describe_response, &r, 1, CGD_RESP_V1);
	struct arena a;
	uint8_t *copy;
	DECODE(consumer_group_describe_response, CGD_RESP_V0, sizeof(CGD_RESP_V0), 0, a, &r, copy);
	cgd_response_check(&r, 0);
	decoded_release(&a, copy);
	DECODE(consumer_group_describe_response, CGD_RESP_V1, sizeof(CGD_RESP_V1), 1, a, &r, copy);
	cgd_response_check(&r, 1);
	decoded_release(&a, copy);
}

static void test_describe_response_round_trips_and_errors(void **state)
{
	(void)state;
	for (int16_t v = 0; v <= 1; v++) {
		struct consumer_group_describe_response r, back;
		struct arena a;
		uint8_t *copy;
		cgd_response_make(&r, true);
		/* The two fields of the shared struct are independent. */
		cgd_members[0].target_assignment = cgd_members[0].assignment;
		cgd_members[0].instance_id = kstr_from_cstr("i");
		cgd_members[0].subscribed_topic_regex = kstr_from_cstr("^t");
		EXPECT_ROUND_TRIP(consumer_group_describe_response, &r, v, a, &back, copy);
		assert_int_equal(back.groups_count, 2);
		const struct consumer_group_describe_response_member *m = &back.groups[0].members[0];
		assert_true(kstr_eq_cstr(m->instance_id, "i"));
		assert_true(kstr_eq_cstr(m->subscribed_topic_regex, "^t"));
		assert_int_equal(m->target_assignment.topic_partitions_count, 1);
		assert_memory_equal(m->target_assignment.topic_partitions[0].topic_id.b, TOPIC_ID.b, 16);
		assert_ptr_not_equal(m->target_assignment.topic_partitions, m->assignment.topic_partitions);
		assert_int_equal(m->member_type, v >= 1 ? 1 : -1);
		assert_int_equal(back.groups[1].members_count, 0);
		assert_int_equal(back.groups[1].authorized_operations, INT32_MIN);
		struct errors_seen e = { .n = 0 };
		consumer_group_describe_response_errors(&back, v, errors_collect, &e);
		assert_int_equal(e.n, 2);
		assert_int_equal(e.codes[0], KERR_NONE);
		assert_int_equal(e.codes[1], KERR_GROUP_ID_NOT_FOUND);
		decoded_release(&a, copy);
	}
}

/* Unknown tags in the shared struct, under the second field that holds it. */
static void test_describe_response_unknown_tags(void **state)
{
	(void)state;
	uint8_t buf[sizeof(CGD_RESP_V1) + 8];
	/* The target assignment's own tag count is the last byte of the head. */
	const size_t target_tags = sizeof(CGD_RESP_V0) - 1 - 4 - 1 - 1 - 1;
	assert_int_equal(CGD_RESP_V1[target_tags - 1], 0x01);
	memcpy(buf, CGD_RESP_V1, target_tags);
	static const uint8_t tags[] = { 0x01, 0x11, 0x03, 'a', 'b', 'c' }; /* tag 17, 3 bytes */
	memcpy(buf + target_tags, tags, sizeof(tags));
	memcpy(buf + target_tags + sizeof(tags), CGD_RESP_V1 + target_tags + 1,
	       sizeof(CGD_RESP_V1) - target_tags - 1);
	size_t n = sizeof(CGD_RESP_V1) - 1 + sizeof(tags);
	EXPECT_PREFIXES_FAIL(consumer_group_describe_response, buf, n, 1);
	struct consumer_group_describe_response r;
	struct arena a;
	uint8_t *copy;
	DECODE(consumer_group_describe_response, buf, n, 1, a, &r, copy);
	cgd_response_check(&r, 1);
	EXPECT_ENCODES_TO(consumer_group_describe_response, &r, 1, CGD_RESP_V1, sizeof(CGD_RESP_V1));
	decoded_release(&a, copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat_request_golden),
		cmocka_unit_test(test_heartbeat_request_decoded_fields),
		cmocka_unit_test(test_heartbeat_request_unknown_tags),
		cmocka_unit_test(test_heartbeat_request_round_trips),
		cmocka_unit_test(test_heartbeat_request_oversized_counts),
		cmocka_unit_test(test_heartbeat_response_golden),
		cmocka_unit_test(test_heartbeat_response_assignment_decoded),
		cmocka_unit_test(test_heartbeat_response_null_markers),
		cmocka_unit_test(test_heartbeat_response_unknown_tags),
		cmocka_unit_test(test_heartbeat_response_round_trips_and_errors),
		cmocka_unit_test(test_describe_request_golden_and_round_trips),
		cmocka_unit_test(test_describe_response_golden),
		cmocka_unit_test(test_describe_response_round_trips_and_errors),
		cmocka_unit_test(test_describe_response_unknown_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
