/* __consumer_offsets records in Kafka's format, and batches of records built
 * and read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/group_records.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

static struct kbytes view(const uint8_t *p, size_t n)
{
	return (struct kbytes){ p, (int32_t)n };
}

static void test_offset_key_and_values(void **state)
{
	(void)state;
	uint8_t key[64];
	struct kstr g = kstr_from_cstr("grp"), t = kstr_from_cstr("orders");
	size_t n = group_offset_key_size(g, t);
	struct wcursor w;
	wc_init(&w, key, n, NULL, 0);
	group_offset_key_write(&w, g, t, 7);
	assert_false(w.overflow);
	assert_int_equal(w.pos - w.start, n);
	struct group_record_key k;
	assert_int_equal(group_record_key_read(view(key, n), &k), GROUP_RECORD_OFFSET);
	assert_true(kstr_eq(k.group, g) && kstr_eq(k.topic, t));
	assert_int_equal(k.partition, 7);
	assert_int_equal(group_record_key_read(view(key, n - 1), &k), GROUP_RECORD_MALFORMED);

	for (int expiring = 0; expiring < 2; expiring++) {
		struct group_offset_value v = { .offset = 123456789012, .leader_epoch = expiring ? -1 : 4,
						.metadata = kstr_from_cstr("meta"), .commit_timestamp = 1700000000000,
						.expire_timestamp = expiring ? 1800000000000 : -1 };
		uint8_t buf[64];
		size_t len = group_offset_value_size(&v);
		wc_init(&w, buf, len, NULL, 0);
		group_offset_value_write(&w, &v);
		assert_int_equal(w.pos - w.start, len);
		assert_int_equal(buf[1], expiring ? 1 : 3); /* the value's version */
		struct group_offset_value r;
		assert_int_equal(group_offset_value_read(view(buf, len), &r), 0);
		assert_true(r.offset == v.offset && r.leader_epoch == v.leader_epoch);
		assert_true(r.commit_timestamp == v.commit_timestamp && r.expire_timestamp == v.expire_timestamp);
		assert_true(kstr_eq(r.metadata, v.metadata));
		assert_int_equal(group_offset_value_read(view(buf, len - 1), &r), -1);
	}
	uint8_t future[] = { 0, 9, 0, 0 };
	struct group_offset_value r;
	assert_int_equal(group_offset_value_read(view(future, sizeof(future)), &r), -1);
}

static void test_group_metadata_value(void **state)
{
	(void)state;
	uint8_t sub[] = { 1, 2, 3 }, asg[] = { 9 };
	struct group_member_value members[2] = {
		{ kstr_from_cstr("m-1"), { NULL, -1 }, kstr_from_cstr("c"), kstr_from_cstr("/127.0.0.1"),
		  30000, 10000, view(sub, 3), view(asg, 1) },
		{ kstr_from_cstr("i-1"), kstr_from_cstr("i"), kstr_from_cstr("c2"), kstr_from_cstr("/::1"),
		  60000, 45000, view(sub, 0), view(asg, 0) },
	};
	struct group_metadata_value v = { kstr_from_cstr("consumer"), 5, kstr_from_cstr("range"),
					  kstr_from_cstr("m-1"), 1700000000000, 2, members };
	size_t len = group_metadata_value_size(&v);
	uint8_t *buf = malloc(len);
	struct wcursor w;
	wc_init(&w, buf, len, NULL, 0);
	group_metadata_value_write(&w, &v);
	assert_int_equal(w.pos - w.start, len);
	struct group_metadata_value r;
	assert_int_equal(group_metadata_value_read(view(buf, len), &r, NULL, 0), 0);
	assert_int_equal(r.member_count, 2);
	struct group_member_value out[2];
	assert_int_equal(group_metadata_value_read(view(buf, len), &r, out, 1), -1);
	assert_int_equal(group_metadata_value_read(view(buf, len), &r, out, 2), 0);
	assert_int_equal(r.generation, 5);
	assert_true(kstr_eq(r.protocol, v.protocol) && kstr_eq(r.leader, v.leader));
	assert_int_equal(out[0].instance_id.len, -1);
	assert_true(kstr_eq(out[1].instance_id, kstr_from_cstr("i")));
	assert_int_equal(out[1].session_timeout_ms, 45000);
	assert_int_equal(out[0].subscription.len, 3);
	assert_memory_equal(out[0].subscription.ptr, sub, 3);
	assert_int_equal(group_metadata_value_read(view(buf, len - 2), &r, out, 2), -1);
	free(buf);
}

/* Found by fuzz_group_records: a v1 value's expire time below -1 was kept as
 * "none" (rewritten as a non-expiring v3); Kafka treats only -1 as none. */
static void test_expire_before_epoch_is_past(void **state)
{
	(void)state;
	uint8_t v1[2 + 8 + 2 + 8 + 8] = { 0, 1 };
	struct group_offset_value r;
	be_store(v1 + 20, (uint64_t)-2, 8);
	assert_int_equal(group_offset_value_read(view(v1, sizeof(v1)), &r), 0);
	assert_true(r.expire_timestamp == 0);
	be_store(v1 + 20, (uint64_t)-1, 8);
	assert_int_equal(group_offset_value_read(view(v1, sizeof(v1)), &r), 0);
	assert_true(r.expire_timestamp == -1);
}

/* Strings longer than an int16 length (possible in the flexible v4 values
 * Kafka writes, and in ids from flexible requests) do not fit the versions
 * the writers use. */
static void test_fits(void **state)
{
	(void)state;
	static char big[INT16_MAX + 2];
	memset(big, 'm', sizeof(big) - 1);
	struct kstr longest = { big, INT16_MAX }, too_long = { big, INT16_MAX + 1 };
	assert_true(group_record_str_fits(longest));
	assert_false(group_record_str_fits(too_long));
	assert_true(group_record_str_fits((struct kstr){ NULL, -1 }));
	struct group_offset_value ov = { .metadata = too_long };
	assert_false(group_offset_value_fits(&ov));
	struct group_member_value m = { .member_id = kstr_from_cstr("m"), .instance_id = { NULL, -1 },
					.client_id = too_long, .client_host = kstr_from_cstr("/h") };
	struct group_metadata_value gv = { .protocol_type = kstr_from_cstr("consumer"),
					   .protocol = { NULL, -1 }, .leader = { NULL, -1 },
					   .member_count = 1, .members = &m };
	assert_false(group_metadata_value_fits(&gv));
	m.client_id = longest;
	assert_true(group_metadata_value_fits(&gv));
}

static void test_batch_build_and_read(void **state)
{
	(void)state;
	uint8_t k1[] = "key-1", v1[] = "value-1", k2[] = "key-2";
	struct record_kv kv[] = { { view(k1, 5), view(v1, 7) }, { view(k2, 5), { NULL, -1 } } };
	size_t len = record_batch_build_size(kv, 2);
	uint8_t *batch = malloc(len);
	record_batch_build(batch, len, kv, 2, 1700000000000);
	struct batch_limits lim = { .max_batch_bytes = 1 << 20 };
	struct batch_verdict verdict;
	record_batch_validate(batch, len, &lim, &verdict);
	assert_int_equal(verdict.error_code, 0);
	assert_int_equal(verdict.header.record_count, 2);
	struct rcursor c;
	rc_init(&c, batch + RECORD_BATCH_HEADER_BYTES, len - RECORD_BATCH_HEADER_BYTES);
	struct record_view r;
	assert_true(record_read(&c, &r));
	assert_int_equal(r.offset_delta, 0);
	assert_memory_equal(r.value.ptr, v1, 7);
	assert_true(record_read(&c, &r));
	assert_int_equal(r.offset_delta, 1);
	assert_int_equal(r.value.len, -1);
	assert_int_equal(rc_left(&c), 0);
	assert_false(record_read(&c, &r));
	rc_init(&c, batch + RECORD_BATCH_HEADER_BYTES, 6);
	assert_false(record_read(&c, &r));
	assert_int_not_equal(c.err, RC_OK);
	free(batch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_key_and_values),
		cmocka_unit_test(test_group_metadata_value),
		cmocka_unit_test(test_expire_before_epoch_is_past),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_batch_build_and_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
