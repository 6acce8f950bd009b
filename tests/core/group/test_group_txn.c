/* Transactional offsets on a real __consumer_offsets log: TxnOffsetCommit
 * writes one transactional batch of the producer (Kafka's attributes, id,
 * epoch and base sequence) and keeps the offsets pending; a COMMIT marker
 * makes them committed unless a plain commit written later in the log holds
 * the partition, an ABORT drops them, a marker on another partition touches
 * nothing. At replay, transactional batches become pending per producer, a
 * control record completes them, what is still open stays pending, and
 * malformed control records and producerless transactional batches are
 * skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/core/log/log_fixture.h"

#include "core/group/group_coordinator.h"
#include "core/group/group_offsets.h"
#include "core/group/group_load.h"
#include "core/group/group_store.h"
#include "core/group/group_txn.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"
#include "core/shard/shard.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

enum { CONTROL_ABORT = 0, CONTROL_COMMIT = 1 };

struct txn_fixture {
	struct runtime *rt;
	struct shard *shards;
	struct partition co_part;
	struct topic co_topic;
	struct partition data_parts[2];
	struct topic data_topic;
	struct metadata_image *image;
	struct group_coordinator gc;
	struct partition_log *log;
	struct topic_registry registry;
	int answered;
};

static struct txn_fixture F;

/* Puts t in the bucket topics_find looks in (its hash is the registry's). */
static void registry_add(struct topic_registry *r, struct topic *t)
{
	struct kstr name = { t->name, (int32_t)t->name_len };
	for (size_t k = 0; k < TOPIC_REGISTRY_BUCKETS; k++) {
		t->next_by_name = r->buckets[k];
		r->buckets[k] = t;
		if (topics_find(r, name) == t) {
			r->count++;
			return;
		}
		r->buckets[k] = t->next_by_name;
	}
	fail_msg("no bucket finds %s", t->name);
}

static void txn_fixture_init(void)
{
	memset(&F, 0, sizeof(F));
	F.rt = calloc(1, sizeof(*F.rt));
	F.shards = calloc(1, sizeof(*F.shards));
	assert_non_null(F.rt);
	assert_non_null(F.shards);
	F.rt->shards = F.shards;
	F.rt->shard_count = F.rt->io_shards = 1;
	F.rt->cfg.message_max_bytes = 1 << 20;
	F.rt->cfg.offset_metadata_max_bytes = 4096;
	F.log = open_log(true, 0);
	F.co_part = (struct partition){ .topic = &F.co_topic, .index = 0, .shard = 0, .log = F.log };
	F.co_topic.partition_count = 1;
	F.co_topic.partitions = &F.co_part;
	F.co_topic.internal = true;
	F.co_topic.name_len = strlen(GROUP_STORE_TOPIC);
	memcpy(F.co_topic.name, GROUP_STORE_TOPIC, F.co_topic.name_len);
	for (int i = 0; i < 2; i++)
		F.data_parts[i] = (struct partition){ .topic = &F.data_topic, .index = i, .shard = 0 };
	F.data_topic.partition_count = 2;
	F.data_topic.partitions = F.data_parts;
	F.data_topic.name_len = 1;
	F.data_topic.name[0] = 't';
	registry_add(&F.registry, &F.co_topic);
	registry_add(&F.registry, &F.data_topic);
	F.rt->slots[RUNTIME_SLOT_TOPICS] = &F.registry;
	F.image = metadata_image_build(&F.registry, 1);
	assert_non_null(F.image);
	atomic_store(&F.rt->snapshot, &F.image->snap);
	F.gc = (struct group_coordinator){ .rt = F.rt, .shard = &F.shards[0] };
}

static void txn_fixture_free(void)
{
	group_table_free(&F.gc.groups);
	assert_null(F.gc.txn_groups);
	partition_log_close(F.log);
	metadata_image_free(F.image);
	free(F.shards);
	free(F.rt);
}

static int setup(void **state)
{
	fixture_setup(state);
	txn_fixture_init();
	return 0;
}

static int teardown(void **state)
{
	txn_fixture_free();
	return fixture_teardown(state);
}

static void answered(struct group_done *d, int16_t err)
{
	(void)d;
	assert_int_equal(err, KERR_NONE);
	F.answered++;
}

static void run_until_answered(int n)
{
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while ((F.answered < n || partition_log_ops_in_flight(F.log) > 0) &&
	       reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(F.answered, n);
}

/* TxnOffsetCommit of offsets[i] for t-i (i < count), as producer pid. */
static void txn_commit(const char *group, int64_t pid, const int64_t *offsets, uint32_t count)
{
	static struct group_commit_partition parts[2];
	static struct group_txn_commit_args args;
	static struct group_done done = { .fn = answered };
	for (uint32_t i = 0; i < count; i++)
		parts[i] = (struct group_commit_partition){ .topic = kstr_from_cstr("t"),
							    .partition = (int32_t)i, .offset = offsets[i],
							    .leader_epoch = -1,
							    .metadata = kstr_from_cstr("m") };
	args = (struct group_txn_commit_args){ .group_id = kstr_from_cstr(group), .producer_id = pid,
					       .producer_epoch = 3, .member_id = kstr_from_cstr(""),
					       .instance_id = { NULL, -1 }, .generation = -1,
					       .count = count, .parts = parts };
	int before = F.answered;
	group_txn_commit(&F.gc, 0, &args, &done);
	run_until_answered(before + 1);
	for (uint32_t i = 0; i < count; i++)
		assert_int_equal(parts[i].error, KERR_NONE);
}

static void plain_commit(const char *group, int32_t partition, int64_t offset)
{
	static struct group_commit_partition part;
	static struct group_commit_args args;
	static struct group_done done = { .fn = answered };
	part = (struct group_commit_partition){ .topic = kstr_from_cstr("t"), .partition = partition,
						.offset = offset, .leader_epoch = -1,
						.commit_timestamp = -1, .metadata = kstr_from_cstr("") };
	args = (struct group_commit_args){ .group_id = kstr_from_cstr(group), .member_id = kstr_from_cstr(""),
					   .instance_id = { NULL, -1 }, .generation = -1,
					   .retention_ms = -1, .count = 1, .parts = &part };
	int before = F.answered;
	group_commit(&F.gc, 0, &args, &done);
	run_until_answered(before + 1);
	assert_int_equal(part.error, KERR_NONE);
}

static void placed_answered(void *ctx, int16_t err, int64_t base_offset)
{
	(void)ctx;
	(void)base_offset;
	assert_int_equal(err, KERR_NONE);
	F.answered++;
}

static uint8_t control_batches[8][128];
static struct log_append control_appends[8];
static int control_count;

static void control_written(struct log_append *a, int16_t err)
{
	(void)a;
	assert_int_equal(err, KERR_NONE);
	F.answered++;
}

/* Appends a control batch of pid with one record whose key is `key`. */
static void append_control_key(int64_t pid, const uint8_t *key, int32_t key_len)
{
	uint8_t value[6] = { 0, 0, 0, 0, 0, 7 };
	struct record_kv kv = { .key = { key, key_len }, .value = { value, sizeof(value) } };
	size_t len = record_batch_build_size(&kv, 1);
	assert_true(len <= sizeof(control_batches[0]));
	uint8_t *b = control_batches[control_count];
	record_batch_build(b, len, &kv, 1, 1000);
	be_store(b + 21, BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL, 2);
	be_store(b + 43, (uint64_t)pid, 8);
	be_store(b + 51, 3, 2);
	be_store(b + 53, UINT32_MAX, 4);
	batch_seal(b, len);
	struct record_batch_header h;
	record_batch_header_read(b, &h);
	struct log_append *a = &control_appends[control_count++];
	a->done = control_written;
	a->log_append_time = -1;
	int before = F.answered;
	assert_int_equal(partition_log_append(F.log, b, len, &h, a), KERR_NONE);
	run_until_answered(before + 1);
}

static void append_marker(int64_t pid, int16_t type)
{
	uint8_t key[4] = { 0, 0, 0, (uint8_t)type };
	append_control_key(pid, key, sizeof(key));
}

static int64_t committed(struct group_coordinator *gc, const char *group, int32_t partition)
{
	struct group *g = group_coordinator_find(gc, kstr_from_cstr(group));
	struct group_offset *o = g ? group_offset_find(&g->offsets, kstr_from_cstr("t"), partition) : NULL;
	return o ? o->offset : -1;
}

static bool pending(struct group_coordinator *gc, const char *group, int32_t partition)
{
	struct group *g = group_coordinator_find(gc, kstr_from_cstr(group));
	return g && group_txn_has_pending(g, kstr_from_cstr("t"), partition);
}

static void test_written_as_a_transactional_batch(void **state)
{
	(void)state;
	txn_commit("g", 77, (int64_t[]){ 5, 6 }, 2);
	struct log_read rd;
	assert_int_equal(partition_log_read(F.log, 0, 1 << 20, true, &rd), KERR_NONE);
	uint8_t buf[4096];
	assert_true(rd.len >= RECORD_BATCH_HEADER_BYTES && rd.len <= sizeof(buf));
	assert_int_equal(pread(rd.fd, buf, rd.len, (off_t)rd.file_off), (ssize_t)rd.len);
	struct record_batch_header h;
	assert_int_equal(record_batch_scan(buf, rd.len, true, &h), RECORD_SCAN_OK);
	assert_int_equal(h.attributes, BATCH_ATTR_TRANSACTIONAL);
	assert_int_equal(h.producer_id, 77);
	assert_int_equal(h.producer_epoch, 3);
	assert_int_equal(h.base_sequence, 0);
	assert_int_equal(h.record_count, 2);
	assert_true(pending(&F.gc, "g", 0) && pending(&F.gc, "g", 1));
	assert_int_equal(committed(&F.gc, "g", 0), -1);
}

static void test_commit_abort_and_log_order(void **state)
{
	(void)state;
	txn_commit("g", 10, (int64_t[]){ 100, 101 }, 2);
	/* A plain commit of t-0 written after the transaction's: it stays. */
	plain_commit("g", 0, 7);
	txn_commit("h", 11, (int64_t[]){ 200 }, 1);
	/* A marker on another partition of the topic is not this one's. */
	group_txn_complete(&F.gc, 1, 10, true);
	assert_true(pending(&F.gc, "g", 0));
	group_txn_complete(&F.gc, 0, 10, true);
	assert_false(pending(&F.gc, "g", 0) || pending(&F.gc, "g", 1));
	assert_int_equal(committed(&F.gc, "g", 0), 7);
	assert_int_equal(committed(&F.gc, "g", 1), 101);
	group_txn_complete(&F.gc, 0, 11, false);
	assert_false(pending(&F.gc, "h", 0));
	assert_int_equal(committed(&F.gc, "h", 0), -1);
	/* A later transaction wins over an earlier plain commit. */
	txn_commit("g", 12, (int64_t[]){ 300 }, 1);
	group_txn_complete(&F.gc, 0, 12, true);
	assert_int_equal(committed(&F.gc, "g", 0), 300);
	assert_null(F.gc.txn_groups);
}

static void test_replay(void **state)
{
	(void)state;
	txn_commit("g", 20, (int64_t[]){ 1, 2 }, 2);  /* committed below */
	txn_commit("g", 21, (int64_t[]){ 3 }, 1);     /* aborted below */
	txn_commit("h", 22, (int64_t[]){ 4 }, 1);     /* left open */
	plain_commit("h", 1, 9);
	append_marker(20, CONTROL_COMMIT);
	append_marker(21, CONTROL_ABORT);
	/* Malformed and foreign control records are skipped. */
	append_control_key(22, (const uint8_t[]){ 0, 0 }, 2);
	append_control_key(22, (const uint8_t[]){ 0xff, 0xff, 0, 1 }, 4);
	append_control_key(22, NULL, -1);
	append_marker(22, 5);
	/* A transactional batch without a producer is malformed: skipped. */
	struct group *h = group_coordinator_find(&F.gc, kstr_from_cstr("h"));
	struct group_offset_value v = { .offset = 66, .leader_epoch = -1, .metadata = kstr_from_cstr(""),
					.expire_timestamp = -1 };
	struct group_store_record rec = { .topic = kstr_from_cstr("t"), .partition = 1, .offset = &v };
	struct group_store_producer nobody = { .producer_id = -1 };
	int before = F.answered;
	assert_int_equal(group_store_append_placed(h, &rec, 1, &nobody, placed_answered, NULL),
			 KERR_NONE);
	run_until_answered(before + 1);
	struct group_coordinator gc = { .rt = F.rt, .shard = &F.shards[0] };
	assert_int_equal(group_load(F.rt, &gc, &gc.groups), 0);
	assert_int_equal(committed(&gc, "g", 0), 1);
	assert_int_equal(committed(&gc, "g", 1), 2);
	assert_false(pending(&gc, "g", 0) || pending(&gc, "g", 1));
	assert_true(pending(&gc, "h", 0));
	assert_int_equal(committed(&gc, "h", 0), -1);
	assert_int_equal(committed(&gc, "h", 1), 9);
	/* The coordinator sends the open one's marker later. */
	group_txn_complete(&gc, 0, 22, true);
	assert_int_equal(committed(&gc, "h", 0), 4);
	group_table_free(&gc.groups);
	assert_null(gc.txn_groups);
}

static void test_removed_group_leaves_the_list(void **state)
{
	(void)state;
	txn_commit("g", 30, (int64_t[]){ 1 }, 1);
	txn_commit("h", 30, (int64_t[]){ 2 }, 1);
	struct group *g = group_coordinator_find(&F.gc, kstr_from_cstr("g"));
	group_table_remove(&F.gc.groups, g);
	assert_non_null(F.gc.txn_groups);
	assert_null(F.gc.txn_groups->txn_next);
	group_txn_complete(&F.gc, 0, 30, true);
	assert_int_equal(committed(&F.gc, "h", 0), 2);
	assert_null(F.gc.txn_groups);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_as_a_transactional_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_abort_and_log_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_group_leaves_the_list, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
