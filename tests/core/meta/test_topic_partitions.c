/* Growing a topic: Kafka's checks of the new count (same, lower, too many
 * added at once, above TOPIC_PARTITIONS_MAX) with their messages, and the
 * CreatePartitions request codec at every version: round trips with null
 * and given assignments, and every truncation refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/meta/topic_partitions.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { ARENA_BYTES = 1 << 20, WIRE_BYTES = 512, VERSION_MAX = 3 };

static struct topic *topic_of(const char *name, int32_t partitions)
{
	struct topic *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	strcpy(t->name, name);
	t->name_len = strlen(name);
	t->partition_count = partitions;
	return t;
}

static void check_growth(const struct topic *t, int32_t count, int16_t code, const char *msg)
{
	char got[TOPIC_GROWTH_MESSAGE_BYTES] = "";
	assert_int_equal(topic_partitions_check(t, count, got, sizeof(got)), code);
	if (msg)
		assert_string_equal(got, msg);
}

static void test_counts(void **state)
{
	(void)state;
	struct topic *t = topic_of("orders", 3);
	check_growth(t, 4, KERR_NONE, NULL);
	check_growth(t, 3, KERR_INVALID_PARTITIONS, "Topic already has 3 partition(s).");
	check_growth(t, 1, KERR_INVALID_PARTITIONS,
		     "The topic orders currently has 3 partition(s); 1 would not be an increase.");
	check_growth(t, -1, KERR_INVALID_PARTITIONS,
		     "The topic orders currently has 3 partition(s); -1 would not be an increase.");
	check_growth(t, 3 + TOPIC_PARTITIONS_ADDED_MAX + 1, KERR_POLICY_VIOLATION,
		     "Excessively large number of additional partitions per request.");
	check_growth(t, TOPIC_PARTITIONS_MAX, KERR_NONE, NULL);
	free(t);
	t = topic_of("wide", TOPIC_PARTITIONS_MAX);
	check_growth(t, TOPIC_PARTITIONS_MAX + 1, KERR_INVALID_PARTITIONS,
		     "Number of partitions must be between 1 and 10000.");
	free(t);
}

/* Encodes q at v into wire (whose bytes out's strings view), decodes it back
 * (every shorter prefix failing) into out. */
static void roundtrip(const struct create_partitions_request *q, int16_t v, struct arena *a,
		      uint8_t (*wire)[WIRE_BYTES], struct create_partitions_request *out)
{
	size_t n = create_partitions_request_size(q, v);
	assert_true(n <= sizeof(*wire));
	struct wcursor w;
	wc_init(&w, *wire, sizeof(*wire), NULL, 0);
	create_partitions_request_encode(&w, v, q);
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, *wire, cut);
		struct rcursor c;
		struct arena scratch;
		struct create_partitions_request tmp;
		arena_init(&scratch, ARENA_BYTES);
		rc_init(&c, copy, cut);
		assert_int_equal(create_partitions_request_decode(&c, v, &scratch, &tmp), -1);
		arena_release(&scratch);
		free(copy);
	}
	struct rcursor c;
	rc_init(&c, *wire, n);
	assert_int_equal(create_partitions_request_decode(&c, v, a, out), 0);
	assert_int_equal(rc_left(&c), 0);
}

static void test_request_every_version(void **state)
{
	(void)state;
	int32_t replicas[] = { 0 };
	struct create_partitions_request_create_partitions_assignment as[2] = {
		{ .broker_ids_count = 1, .broker_ids = replicas },
		{ .broker_ids_count = 1, .broker_ids = replicas },
	};
	struct create_partitions_request_create_partitions_topic topics[2] = {
		{ .name = kstr_from_cstr("a"), .count = 5, .assignments_count = -1 },
		{ .name = kstr_from_cstr("b"), .count = 2, .assignments_count = 2, .assignments = as },
	};
	struct create_partitions_request q = { .topics_count = 2, .topics = topics,
					       .timeout_ms = 30000, .validate_only = true };
	for (int16_t v = 0; v <= VERSION_MAX; v++) {
		struct arena a;
		arena_init(&a, ARENA_BYTES);
		struct create_partitions_request out;
		uint8_t wire[WIRE_BYTES];
		roundtrip(&q, v, &a, &wire, &out);
		assert_int_equal(out.topics_count, 2);
		assert_true(kstr_eq_cstr(out.topics[0].name, "a"));
		assert_int_equal(out.topics[0].count, 5);
		assert_int_equal(out.topics[0].assignments_count, -1);
		assert_int_equal(out.topics[1].assignments_count, 2);
		assert_int_equal(out.topics[1].assignments[1].broker_ids_count, 1);
		assert_int_equal(out.topics[1].assignments[1].broker_ids[0], 0);
		assert_int_equal(out.timeout_ms, 30000);
		assert_true(out.validate_only);
		arena_release(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_request_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
