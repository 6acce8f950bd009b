/* Kafka's topic name rules as topics.c applies them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/meta/topics.h"

static struct kstr name_of(const char *s)
{
	return kstr_from_cstr(s);
}

static void test_valid_names(void **state)
{
	(void)state;
	assert_null(topic_name_invalid(name_of("orders")));
	assert_null(topic_name_invalid(name_of("a.b_c-D9")));
	assert_null(topic_name_invalid(name_of("...")));
	char longest[250];
	memset(longest, 'x', 249);
	longest[249] = '\0';
	assert_null(topic_name_invalid(name_of(longest)));
}

static void test_invalid_names(void **state)
{
	(void)state;
	assert_non_null(topic_name_invalid(name_of("")));
	assert_non_null(topic_name_invalid(name_of(".")));
	assert_non_null(topic_name_invalid(name_of("..")));
	assert_non_null(topic_name_invalid(name_of("with space")));
	assert_non_null(topic_name_invalid(name_of("slash/name")));
	assert_non_null(topic_name_invalid(name_of("uni\xc3\xa9")));
	char too_long[251];
	memset(too_long, 'x', 250);
	too_long[250] = '\0';
	assert_non_null(topic_name_invalid(name_of(too_long)));
	struct kstr null_name = { NULL, -1 };
	assert_non_null(topic_name_invalid(null_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
