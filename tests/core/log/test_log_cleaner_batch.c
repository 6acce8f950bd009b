/* The cleaner's key map and its rewrite of one batch: the dedupe decision,
 * every codec written back as it came, the delete horizon of tombstones,
 * and batches it must leave alone (damaged, control). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/log/log_cleaner_batch.h"
#include "core/log/log_cleaner_map.h"
#include "proto/control_batch.h"
#include "tests/core/log/cleaner_fixture.h"

static struct log_cleaner_key_hash hash_of(struct log_cleaner_map *m, const char *key)
{
	return log_cleaner_map_hash(m, (const uint8_t *)key, strlen(key));
}

static void test_map_keeps_the_last_offset_per_key(void **state)
{
	(void)state;
	struct log_cleaner_map m;
	assert_int_equal(log_cleaner_map_init(&m, 1 << 16), 0);
	assert_true(log_cleaner_map_put(&m, hash_of(&m, "a"), 1));
	assert_true(log_cleaner_map_put(&m, hash_of(&m, "b"), 2));
	assert_true(log_cleaner_map_put(&m, hash_of(&m, "a"), 7));
	assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, "a")), 7);
	assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, "b")), 2);
	assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, "c")), -1);
	assert_int_equal(m.used, 2);
	/* The empty key is a key like any other. */
	assert_true(log_cleaner_map_put(&m, hash_of(&m, ""), 9));
	assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, "")), 9);
	log_cleaner_map_clear(&m);
	assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, "a")), -1);
	log_cleaner_map_free(&m);
}

static void test_map_fills_to_its_bound_and_refuses_new_keys(void **state)
{
	(void)state;
	struct log_cleaner_map m;
	assert_int_equal(log_cleaner_map_init(&m, 100 * LOG_CLEANER_MAP_SLOT_BYTES), 0);
	assert_int_equal(m.cap, 100);
	assert_int_equal(m.limit, 90);
	char key[16];
	for (int i = 0; i < 90; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(log_cleaner_map_put(&m, hash_of(&m, key), i));
	}
	assert_true(log_cleaner_map_full(&m));
	assert_false(log_cleaner_map_put(&m, hash_of(&m, "new"), 100));
	/* A key already there is still updated. */
	assert_true(log_cleaner_map_put(&m, hash_of(&m, "k3"), 200));
	assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, "k3")), 200);
	for (int i = 0; i < 90; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(log_cleaner_map_get(&m, hash_of(&m, key)), i == 3 ? 200 : i);
	}
	log_cleaner_map_free(&m);
}

static void test_map_hash_is_keyed(void **state)
{
	(void)state;
	struct log_cleaner_map a, b;
	assert_int_equal(log_cleaner_map_init(&a, 4096), 0);
	assert_int_equal(log_cleaner_map_init(&b, 4096), 0);
	struct log_cleaner_key_hash x = hash_of(&a, "same"), y = hash_of(&b, "same");
	assert_false(x.lo == y.lo && x.hi == y.hi);
	x = hash_of(&a, "same");
	y = hash_of(&a, "same");
	assert_true(x.lo == y.lo && x.hi == y.hi);
	log_cleaner_map_free(&a);
	log_cleaner_map_free(&b);
}

/* keep(): drops the records whose offsets are in the set. */
struct drop_set {
	int64_t offsets[16];
	int n;
};

static bool keep_unless_dropped(void *ctx, const struct cleaner_record *r)
{
	const struct drop_set *d = ctx;
	for (int i = 0; i < d->n; i++)
		if (d->offsets[i] == r->offset)
			return false;
	return true;
}

/* No decision on the batch as a whole: its records alone decide. */
static const struct log_cleaner_batch_plan AS_IS = { 0 };

static const char *const KEYS[] = { "a", "b", "c", "a", "d" };
static const char *const VALUES[] = { "1", "2", "3", "4", "5" };

static struct log_cleaner_filter filter_with(struct drop_set *d, int64_t now_ms)
{
	return (struct log_cleaner_filter){ .keep = keep_unless_dropped, .ctx = d, .now_ms = now_ms,
					    .delete_retention_ms = 1000,
					    .inflated_max = 1 << 20 };
}

static void filter_free(struct log_cleaner_filter *f)
{
	cleaner_buf_free(&f->scratch);
	cleaner_buf_free(&f->plain);
}

/* Reads the records of a batch back: their offsets, keys and values. */
static int read_back(const uint8_t *batch, size_t len, int64_t *offsets, char keys[][8],
		     char values[][8], int64_t *timestamps)
{
	struct cleaner_buf scratch = { 0 };
	struct cleaner_batch b;
	assert_int_equal(log_cleaner_batch_open(batch, len, 1 << 20, &scratch, &b), 0);
	struct cleaner_record r;
	int n = 0, rc;
	while ((rc = log_cleaner_batch_next(&b, &r)) == 1) {
		offsets[n] = r.offset;
		timestamps[n] = r.timestamp;
		snprintf(keys[n], 8, "%.*s", r.key.len, (const char *)r.key.ptr);
		if (r.value.len < 0)
			snprintf(values[n], 8, "<null>");
		else
			snprintf(values[n], 8, "%.*s", r.value.len, (const char *)r.value.ptr);
		n++;
	}
	assert_int_equal(rc, 0);
	cleaner_buf_free(&scratch);
	return n;
}

static void check_rewrite_in(enum compression_codec codec)
{
	size_t len;
	uint8_t *batch = make_keyed(KEYS, VALUES, 5, 100, codec, 5000, &len);
	/* Producer fields survive the rewrite. */
	be_store(batch + 43, 77, 8);
	be_store(batch + 51, 3, 2);
	be_store(batch + 53, 40, 4);
	be_store(batch + 17, crc32c(0, batch + 21, len - 21), 4);
	struct drop_set d = { .offsets = { 100, 102 }, .n = 2 };
	struct log_cleaner_filter f = filter_with(&d, 1);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	assert_int_equal(res.records_kept, 3);
	assert_int_equal(res.records_dropped, 2);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(out.p, out.len, true, &h), RECORD_SCAN_OK);
	assert_int_equal(record_batch_total_bytes(&h), out.len);
	assert_int_equal(h.base_offset, 100);
	assert_int_equal(h.attributes & BATCH_ATTR_COMPRESSION_MASK, codec);
	assert_int_equal(h.record_count, 3);
	assert_int_equal(h.last_offset_delta, 4);
	assert_int_equal(h.producer_id, 77);
	assert_int_equal(h.producer_epoch, 3);
	assert_int_equal(h.base_sequence, 40);
	assert_int_equal(h.base_timestamp, 5000);
	int64_t offsets[8], ts[8];
	char keys[8][8], values[8][8];
	assert_int_equal(read_back(out.p, out.len, offsets, keys, values, ts), 3);
	assert_int_equal(offsets[0], 101);
	assert_int_equal(offsets[1], 103);
	assert_int_equal(offsets[2], 104);
	assert_string_equal(keys[1], "a");
	assert_string_equal(values[1], "4");
	assert_string_equal(values[2], "5");
	free(batch);
	cleaner_buf_free(&out);
	filter_free(&f);
}

static void test_rewrite_uncompressed(void **state) { (void)state; check_rewrite_in(CODEC_NONE); }
static void test_rewrite_gzip(void **state) { (void)state; check_rewrite_in(CODEC_GZIP); }
static void test_rewrite_snappy(void **state) { (void)state; check_rewrite_in(CODEC_SNAPPY); }
static void test_rewrite_lz4(void **state) { (void)state; check_rewrite_in(CODEC_LZ4); }
static void test_rewrite_zstd(void **state) { (void)state; check_rewrite_in(CODEC_ZSTD); }

/* The rewritten batch keeps its last offset when its last records go, as
 * Kafka's overrideLastOffset does for magic 2: base sequence + last offset
 * delta stays the producer's last sequence in the log. */
static void test_rewrite_keeps_the_last_offset(void **state)
{
	(void)state;
	size_t len;
	uint8_t *batch = make_keyed(KEYS, VALUES, 5, 100, CODEC_SNAPPY, 5000, &len);
	struct drop_set d = { .offsets = { 103, 104 }, .n = 2 };
	struct log_cleaner_filter f = filter_with(&d, 1);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(out.p, out.len, true, &h), RECORD_SCAN_OK);
	assert_int_equal(h.record_count, 3);
	assert_int_equal(h.last_offset_delta, 4);
	int64_t offsets[8], ts[8];
	char keys[8][8], values[8][8];
	assert_int_equal(read_back(out.p, out.len, offsets, keys, values, ts), 3);
	assert_int_equal(offsets[2], 102);
	free(batch);
	cleaner_buf_free(&out);
	filter_free(&f);
}

static void test_batch_kept_whole_or_dropped(void **state)
{
	(void)state;
	size_t len;
	uint8_t *batch = make_keyed(KEYS, VALUES, 5, 0, CODEC_LZ4, 5000, &len);
	struct drop_set none = { .n = 0 };
	struct log_cleaner_filter f = filter_with(&none, 1);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.p, batch, len);
	struct drop_set all = { .offsets = { 0, 1, 2, 3, 4 }, .n = 5 };
	f.ctx = &all;
	out.len = 0;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_DROPPED);
	assert_int_equal(out.len, 0);
	assert_int_equal(res.records_dropped, 5);
	free(batch);
	cleaner_buf_free(&out);
	filter_free(&f);
}

static void test_tombstone_gets_a_horizon_then_goes(void **state)
{
	(void)state;
	static const char *const keys[] = { "a", "b" };
	static const char *const values[] = { "1", NULL };
	size_t len;
	uint8_t *batch = make_keyed(keys, values, 2, 10, CODEC_ZSTD, 5000, &len);
	struct drop_set none = { .n = 0 };
	/* First cleaning at t=20000: the tombstone stays, its batch gets the
	 * horizon 21000 and every record keeps its timestamp. */
	struct log_cleaner_filter f = filter_with(&none, 20000);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(out.p, out.len, true, &h), RECORD_SCAN_OK);
	assert_true(h.attributes & BATCH_ATTR_DELETE_HORIZON);
	assert_int_equal(h.base_timestamp, 21000);
	assert_int_equal(h.record_count, 2);
	int64_t offsets[8], ts[8];
	char k[8][8], v[8][8];
	assert_int_equal(read_back(out.p, out.len, offsets, k, v, ts), 2);
	assert_int_equal(ts[0], 5000);
	assert_int_equal(ts[1], 5000);
	assert_string_equal(v[1], "<null>");
	/* Before the horizon: kept as it is. */
	f.now_ms = 20999;
	struct cleaner_buf again = { 0 };
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	/* At the horizon the tombstone goes; the value stays. */
	f.now_ms = 21000;
	again.len = 0;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	assert_int_equal(read_back(again.p, again.len, offsets, k, v, ts), 1);
	assert_int_equal(offsets[0], 10);
	assert_string_equal(v[0], "1");
	assert_int_equal(ts[0], 5000);
	free(batch);
	cleaner_buf_free(&out);
	cleaner_buf_free(&again);
	filter_free(&f);
}

static void test_damaged_and_control_batches_are_copied(void **state)
{
	(void)state;
	size_t len;
	uint8_t *batch = make_keyed(KEYS, VALUES, 5, 0, CODEC_GZIP, 5000, &len);
	struct drop_set d = { .offsets = { 0 }, .n = 1 };
	struct log_cleaner_filter f = filter_with(&d, 1);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	batch[len - 3] ^= 0x40; /* inside the gzip payload: the CRC fails */
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	assert_true(res.damaged);
	assert_memory_equal(out.p, batch, len);
	free(batch);
	batch = make_keyed(KEYS, VALUES, 5, 0, CODEC_NONE, 5000, &len);
	be_store(batch + 21, BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL, 2);
	be_store(batch + 17, crc32c(0, batch + 21, len - 21), 4);
	out.len = 0;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	assert_false(res.damaged);
	assert_memory_equal(out.p, batch, len);
	free(batch);
	cleaner_buf_free(&out);
	filter_free(&f);
}

/* A transaction's marker at base_offset, as the log stores it. */
static void make_marker(uint8_t b[CONTROL_MARKER_BATCH_BYTES], int64_t base_offset, bool commit)
{
	struct control_marker m = { .producer_id = 9, .producer_epoch = 2, .coordinator_epoch = 4,
				    .commit = commit };
	control_batch_build(b, &m, 5000);
	record_batch_assign_offset(b, base_offset, 0);
}

/* Aborted data goes whole, whatever the key map says of its records. */
static void test_discarded_batch_goes_whole(void **state)
{
	(void)state;
	size_t len;
	uint8_t *batch = make_keyed(KEYS, VALUES, 5, 10, CODEC_LZ4, 5000, &len);
	struct drop_set d = { .n = 0 };
	struct log_cleaner_filter f = filter_with(&d, 1);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	const struct log_cleaner_batch_plan discard = { .discard = true };
	assert_int_equal(log_cleaner_batch_filter(&f, &discard, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_DROPPED);
	assert_int_equal(res.records_dropped, 5);
	assert_int_equal(out.len, 0);
	free(batch);
	cleaner_buf_free(&out);
	filter_free(&f);
}

/* A producer's last batch with nothing left in it stays as an empty batch
 * with its offsets, producer fields and max timestamp (Kafka's
 * writeEmptyHeader); an empty batch that is no longer the last goes. */
static void check_kept_empty(const struct log_cleaner_batch_plan *plan, const struct drop_set *d)
{
	size_t len;
	uint8_t *batch = make_keyed(KEYS, VALUES, 5, 10, CODEC_ZSTD, 5000, &len);
	be_store(batch + 43, 77, 8);
	be_store(batch + 51, 3, 2);
	be_store(batch + 53, 40, 4);
	be_store(batch + 17, crc32c(0, batch + 21, len - 21), 4);
	be_store(batch + 35, 5004, 8); /* max timestamp */
	be_store(batch + 17, crc32c(0, batch + 21, len - 21), 4);
	struct drop_set copy = *d;
	struct log_cleaner_filter f = filter_with(&copy, 1);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	assert_int_equal(log_cleaner_batch_filter(&f, plan, batch, len, &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	assert_int_equal(res.records_kept, 0);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(out.p, out.len, true, &h), RECORD_SCAN_OK);
	assert_int_equal(out.len, RECORD_BATCH_HEADER_BYTES);
	assert_int_equal(h.record_count, 0);
	assert_int_equal(h.base_offset, 10);
	assert_int_equal(h.last_offset_delta, 4);
	assert_int_equal(h.producer_id, 77);
	assert_int_equal(h.producer_epoch, 3);
	assert_int_equal(h.base_sequence, 40);
	assert_int_equal(h.attributes & BATCH_ATTR_COMPRESSION_MASK, CODEC_NONE);
	assert_int_equal(h.max_timestamp, 5004);
	assert_int_equal(h.base_timestamp, -1);
	/* Cleaned again: kept as it is while the last, gone after. */
	struct cleaner_buf again = { 0 };
	assert_int_equal(log_cleaner_batch_filter(&f, plan, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	assert_memory_equal(again.p, out.p, out.len);
	again.len = 0;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_DROPPED);
	assert_int_equal(again.len, 0);
	free(batch);
	cleaner_buf_free(&out);
	cleaner_buf_free(&again);
	filter_free(&f);
}

static void test_last_batch_of_a_producer_is_kept_empty(void **state)
{
	(void)state;
	const struct drop_set all = { .offsets = { 10, 11, 12, 13, 14 }, .n = 5 };
	const struct drop_set none = { .n = 0 };
	check_kept_empty(&(struct log_cleaner_batch_plan){ .keep_empty = true }, &all);
	check_kept_empty(&(struct log_cleaner_batch_plan){ .keep_empty = true, .discard = true },
			 &none);
}

/* A marker whose transaction is done takes a delete horizon (its record
 * kept, re-encoded against the new base timestamp); discarded once the
 * horizon has passed, it goes, or stays empty as its producer's last. */
static void test_done_marker_takes_a_horizon_then_goes(void **state)
{
	(void)state;
	uint8_t marker[CONTROL_MARKER_BATCH_BYTES];
	make_marker(marker, 20, false);
	struct drop_set d = { .offsets = { 20 }, .n = 1 }; /* the key map is not asked */
	struct log_cleaner_filter f = filter_with(&d, 7000);
	struct cleaner_buf out = { 0 };
	struct log_cleaner_batch_result res;
	assert_int_equal(log_cleaner_batch_filter(&f, &AS_IS, marker, sizeof(marker), &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	out.len = 0;
	const struct log_cleaner_batch_plan done = { .marker_done = true };
	assert_int_equal(log_cleaner_batch_filter(&f, &done, marker, sizeof(marker), &out, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(out.p, out.len, true, &h), RECORD_SCAN_OK);
	assert_true(h.attributes & BATCH_ATTR_DELETE_HORIZON);
	assert_true(h.attributes & BATCH_ATTR_CONTROL);
	assert_int_equal(h.base_timestamp, 7000 + 1000);
	struct control_marker m;
	assert_true(control_batch_read(out.p, out.len, &m));
	assert_false(m.commit);
	assert_int_equal(m.producer_id, 9);
	assert_int_equal(m.coordinator_epoch, 4);
	/* With its horizon, done again: copied as it is. */
	struct cleaner_buf again = { 0 };
	assert_int_equal(log_cleaner_batch_filter(&f, &done, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_KEPT);
	again.len = 0;
	const struct log_cleaner_batch_plan gone = { .marker_done = true, .discard = true };
	assert_int_equal(log_cleaner_batch_filter(&f, &gone, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_DROPPED);
	const struct log_cleaner_batch_plan last = { .marker_done = true, .discard = true,
						     .keep_empty = true };
	assert_int_equal(log_cleaner_batch_filter(&f, &last, out.p, out.len, &again, &res), 0);
	assert_int_equal(res.fate, LOG_CLEANER_BATCH_REWRITTEN);
	assert_int_equal(record_batch_scan(again.p, again.len, true, &h), RECORD_SCAN_OK);
	assert_int_equal(h.record_count, 0);
	assert_true(h.attributes & BATCH_ATTR_CONTROL);
	assert_false(h.attributes & BATCH_ATTR_DELETE_HORIZON);
	cleaner_buf_free(&out);
	cleaner_buf_free(&again);
	filter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_keeps_the_last_offset_per_key),
		cmocka_unit_test(test_map_fills_to_its_bound_and_refuses_new_keys),
		cmocka_unit_test(test_map_hash_is_keyed),
		cmocka_unit_test(test_rewrite_uncompressed),
		cmocka_unit_test(test_rewrite_gzip),
		cmocka_unit_test(test_rewrite_snappy),
		cmocka_unit_test(test_rewrite_lz4),
		cmocka_unit_test(test_rewrite_zstd),
		cmocka_unit_test(test_rewrite_keeps_the_last_offset),
		cmocka_unit_test(test_batch_kept_whole_or_dropped),
		cmocka_unit_test(test_tombstone_gets_a_horizon_then_goes),
		cmocka_unit_test(test_damaged_and_control_batches_are_copied),
		cmocka_unit_test(test_discarded_batch_goes_whole),
		cmocka_unit_test(test_last_batch_of_a_producer_is_kept_empty),
		cmocka_unit_test(test_done_marker_takes_a_horizon_then_goes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
