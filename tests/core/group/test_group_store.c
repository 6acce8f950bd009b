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

#include "core/meta/topics.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_store.h"
#include "core/meta/metadata_image.h"
#include "core/shard/shard.h"
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

/* A runtime of two io shards whose __consumer_offsets-0 lives on shard 0,
 * with a log no refused append may touch. */
struct store_fixture {
	struct runtime *rt;
	struct shard *shards;
	struct partition part;
	struct topic topic;
	struct metadata_image *image;
	struct group_coordinator gc;
};

static uint8_t untouchable_log[4096];

static void fixture_init(struct store_fixture *f, uint32_t coordinator_shard)
{
	memset(f, 0, sizeof(*f));
	f->rt = calloc(1, sizeof(*f->rt));
	f->shards = calloc(2, sizeof(*f->shards));
	assert_non_null(f->rt);
	assert_non_null(f->shards);
	f->shards[1].id = 1;
	f->rt->shards = f->shards;
	f->rt->shard_count = f->rt->io_shards = 2;
	f->part = (struct partition){ .topic = &f->topic, .index = 0, .shard = 0,
				      .log = (struct partition_log *)untouchable_log };
	f->topic.partition_count = 1;
	f->topic.partitions = &f->part;
	f->topic.internal = true;
	f->topic.name_len = strlen(GROUP_STORE_TOPIC);
	memcpy(f->topic.name, GROUP_STORE_TOPIC, f->topic.name_len);
	struct topic_registry r = { .count = 1 };
	r.buckets[0] = &f->topic;
	f->image = metadata_image_build(&r, 1);
	assert_non_null(f->image);
	atomic_store(&f->rt->snapshot, &f->image->snap);
	f->gc = (struct group_coordinator){ .rt = f->rt, .shard = &f->shards[coordinator_shard] };
}

static void fixture_free(struct store_fixture *f)
{
	group_table_free(&f->gc.groups);
	metadata_image_free(f->image);
	free(f->shards);
	free(f->rt);
}

static int16_t append_offset(struct group *g, struct kstr metadata)
{
	struct group_offset_value v = { .offset = 1, .leader_epoch = -1, .metadata = metadata,
					.expire_timestamp = -1 };
	struct group_store_record rec = { .topic = kstr_from_cstr("t"), .partition = 0, .offset = &v };
	return group_store_append(g, &rec, 1, append_done, NULL);
}

static void test_append_from_another_shard_is_refused(void **state)
{
	(void)state;
	struct store_fixture f;
	fixture_init(&f, 1);
	struct group *g = group_table_add(&f.gc.groups, kstr_from_cstr("g"), 0, &f.gc);
	assert_non_null(g);
	assert_int_equal(append_offset(g, kstr_from_cstr("")), KERR_NOT_COORDINATOR);
	assert_int_equal(g->writes_in_flight, 0);
	fixture_free(&f);
}

/* A record with an id longer than its int16 length would be written and
 * never replay (the acknowledged commit lost at the next start). */
static void test_strings_too_long_for_records_are_refused(void **state)
{
	(void)state;
	struct store_fixture f;
	fixture_init(&f, 0);
	static char big[INT16_MAX + 2];
	memset(big, 'g', sizeof(big) - 1);
	struct group *g = group_table_add(&f.gc.groups, kstr_from_cstr(big), 0, &f.gc);
	assert_non_null(g);
	assert_int_equal(append_offset(g, kstr_from_cstr("")), KERR_INVALID_REQUEST);
	big[INT16_MAX + 1] = '\0';
	struct group *h = group_table_add(&f.gc.groups, kstr_from_cstr("h"), 0, &f.gc);
	assert_non_null(h);
	assert_int_equal(append_offset(h, (struct kstr){ big, INT16_MAX + 1 }), KERR_INVALID_REQUEST);
	assert_int_equal(g->writes_in_flight + h->writes_in_flight, 0);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_kafka),
		cmocka_unit_test(test_append_from_another_shard_is_refused),
		cmocka_unit_test(test_strings_too_long_for_records_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
