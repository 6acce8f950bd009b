/* Metadata images: every topic of the registry found by name and by id, and
 * nothing else; an empty registry's image. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"

enum { IMAGE_TEST_TOPICS = 1000 };

/* A registry of n topics "topic-<i>" with ids {i+1, 0, ...}, all in one
 * bucket: the image must not depend on the registry's own hashing. */
static struct topic *image_test_registry(struct topic_registry *r, size_t n)
{
	memset(r, 0, sizeof(*r));
	struct topic *topics = calloc(n + 1, sizeof(*topics));
	assert_non_null(topics);
	for (size_t i = 0; i < n; i++) {
		struct topic *t = &topics[i];
		t->name_len = (size_t)snprintf(t->name, sizeof(t->name), "topic-%zu", i);
		memcpy(t->id.b, &(uint32_t){ (uint32_t)i + 1 }, sizeof(uint32_t));
		t->next_by_name = r->buckets[0];
		r->buckets[0] = t;
	}
	r->count = n;
	return topics;
}

static void test_every_topic_by_name_and_id(void **state)
{
	(void)state;
	struct topic_registry r;
	struct topic *topics = image_test_registry(&r, IMAGE_TEST_TOPICS);
	struct metadata_image *im = metadata_image_build(&r, 7);
	assert_non_null(im);
	assert_int_equal(im->generation, 7);
	assert_int_equal(im->topic_count, IMAGE_TEST_TOPICS);
	for (size_t i = 0; i < IMAGE_TEST_TOPICS; i++) {
		struct topic *t = &topics[i];
		struct kstr name = { t->name, (int32_t)t->name_len };
		assert_ptr_equal(metadata_image_find(im, name), t);
		assert_ptr_equal(metadata_image_find_id(im, t->id), t);
	}
	assert_null(metadata_image_find(im, kstr_from_cstr("topic-1000")));
	assert_null(metadata_image_find(im, kstr_from_cstr("topic-")));
	assert_null(metadata_image_find(im, (struct kstr){ NULL, -1 }));
	struct kuuid zero = { 0 };
	assert_null(metadata_image_find_id(im, zero));
	struct kuuid missing = { .b = { 0xff, 0xff, 0xff, 0xff } };
	assert_null(metadata_image_find_id(im, missing));
	metadata_image_free(im);
	free(topics);
}

static void test_empty_registry(void **state)
{
	(void)state;
	struct topic_registry r;
	memset(&r, 0, sizeof(r));
	struct metadata_image *im = metadata_image_build(&r, 1);
	assert_non_null(im);
	assert_int_equal(im->topic_count, 0);
	assert_null(metadata_image_find(im, kstr_from_cstr("a")));
	metadata_image_free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_topic_by_name_and_id),
		cmocka_unit_test(test_empty_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
