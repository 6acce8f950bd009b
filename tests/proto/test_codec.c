/* Generated codecs: hand-assembled requests, round trips at every served
 * version, truncation at every length, array bounds and tagged fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec_fixture.h"
#include "proto/messages.h"

enum { ARENA_BYTES = 1 << 20 };

struct bytes {
	uint8_t b[4096];
	size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_be(struct bytes *o, uint64_t v, unsigned n)
{
	uint8_t t[8];
	be_store(t, v, n);
	put(o, t, n);
}

static void put_str(struct bytes *o, const char *s)
{
	put_be(o, strlen(s), 2);
	put(o, s, strlen(s));
}

static void put_cstr(struct bytes *o, const char *s)
{
	put_be(o, strlen(s) + 1, 1);
	put(o, s, strlen(s));
}

/* Decodes a whole buffer; also checks that every shorter prefix fails. */
#define DECODE_ALL(type, buf, len, version, out)                                  \
	do {                                                                      \
		EXPECT_PREFIXES_FAIL(type, buf, len, version);                    \
		struct rcursor c;                                                 \
		rc_init(&c, (buf), (len));                                        \
		assert_int_equal(type##_decode(&c, (version), &arena, (out)), 0); \
		assert_int_equal(rc_left(&c), 0);                                 \
	} while (0)

static struct arena arena;

static int setup(void **state)
{
	(void)state;
	arena_init(&arena, ARENA_BYTES);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_release(&arena);
	return 0;
}

static void test_api_versions_requests(void **state)
{
	(void)state;
	struct api_versions_request q;
	struct bytes v3 = { .n = 0 };
	put_cstr(&v3, "kcat");
	put_cstr(&v3, "1.7.1");
	put_be(&v3, 1, 1);     /* one tagged field */
	put_be(&v3, 9, 1);     /* unknown tag 9 */
	put_be(&v3, 2, 1);
	put(&v3, "zz", 2);
	DECODE_ALL(api_versions_request, v3.b, v3.n, 3, &q);
	assert_true(kstr_eq_cstr(q.client_software_name, "kcat"));
	assert_true(kstr_eq_cstr(q.client_software_version, "1.7.1"));
	uint8_t empty[1];
	struct rcursor c;
	rc_init(&c, empty, 0);
	assert_int_equal(api_versions_request_decode(&c, 0, &arena, &q), 0);
}

static void test_metadata_requests(void **state)
{
	(void)state;
	struct metadata_request q;
	struct bytes v1 = { .n = 0 };
	put_be(&v1, 0xFFFFFFFF, 4); /* null: all topics */
	DECODE_ALL(metadata_request, v1.b, v1.n, 1, &q);
	assert_int_equal(q.topics_count, -1);
	assert_true(q.allow_auto_topic_creation);

	struct bytes v9 = { .n = 0 };
	put_be(&v9, 3, 1); /* two topics */
	put_cstr(&v9, "a");
	put_be(&v9, 0, 1);
	put_cstr(&v9, "bb");
	put_be(&v9, 0, 1);
	put_be(&v9, 0, 1); /* allow auto creation: false */
	put_be(&v9, 0, 1); /* include cluster authorized operations (v8-10) */
	put_be(&v9, 1, 1); /* include topic authorized operations */
	put_be(&v9, 0, 1);
	DECODE_ALL(metadata_request, v9.b, v9.n, 9, &q);
	assert_int_equal(q.topics_count, 2);
	assert_true(kstr_eq_cstr(q.topics[1].name, "bb"));
	assert_false(q.allow_auto_topic_creation);
}

static void test_produce_v3_and_v9(void **state)
{
	(void)state;
	struct produce_request q;
	struct bytes v3 = { .n = 0 };
	put_be(&v3, 0xFFFF, 2); /* null transactional id */
	put_be(&v3, 1, 2);
	put_be(&v3, 30000, 4);
	put_be(&v3, 1, 4);
	put_str(&v3, "t");
	put_be(&v3, 1, 4);
	put_be(&v3, 7, 4);
	put_be(&v3, 3, 4);
	put(&v3, "abc", 3);
	DECODE_ALL(produce_request, v3.b, v3.n, 3, &q);
	assert_int_equal(q.acks, 1);
	assert_int_equal(q.transactional_id.len, -1);
	assert_int_equal(q.topic_data[0].partition_data[0].index, 7);
	assert_int_equal(q.topic_data[0].partition_data[0].records.len, 3);
	assert_memory_equal(q.topic_data[0].partition_data[0].records.mem, "abc", 3);

	struct bytes v9 = { .n = 0 };
	put_be(&v9, 0, 1); /* null transactional id (compact) */
	put_be(&v9, 0xFFFF, 2);
	put_be(&v9, 1000, 4);
	put_be(&v9, 2, 1);
	put_cstr(&v9, "t9");
	put_be(&v9, 2, 1);
	put_be(&v9, 0, 4);
	put_be(&v9, 4, 1); /* records: 3 bytes */
	put(&v9, "xyz", 3);
	put_be(&v9, 0, 1);
	put_be(&v9, 0, 1);
	put_be(&v9, 0, 1);
	DECODE_ALL(produce_request, v9.b, v9.n, 9, &q);
	assert_int_equal(q.acks, -1);
	assert_true(kstr_eq_cstr(q.topic_data[0].name, "t9"));
	assert_memory_equal(q.topic_data[0].partition_data[0].records.mem, "xyz", 3);
}

static void test_fetch_v13_topic_id_and_cluster_tag(void **state)
{
	(void)state;
	struct fetch_request q;
	struct bytes b = { .n = 0 };
	put_be(&b, 0xFFFFFFFF, 4); /* replica id (v0-14) */
	put_be(&b, 500, 4);  /* max wait */
	put_be(&b, 1, 4);    /* min bytes */
	put_be(&b, 1 << 20, 4);
	put_be(&b, 0, 1);    /* isolation */
	put_be(&b, 0, 4);    /* session id */
	put_be(&b, 0xFFFFFFFF, 4); /* session epoch */
	put_be(&b, 2, 1);    /* one topic */
	uint8_t id[16];
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)(i + 1);
	put(&b, id, 16);
	put_be(&b, 2, 1);    /* one partition */
	put_be(&b, 4, 4);
	put_be(&b, 0xFFFFFFFF, 4);
	put_be(&b, 42, 8);
	put_be(&b, 0xFFFFFFFF, 4);
	put_be(&b, 0, 8);
	put_be(&b, 4096, 4);
	put_be(&b, 0, 1);    /* partition tags */
	put_be(&b, 0, 1);    /* topic tags */
	put_be(&b, 1, 1);    /* forgotten topics: none */
	put_cstr(&b, "");    /* rack id */
	put_be(&b, 1, 1);    /* one tagged field: cluster id */
	put_be(&b, 0, 1);
	put_be(&b, 4, 1);
	put_cstr(&b, "abc");
	DECODE_ALL(fetch_request, b.b, b.n, 13, &q);
	assert_memory_equal(q.topics[0].topic_id.b, id, 16);
	assert_int_equal(q.topics[0].partitions[0].fetch_offset, 42);
	assert_true(kstr_eq_cstr(q.cluster_id, "abc"));
	assert_int_equal(q.replica_id, -1);
	assert_int_equal(q.max_wait_ms, 500);
}

static void test_array_bounds(void **state)
{
	(void)state;
	struct metadata_request q;
	struct bytes b = { .n = 0 };
	put_be(&b, PROTO_ARRAY_MAX + 1, 4);
	struct rcursor c;
	rc_init(&c, b.b, b.n);
	assert_int_equal(metadata_request_decode(&c, 1, &arena, &q), -1);
	assert_int_equal(c.err, RC_TOO_MANY);
	b.n = 0;
	put_be(&b, 1000, 4); /* more topics than bytes */
	put_str(&b, "x");
	rc_init(&c, b.b, b.n);
	assert_int_equal(metadata_request_decode(&c, 1, &arena, &q), -1);
	assert_int_equal(c.err, RC_SHORT);
	b.n = 0;
	put_be(&b, 0xFFFFFFFE, 4); /* -2 */
	rc_init(&c, b.b, b.n);
	assert_int_equal(metadata_request_decode(&c, 1, &arena, &q), -1);
	assert_int_equal(c.err, RC_NEGATIVE);
}

/* Encodes r at every version, checks the size, decodes it back and checks
 * that re-encoding gives the same bytes. */
static void fetch_response_roundtrip(int16_t version)
{
	struct fetch_response r;
	fetch_response_init(&r);
	struct fetch_response_fetchable_topic_response t;
	fetch_response_fetchable_topic_response_init(&t);
	struct fetch_response_partition_data p[2];
	for (int i = 0; i < 2; i++) {
		fetch_response_partition_data_init(&p[i]);
		p[i].partition_index = i;
		p[i].high_watermark = 100 + i;
		p[i].records.mem = (uint8_t *)"recordbytes";
		p[i].records.len = 11;
	}
	p[1].current_leader.leader_id = 0;
	p[1].current_leader.leader_epoch = 5;
	t.topic = kstr_from_cstr("topic");
	t.topic_id.b[3] = 9;
	t.partitions = p;
	t.partitions_count = 2;
	r.responses = &t;
	r.responses_count = 1;
	r.session_id = 0;
	size_t n = fetch_response_size(&r, version);
	uint8_t *buf = malloc(n);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	fetch_response_encode(&w, version, &r);
	assert_false(w.overflow);
	assert_int_equal(w.pos - w.start, n);
	struct fetch_response back;
	struct rcursor c;
	rc_init(&c, buf, n);
	assert_int_equal(fetch_response_decode(&c, version, &arena, &back), 0);
	assert_int_equal(rc_left(&c), 0);
	assert_int_equal(back.responses[0].partitions[1].high_watermark, 101);
	assert_memory_equal(back.responses[0].partitions[0].records.mem, "recordbytes", 11);
	if (version >= 12)
		assert_int_equal(back.responses[0].partitions[1].current_leader.leader_epoch, 5);
	else
		assert_int_equal(back.responses[0].partitions[1].current_leader.leader_epoch, -1);
	if (version >= 13)
		assert_int_equal(back.responses[0].topic_id.b[3], 9);
	else
		assert_true(kstr_eq_cstr(back.responses[0].topic, "topic"));
	uint8_t *again = malloc(n);
	wc_init(&w, again, n, NULL, 0);
	fetch_response_encode(&w, version, &back);
	assert_memory_equal(buf, again, n);
	for (size_t cut = 0; cut < n; cut++) {
		rc_init(&c, buf, cut);
		assert_int_equal(fetch_response_decode(&c, version, &arena, &back), -1);
	}
	free(again);
	free(buf);
}

static void test_fetch_response_every_version(void **state)
{
	(void)state;
	const struct proto_api_info *info = proto_api_find(API_FETCH);
	for (int16_t v = info->min_version; v <= info->max_version; v++)
		fetch_response_roundtrip(v);
}

static void test_metadata_response_every_version(void **state)
{
	(void)state;
	const struct proto_api_info *info = proto_api_find(API_METADATA);
	for (int16_t v = info->min_version; v <= info->max_version; v++) {
		struct metadata_response r;
		metadata_response_init(&r);
		struct metadata_response_metadata_response_broker b;
		metadata_response_metadata_response_broker_init(&b);
		b.host = kstr_from_cstr("127.0.0.1");
		b.port = 9092;
		r.brokers = &b;
		r.brokers_count = 1;
		r.cluster_id = kstr_from_cstr("cluster");
		int32_t nodes[1] = { 0 };
		struct metadata_response_metadata_response_partition p;
		metadata_response_metadata_response_partition_init(&p);
		p.replica_nodes = nodes;
		p.replica_nodes_count = 1;
		p.isr_nodes = nodes;
		p.isr_nodes_count = 1;
		struct metadata_response_metadata_response_topic t;
		metadata_response_metadata_response_topic_init(&t);
		t.name = kstr_from_cstr("orders");
		t.partitions = &p;
		t.partitions_count = 1;
		r.topics = &t;
		r.topics_count = 1;
		size_t n = metadata_response_size(&r, v);
		uint8_t *buf = malloc(n);
		struct wcursor w;
		wc_init(&w, buf, n, NULL, 0);
		metadata_response_encode(&w, v, &r);
		assert_false(w.overflow);
		assert_int_equal(w.pos - w.start, n);
		struct metadata_response back;
		struct rcursor c;
		rc_init(&c, buf, n);
		assert_int_equal(metadata_response_decode(&c, v, &arena, &back), 0);
		assert_true(kstr_eq_cstr(back.topics[0].name, "orders"));
		assert_int_equal(back.topics[0].partitions[0].isr_nodes_count, 1);
		assert_int_equal(back.brokers[0].port, 9092);
		free(buf);
	}
}

/* An owned copy keeps every byte of a string, NULs too, and tells null from
 * empty; a replaced one takes the new bytes. */
static void test_kstr_copy_keeps_nul(void **state)
{
	(void)state;
	struct kstr s;
	assert_true(kstr_copy(&s, (struct kstr){ "seven\0bytes", 11 }));
	assert_int_equal(s.len, 11);
	assert_memory_equal(s.ptr, "seven\0bytes", 12);
	assert_false(kstr_eq(s, kstr_from_cstr("seven")));
	assert_true(kstr_replace(&s, (struct kstr){ "\0", 1 }));
	assert_true(kstr_eq(s, ((struct kstr){ "\0", 1 })));
	kstr_free(&s);
	assert_int_equal(s.len, -1);
	assert_true(kstr_copy(&s, KSTR_NULL));
	assert_int_equal(s.len, -1);
	assert_true(kstr_copy(&s, kstr_from_cstr("")));
	assert_int_equal(s.len, 0);
	assert_non_null(s.ptr);
	kstr_free(&s);
}

static void test_api_table(void **state)
{
	(void)state;
	assert_null(proto_api_find(999));
	const struct proto_api_info *p = proto_api_find(API_PRODUCE);
	assert_int_equal(p->min_version, 3);
	assert_int_equal(p->max_version, 11);
	assert_int_equal(p->flexible_from, 9);
	for (size_t i = 1; i < proto_apis_len; i++)
		assert_true(proto_apis[i - 1].key < proto_apis[i].key);
}

/* R_errors visits each error code the response carries in that version:
 * Fetch's top-level code exists from v7, its partitions' in every version. */
struct seen_codes {
	int16_t codes[8];
	size_t n;
};

static void note_code(void *ctx, int16_t code)
{
	struct seen_codes *s = ctx;
	assert_true(s->n < sizeof(s->codes) / sizeof(s->codes[0]));
	s->codes[s->n++] = code;
}

static void test_response_errors_visit_each_code(void **state)
{
	(void)state;
	struct fetch_response_partition_data parts[3];
	for (int i = 0; i < 3; i++) {
		fetch_response_partition_data_init(&parts[i]);
		parts[i].error_code = (int16_t)(i == 1 ? 3 : 0);
	}
	struct fetch_response_fetchable_topic_response topic;
	fetch_response_fetchable_topic_response_init(&topic);
	topic.partitions = parts;
	topic.partitions_count = 3;
	struct fetch_response r;
	fetch_response_init(&r);
	r.error_code = 71;
	r.responses = &topic;
	r.responses_count = 1;
	struct seen_codes v13 = { .n = 0 }, v6 = { .n = 0 };
	fetch_response_errors(&r, 13, note_code, &v13);
	fetch_response_errors(&r, 6, note_code, &v6);
	assert_int_equal(v13.n, 4);
	assert_int_equal(v13.codes[0], 71);
	assert_int_equal(v13.codes[2], 3);
	assert_int_equal(v6.n, 3);
	assert_int_equal(v6.codes[1], 3);
	/* A null array visits nothing. */
	r.responses_count = -1;
	struct seen_codes none = { .n = 0 };
	fetch_response_errors(&r, 6, note_code, &none);
	assert_int_equal(none.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_api_versions_requests, setup, teardown),
		cmocka_unit_test(test_kstr_copy_keeps_nul),
		cmocka_unit_test_setup_teardown(test_metadata_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_produce_v3_and_v9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_v13_topic_id_and_cluster_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_array_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_response_every_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_response_every_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_table, setup, teardown),
		cmocka_unit_test(test_response_errors_visit_each_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
