/* Which __consumer_offsets partition holds a group: Kafka's String.hashCode
 * over UTF-16 code units, made non-negative (Integer.MIN_VALUE maps to 0). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/group_store.h"

static int32_t partition_of(const char *id)
{
	return group_store_partition_of(kstr_from_cstr(id), 50);
}

static void test_matches_kafka(void **state)
{
	(void)state;
	/* Expected values computed with Java's hashCode rules. */
	assert_int_equal(partition_of("g"), 3);
	assert_int_equal(partition_of("console-consumer-12345"), 6);
	assert_int_equal(partition_of("my-group"), 12);         /* negative hash */
	assert_int_equal(partition_of("group\xc3\xa9"), 6);     /* two-byte UTF-8 */
	assert_int_equal(partition_of("\xf0\x9f\x98\x80grp"), 36); /* surrogate pair */
	assert_int_equal(partition_of("polygenelubricants"), 0); /* Integer.MIN_VALUE */
	assert_int_equal(partition_of(""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_kafka),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
