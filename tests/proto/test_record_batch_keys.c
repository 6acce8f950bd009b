/* Produce validation for a compacted topic (keys_required): records without
 * a key are counted, the first few indexed, and the batch refused with
 * INVALID_RECORD, in every codec; without keys_required they pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/kafka_errors.h"
#include "proto/record_codec.h"
#include "tests/proto/batch_make.h"

/* The records region of n records; key null where `keyless` has a 1. */
static struct bytes_buf records_with_keys(const char *keyless, int n)
{
	struct record_kv kv[16];
	for (int i = 0; i < n; i++) {
		kv[i].key = keyless[i] == '1' ? (struct kbytes){ NULL, -1 }
					       : (struct kbytes){ (const uint8_t *)"k", 1 };
		kv[i].value = (struct kbytes){ (const uint8_t *)"v", 1 };
	}
	size_t len = record_batch_build_size(kv, (uint32_t)n);
	uint8_t *b = malloc(len);
	record_batch_build(b, len, kv, (uint32_t)n, 1000);
	struct bytes_buf recs = { 0 };
	bb_put(&recs, b + RECORD_BATCH_HEADER_BYTES, len - RECORD_BATCH_HEADER_BYTES);
	free(b);
	return recs;
}

static void validate(const char *keyless, bool required, struct batch_verdict *v)
{
	int n = (int)strlen(keyless);
	struct bytes_buf recs = records_with_keys(keyless, n);
	struct batch_limits lim = { .max_batch_bytes = 1 << 20, .max_inflated_bytes = 1 << 20,
				    .keys_required = required };
	for (int codec = 0; codec < TEST_CODECS; codec++) {
		struct bytes_buf b = batch_make(codec, &recs, n);
		struct batch_verdict got;
		record_batch_validate(b.b, b.n, &lim, &got);
		if (codec == 0)
			*v = got;
		assert_int_equal(got.error_code, v->error_code);
		assert_int_equal(got.keyless_count, v->keyless_count);
		assert_memory_equal(got.keyless_index, v->keyless_index, sizeof(got.keyless_index));
		bb_free(&b);
	}
	bb_free(&recs);
}

static void test_keyless_records_refused_when_keys_required(void **state)
{
	(void)state;
	struct batch_verdict v;
	validate("0101", true, &v);
	assert_int_equal(v.error_code, KERR_INVALID_RECORD);
	assert_int_equal(v.keyless_count, 2);
	assert_int_equal(v.keyless_index[0], 1);
	assert_int_equal(v.keyless_index[1], 3);
}

static void test_first_three_indexed_all_counted(void **state)
{
	(void)state;
	struct batch_verdict v;
	validate("1101101", true, &v);
	assert_int_equal(v.error_code, KERR_INVALID_RECORD);
	assert_int_equal(v.keyless_count, 5);
	assert_int_equal(v.keyless_index[0], 0);
	assert_int_equal(v.keyless_index[1], 1);
	assert_int_equal(v.keyless_index[2], 3);
}

static void test_keys_not_required_or_all_present(void **state)
{
	(void)state;
	struct batch_verdict v;
	validate("0101", false, &v);
	assert_int_equal(v.error_code, KERR_NONE);
	assert_int_equal(v.keyless_count, 0);
	validate("0000", true, &v);
	assert_int_equal(v.error_code, KERR_NONE);
	assert_int_equal(v.keyless_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyless_records_refused_when_keys_required),
		cmocka_unit_test(test_first_three_indexed_all_counted),
		cmocka_unit_test(test_keys_not_required_or_all_present),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
