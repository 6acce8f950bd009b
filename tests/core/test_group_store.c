/* Which __consumer_offsets partition holds a group: Kafka's String.hashCode
 * over UTF-16 code units, made non-negative (Integer.MIN_VALUE maps to 0).
 * An append from a shard that does not own the group's partition is refused
 * (in every build), not written to another shard's log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/broker.h"
#include "core/group_coordinator.h"
#include "core/group_store.h"
#include "core/metadata_image.h"
#include "core/shard.h"
#include "proto/kafka_errors.h"

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

static void append_done(void *ctx, int16_t err)
{
	(void)ctx;
	(void)err;
	fail_msg("a refused append must not complete");
}

static void test_append_from_another_shard_is_refused(void **state)
{
	(void)state;
	struct broker *b = calloc(1, sizeof(*b));
	struct shard *shards = calloc(2, sizeof(*shards));
	assert_non_null(b);
	assert_non_null(shards);
	shards[1].id = 1;
	b->shards = shards;
	b->shard_count = b->io_shards = 2;
	/* __consumer_offsets-0 lives on shard 0, with a log nobody may touch
	 * from shard 1. */
	static uint8_t untouchable_log[4096];
	struct partition part = { .index = 0, .shard = 0,
				  .log = (struct partition_log *)untouchable_log };
	struct topic t = { .partition_count = 1, .partitions = &part, .internal = true };
	t.name_len = strlen(GROUP_STORE_TOPIC);
	memcpy(t.name, GROUP_STORE_TOPIC, t.name_len);
	part.topic = &t;
	struct topic_registry r = { .count = 1 };
	r.buckets[0] = &t;
	struct metadata_image *im = metadata_image_build(&r, 1);
	assert_non_null(im);
	atomic_store(&b->image, im);
	/* The group's coordinator runs on shard 1. */
	struct group_coordinator gc = { .broker = b, .shard = &shards[1] };
	struct group *g = group_table_add(&gc.groups, kstr_from_cstr("g"), 0, &gc);
	assert_non_null(g);
	struct group_offset_value v = { .offset = 1, .leader_epoch = -1,
					.metadata = kstr_from_cstr(""), .expire_timestamp = -1 };
	struct group_store_record rec = { .topic = kstr_from_cstr("t"), .partition = 0, .offset = &v };
	assert_int_equal(group_store_append(g, &rec, 1, append_done, NULL), KERR_NOT_COORDINATOR);
	assert_int_equal(g->writes_in_flight, 0);
	group_table_free(&gc.groups);
	metadata_image_free(im);
	free(shards);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_kafka),
		cmocka_unit_test(test_append_from_another_shard_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
