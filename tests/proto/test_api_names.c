/* Kafka's API names by key (proto/api_names.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proto/api_names.h"
#include "proto/messages.h"

static void test_known_keys(void **state)
{
	(void)state;
	assert_string_equal(proto_api_name(0), "Produce");
	assert_string_equal(proto_api_name(37), "CreatePartitions");
	assert_string_equal(proto_api_name(52), "Vote");
	assert_string_equal(proto_api_name(87), "ReadShareGroupStateSummary");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_string_equal(proto_api_name(-1), "unknown API key");
	assert_string_equal(proto_api_name(88), "unknown API key");
	assert_string_equal(proto_api_name(INT16_MAX), "unknown API key");
}

/* Every API the schema files declare has the same name in the table. */
static void test_names_match_the_schemas(void **state)
{
	(void)state;
	for (size_t i = 0; i < proto_apis_len; i++)
		assert_string_equal(proto_api_name(proto_apis[i].key), proto_apis[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_keys),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_names_match_the_schemas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
