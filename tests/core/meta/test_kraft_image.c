/* Reading a Kafka KRaft metadata log: topics, partitions and topic configs
 * as its records leave them, metadata transactions (committed, aborted,
 * unfinished), the newest snapshot with the log after it, a torn tail, a
 * batch failing its CRC; Kafka's text form of topic ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/meta/kraft_image.h"
#include "core/meta/topics.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

enum { VALUE_BYTES_MAX = 256, BATCH_RECORDS_MAX = 16 };

/* One metadata record's value, built field by field. */
struct value {
	uint8_t b[VALUE_BYTES_MAX];
	struct wcursor w;
};

static struct value *value_start(struct value *v, uint32_t type)
{
	wc_init(&v->w, v->b, sizeof(v->b), NULL, 0);
	wc_uvarint(&v->w, 1); /* frame version */
	wc_uvarint(&v->w, type);
	wc_uvarint(&v->w, 0); /* record version */
	return v;
}

static struct kbytes value_end(struct value *v)
{
	wc_uvarint(&v->w, 0); /* no tagged fields */
	assert_false(v->w.overflow);
	return (struct kbytes){ v->b, (int32_t)(v->w.pos - v->w.start) };
}

static struct kuuid id_of(uint8_t n)
{
	struct kuuid id = { { 0 } };
	id.b[0] = n;
	id.b[15] = 0xa5;
	return id;
}

static struct kbytes topic_record(struct value *v, const char *name, uint8_t id)
{
	value_start(v, 2);
	wc_compact_string(&v->w, kstr_from_cstr(name));
	wc_uuid(&v->w, id_of(id));
	return value_end(v);
}

static struct kbytes partition_record(struct value *v, int32_t partition, uint8_t id)
{
	value_start(v, 3);
	wc_int32(&v->w, partition);
	wc_uuid(&v->w, id_of(id));
	wc_uvarint(&v->w, 2); /* replicas [1] */
	wc_int32(&v->w, 1);
	wc_uvarint(&v->w, 2); /* isr [1] */
	wc_int32(&v->w, 1);
	return value_end(v);
}

static struct kbytes config_record(struct value *v, int8_t type, const char *resource,
				   const char *key, const char *val)
{
	value_start(v, 4);
	wc_int8(&v->w, type);
	wc_compact_string(&v->w, kstr_from_cstr(resource));
	wc_compact_string(&v->w, kstr_from_cstr(key));
	if (val)
		wc_compact_string(&v->w, kstr_from_cstr(val));
	else
		wc_uvarint(&v->w, 0);
	return value_end(v);
}

static struct kbytes remove_topic_record(struct value *v, uint8_t id)
{
	value_start(v, 9);
	wc_uuid(&v->w, id_of(id));
	return value_end(v);
}

static struct kbytes txn_record(struct value *v, uint32_t type)
{
	return value_end(value_start(v, type));
}

/* Appends a batch of these values at base offset `base` to path. */
static void write_batch(const char *path, int64_t base, const struct kbytes *values, uint32_t n)
{
	struct record_kv kv[BATCH_RECORDS_MAX];
	assert_true(n <= BATCH_RECORDS_MAX);
	for (uint32_t i = 0; i < n; i++)
		kv[i] = (struct record_kv){ .key = { NULL, -1 }, .value = values[i] };
	size_t len = record_batch_build_size(kv, n);
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	record_batch_build(buf, len, kv, n, 1000);
	record_batch_assign_offset(buf, base, 1);
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

struct fixture {
	char root[64];
	char dir[128];
	char log[192];
};

static void fixture_make(struct fixture *fx)
{
	snprintf(fx->root, sizeof(fx->root), "/tmp/sluice-kraft-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	snprintf(fx->dir, sizeof(fx->dir), "%s/%s", fx->root, KRAFT_METADATA_DIR);
	assert_int_equal(mkdir(fx->dir, 0755), 0);
	snprintf(fx->log, sizeof(fx->log), "%s/00000000000000000000.log", fx->dir);
}

static void fixture_remove(struct fixture *fx)
{
	assert_int_equal(topics_remove_tree(fx->root), 0);
}

static const char *config_of(const struct kraft_topic *t, const char *key)
{
	for (size_t i = 0; i < t->config_count; i++)
		if (strcmp(t->configs[i].key, key) == 0)
			return t->configs[i].value;
	return NULL;
}

static void test_no_metadata_log(void **state)
{
	(void)state;
	char root[] = "/tmp/sluice-kraft-XXXXXX";
	assert_non_null(mkdtemp(root));
	struct kraft_image img;
	char err[512];
	assert_int_equal(kraft_image_read(root, &img, err, sizeof(err)), 0);
	assert_false(img.found);
	assert_int_equal(img.count, 0);
	kraft_image_free(&img);
	assert_int_equal(rmdir(root), 0);
}

static void test_topics_partitions_configs(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_make(&fx);
	struct value v[8];
	struct kbytes first[] = {
		topic_record(&v[0], "orders", 1),
		config_record(&v[1], 2, "orders", "retention.ms", "1000"),
		config_record(&v[2], 2, "orders", "cleanup.policy", "compact"),
		partition_record(&v[3], 0, 1),
		partition_record(&v[4], 1, 1),
		config_record(&v[5], 4, "", "min.insync.replicas", "1"),
		topic_record(&v[6], "gone", 2),
	};
	write_batch(fx.log, 0, first, 7);
	struct kbytes second[] = {
		config_record(&v[0], 2, "orders", "retention.ms", NULL),
		partition_record(&v[1], 2, 1),
		remove_topic_record(&v[2], 2),
	};
	write_batch(fx.log, 7, second, 3);
	/* A torn last batch: Kafka's recovery cuts it off, and so does the read. */
	FILE *f = fopen(fx.log, "ab");
	assert_non_null(f);
	fwrite("\0\0\0\0\0\0\0\x0a\0\0\0\x40", 1, 12, f);
	fclose(f);

	struct kraft_image img;
	char err[512];
	assert_int_equal(kraft_image_read(fx.root, &img, err, sizeof(err)), 0);
	assert_true(img.found);
	assert_int_equal(img.end_offset, 10);
	assert_int_equal(img.count, 1);
	const struct kraft_topic *t = kraft_image_find(&img, "orders");
	assert_non_null(t);
	assert_memory_equal(t->id.b, id_of(1).b, 16);
	assert_int_equal(t->partition_count, 3);
	assert_int_equal(t->config_count, 1);
	assert_string_equal(config_of(t, "cleanup.policy"), "compact");
	assert_null(kraft_image_find(&img, "gone"));
	kraft_image_free(&img);
	fixture_remove(&fx);
}

static void test_transactions(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_make(&fx);
	struct value v[4];
	struct kbytes committed[] = { txn_record(&v[0], 23), topic_record(&v[1], "kept", 1),
				      partition_record(&v[2], 0, 1), txn_record(&v[3], 24) };
	write_batch(fx.log, 0, committed, 4);
	struct kbytes aborted[] = { txn_record(&v[0], 23), topic_record(&v[1], "aborted", 2),
				    txn_record(&v[2], 25) };
	write_batch(fx.log, 4, aborted, 3);
	struct kbytes open_begin[] = { txn_record(&v[0], 23), topic_record(&v[1], "unfinished", 3) };
	write_batch(fx.log, 7, open_begin, 2);

	struct kraft_image img;
	char err[512];
	assert_int_equal(kraft_image_read(fx.root, &img, err, sizeof(err)), 0);
	assert_int_equal(img.count, 1);
	assert_non_null(kraft_image_find(&img, "kept"));
	assert_int_equal(kraft_image_find(&img, "kept")->partition_count, 1);
	kraft_image_free(&img);
	fixture_remove(&fx);
}

static void test_snapshot_then_log(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_make(&fx);
	struct value v[3];
	char older[256], newer[256];
	snprintf(older, sizeof(older), "%s/00000000000000000000-0000000000.checkpoint", fx.dir);
	snprintf(newer, sizeof(newer), "%s/00000000000000000003-0000000001.checkpoint", fx.dir);
	struct kbytes old_state[] = { topic_record(&v[0], "from-old-snapshot", 9) };
	write_batch(older, 0, old_state, 1);
	struct kbytes snap[] = { topic_record(&v[0], "in-snapshot", 1), partition_record(&v[1], 0, 1) };
	write_batch(newer, 0, snap, 2);
	/* Offsets 0-2 are in the snapshot; the log's copy of them is not read. */
	struct kbytes below[] = { topic_record(&v[0], "below-snapshot", 2), partition_record(&v[1], 0, 2),
				  partition_record(&v[2], 1, 1) };
	write_batch(fx.log, 0, below, 3);
	char second_segment[256];
	snprintf(second_segment, sizeof(second_segment), "%s/00000000000000000003.log", fx.dir);
	struct kbytes after[] = { topic_record(&v[0], "after-snapshot", 3), partition_record(&v[1], 4, 1) };
	write_batch(second_segment, 3, after, 2);

	struct kraft_image img;
	char err[512];
	assert_int_equal(kraft_image_read(fx.root, &img, err, sizeof(err)), 0);
	assert_int_equal(img.count, 2);
	assert_null(kraft_image_find(&img, "below-snapshot"));
	assert_null(kraft_image_find(&img, "from-old-snapshot"));
	assert_non_null(kraft_image_find(&img, "after-snapshot"));
	assert_int_equal(kraft_image_find(&img, "in-snapshot")->partition_count, 5);
	assert_int_equal(img.end_offset, 5);
	kraft_image_free(&img);
	fixture_remove(&fx);
}

static void test_crc_failure_names_the_file(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_make(&fx);
	struct value v[2];
	struct kbytes one[] = { topic_record(&v[0], "a", 1) };
	write_batch(fx.log, 0, one, 1);
	struct stat st;
	assert_int_equal(stat(fx.log, &st), 0);
	struct kbytes two[] = { topic_record(&v[1], "b", 2) };
	write_batch(fx.log, 1, two, 1);
	FILE *f = fopen(fx.log, "r+b");
	assert_non_null(f);
	fseek(f, st.st_size + RECORD_BATCH_HEADER_BYTES + 2, SEEK_SET);
	fputc('Z', f);
	fclose(f);

	struct kraft_image img;
	char err[512];
	assert_int_equal(kraft_image_read(fx.root, &img, err, sizeof(err)), -1);
	assert_false(img.found);
	assert_int_equal(img.count, 0);
	assert_non_null(strstr(err, fx.log));
	assert_non_null(strstr(err, "CRC"));
	kraft_image_free(&img);
	fixture_remove(&fx);
}

static void test_topic_id_text(void **state)
{
	(void)state;
	struct kuuid id, back;
	for (int i = 0; i < 16; i++)
		id.b[i] = (uint8_t)(i * 37 + 11);
	char text[KUUID_TEXT_BYTES];
	kuuid_format(id, text);
	assert_true(kuuid_parse(text, strlen(text), &back));
	assert_memory_equal(id.b, back.b, 16);
	assert_true(kuuid_parse("fOwUdMYcTCyNJToyeNWEYA", 22, &back));
	kuuid_format(back, text);
	assert_string_equal(text, "fOwUdMYcTCyNJToyeNWEYA");
	assert_false(kuuid_parse("fOwUdMYcTCyNJToyeNWEY", 21, &back));
	assert_false(kuuid_parse("fOwUdMYcTCyNJToyeNWEYA=", 23, &back));
	assert_false(kuuid_parse("fOwUdMYcTCyNJToyeNWE+A", 22, &back));
	/* The last character carries 2 bits; the 4 below them must be zero. */
	assert_false(kuuid_parse("fOwUdMYcTCyNJToyeNWEYB", 22, &back));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_metadata_log),
		cmocka_unit_test(test_topics_partitions_configs),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_snapshot_then_log),
		cmocka_unit_test(test_crc_failure_names_the_file),
		cmocka_unit_test(test_topic_id_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
