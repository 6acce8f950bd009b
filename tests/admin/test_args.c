/* sluice-admin's option parsing: values, flags, repeats and --k=v; every
 * usage error names its flag. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "admin/args.h"

static const struct arg_spec specs[] = {
	{"--topic", ARG_VALUE, "NAME", "a topic"},
	{"--config", ARG_REPEAT, "K=V", "a config"},
	{"--execute", ARG_FLAG, NULL, "do it"},
	{"--count", ARG_VALUE, "N", "a number"},
	{NULL, 0, NULL, NULL},
};

static int parse(struct args *a, int argc, const char **argv)
{
	return args_parse(a, specs, argc, (char **)argv);
}

static void test_values_flags_and_repeats(void **state)
{
	(void)state;
	struct args a;
	const char *argv[] = {"--topic", "a", "--config", "x=1", "--config=y=2", "--execute",
			      "--topic=b", "--json", "--count", "-3"};
	assert_int_equal(parse(&a, 10, argv), 0);
	assert_string_equal(args_value(&a, "--topic"), "b");
	assert_int_equal(args_values(&a, "--config")->count, 2);
	assert_string_equal(args_values(&a, "--config")->values[1], "y=2");
	assert_true(args_has(&a, "--execute") && args_has(&a, "--json"));
	assert_false(args_has(&a, "--help"));
	int64_t n;
	assert_int_equal(args_int64(&a, "--count", -5, 5, 0, &n), 0);
	assert_int_equal(n, -3);
	assert_int_equal(args_int64(&a, "--timeout-ms", 1, 10, 7, &n), 0);
	assert_int_equal(n, 7);
}

static void expect_error(int argc, const char **argv, const char *flag)
{
	struct args a;
	assert_int_equal(parse(&a, argc, argv), -1);
	assert_non_null(strstr(a.error, flag));
}

static void test_errors_name_the_flag(void **state)
{
	(void)state;
	expect_error(1, (const char *[]){"--bogus"}, "--bogus");
	expect_error(1, (const char *[]){"--topic"}, "--topic");
	expect_error(2, (const char *[]){"--topic", "--execute"}, "--topic");
	expect_error(1, (const char *[]){"--execute=yes"}, "--execute");
	expect_error(1, (const char *[]){"stray"}, "stray");
	struct args a;
	const char *argv[] = {"--count", "12x"};
	assert_int_equal(parse(&a, 2, argv), 0);
	int64_t n;
	assert_int_equal(args_int64(&a, "--count", 0, 100, 0, &n), -1);
	assert_non_null(strstr(a.error, "--count"));
	assert_int_equal(args_require(&a, "--topic"), -1);
	assert_non_null(strstr(a.error, "--topic"));
	const char *both[] = {"--topic", "--count"};
	assert_int_equal(args_one_of(&a, both, 2, true), 0);
	assert_int_equal(args_one_of(&a, both + 0, 1, true), -1);
}

static void test_repeats_are_bounded(void **state)
{
	(void)state;
	const char *argv[2 * (ARGS_REPEATS_MAX + 1)];
	for (int i = 0; i < ARGS_REPEATS_MAX + 1; i++) {
		argv[2 * i] = "--config";
		argv[2 * i + 1] = "k=v";
	}
	struct args a;
	assert_int_equal(parse(&a, 2 * ARGS_REPEATS_MAX, argv), 0);
	assert_int_equal(parse(&a, 2 * (ARGS_REPEATS_MAX + 1), argv), -1);
	assert_non_null(strstr(a.error, "--config"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_flags_and_repeats),
		cmocka_unit_test(test_errors_name_the_flag),
		cmocka_unit_test(test_repeats_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
