/* The config APIs' codecs (DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs): round trips at every served version, null key
 * lists and values, and every truncated prefix refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec_fixture.h"
#include "proto/messages.h"

enum { ARENA_BYTES = 1 << 20 };

/* Decodes the whole buffer into `out` with arena `a` (released by the caller). */
#define DECODE(type, buf, len, version, a, out)                                   \
	do {                                                                      \
		struct rcursor c;                                                 \
		arena_init(&(a), ARENA_BYTES);                                    \
		rc_init(&c, (buf), (len));                                        \
		assert_int_equal(type##_decode(&c, (version), &(a), (out)), 0);  \
		assert_int_equal(rc_left(&c), 0);                                 \
	} while (0)

static void test_describe_configs_request(void **state)
{
	(void)state;
	const struct proto_api_info *info = proto_api_find(API_DESCRIBE_CONFIGS);
	assert_int_equal(info->min_version, 1);
	assert_int_equal(info->max_version, 4);
	assert_int_equal(info->flexible_from, 4);
	for (int16_t v = info->min_version; v <= info->max_version; v++) {
		struct kstr keys[2] = { kstr_from_cstr("retention.ms"), kstr_from_cstr("segment.ms") };
		struct describe_configs_request_describe_configs_resource res[2];
		describe_configs_request_describe_configs_resource_init(&res[0]);
		describe_configs_request_describe_configs_resource_init(&res[1]);
		res[0].resource_type = 2;
		res[0].resource_name = kstr_from_cstr("orders");
		res[0].configuration_keys = keys;
		res[0].configuration_keys_count = 2;
		res[1].resource_type = 4;
		res[1].resource_name = kstr_from_cstr("0");
		res[1].configuration_keys_count = -1; /* null: every key */
		struct describe_configs_request q;
		describe_configs_request_init(&q);
		q.resources = res;
		q.resources_count = 2;
		q.include_synonyms = true;
		q.include_documentation = v >= 3;
		uint8_t *buf;
		size_t len;
		ENCODE(describe_configs_request, &q, v, buf, len);
		EXPECT_PREFIXES_FAIL(describe_configs_request, buf, len, v);
		struct arena a;
		struct describe_configs_request back;
		DECODE(describe_configs_request, buf, len, v, a, &back);
		assert_int_equal(back.resources_count, 2);
		assert_int_equal(back.resources[0].configuration_keys_count, 2);
		assert_true(kstr_eq_cstr(back.resources[0].configuration_keys[1], "segment.ms"));
		assert_true(back.resources[1].configuration_keys_count < 0);
		assert_true(back.include_synonyms);
		assert_int_equal(back.include_documentation, v >= 3);
		arena_release(&a);
		free(buf);
	}
}

static void test_describe_configs_response(void **state)
{
	(void)state;
	for (int16_t v = 1; v <= 4; v++) {
		struct describe_configs_response_describe_configs_synonym syn;
		describe_configs_response_describe_configs_synonym_init(&syn);
		syn.name = kstr_from_cstr("log.retention.hours");
		syn.value = kstr_from_cstr("168");
		syn.source = 5;
		struct describe_configs_response_describe_configs_resource_result e;
		describe_configs_response_describe_configs_resource_result_init(&e);
		e.name = kstr_from_cstr("retention.ms");
		e.value = (struct kstr){ NULL, -1 };
		e.config_source = 5;
		e.synonyms = &syn;
		e.synonyms_count = 1;
		e.config_type = 5;
		e.documentation = kstr_from_cstr("How long");
		struct describe_configs_response_describe_configs_result res;
		describe_configs_response_describe_configs_result_init(&res);
		res.resource_type = 2;
		res.resource_name = kstr_from_cstr("orders");
		res.error_message = kstr_from_cstr("");
		res.configs = &e;
		res.configs_count = 1;
		struct describe_configs_response r;
		describe_configs_response_init(&r);
		r.results = &res;
		r.results_count = 1;
		uint8_t *buf;
		size_t len;
		ENCODE(describe_configs_response, &r, v, buf, len);
		EXPECT_PREFIXES_FAIL(describe_configs_response, buf, len, v);
		struct arena a;
		struct describe_configs_response back;
		DECODE(describe_configs_response, buf, len, v, a, &back);
		const struct describe_configs_response_describe_configs_resource_result *b =
			&back.results[0].configs[0];
		assert_true(b->value.len < 0);
		assert_int_equal(b->synonyms_count, 1);
		assert_true(kstr_eq_cstr(b->synonyms[0].name, "log.retention.hours"));
		assert_int_equal(b->config_type, v >= 3 ? 5 : 0);
		assert_int_equal(kstr_eq_cstr(b->documentation, "How long"), v >= 3);
		arena_release(&a);
		free(buf);
	}
}

static void test_alter_requests(void **state)
{
	(void)state;
	for (int16_t v = 0; v <= 2; v++) {
		struct alter_configs_request_alterable_config cfg[2] = {
			{ kstr_from_cstr("retention.ms"), kstr_from_cstr("1000") },
			{ kstr_from_cstr("segment.ms"), { NULL, -1 } },
		};
		struct alter_configs_request_alter_configs_resource res = {
			2, kstr_from_cstr("orders"), 2, cfg };
		struct alter_configs_request q = { 1, &res, true };
		uint8_t *buf;
		size_t len;
		ENCODE(alter_configs_request, &q, v, buf, len);
		EXPECT_PREFIXES_FAIL(alter_configs_request, buf, len, v);
		free(buf);
	}
	for (int16_t v = 0; v <= 1; v++) {
		struct incremental_alter_configs_request_alterable_config cfg[2] = {
			{ kstr_from_cstr("cleanup.policy"), 2, kstr_from_cstr("compact") },
			{ kstr_from_cstr("retention.ms"), 1, { NULL, -1 } },
		};
		struct incremental_alter_configs_request_alter_configs_resource res = {
			2, kstr_from_cstr("orders"), 2, cfg };
		struct incremental_alter_configs_request q = { 1, &res, false };
		uint8_t *buf;
		size_t len;
		ENCODE(incremental_alter_configs_request, &q, v, buf, len);
		EXPECT_PREFIXES_FAIL(incremental_alter_configs_request, buf, len, v);
		struct arena a;
		struct incremental_alter_configs_request back;
		DECODE(incremental_alter_configs_request, buf, len, v, a, &back);
		assert_int_equal(back.resources[0].configs[0].config_operation, 2);
		assert_true(back.resources[0].configs[1].value.len < 0);
		arena_release(&a);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_configs_request),
		cmocka_unit_test(test_describe_configs_response),
		cmocka_unit_test(test_alter_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
