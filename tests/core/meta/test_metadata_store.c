/* The metadata store: a record whose append fails part-way (here: a short
 * write at the file size limit, as on a full disk) is cut off again, so that
 * a failed change is not replayed and later records still replay; a torn
 * last record is truncated at open; producer ids are never handed out twice,
 * across restarts, crashes and failed block records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/meta/metadata_store.h"

static char test_dir[] = "/tmp/sluice-meta-test-XXXXXX";

static int create_topic(struct metadata_store *ms, const char *name)
{
	int32_t shards[4] = { 0, 1, 0, 1 };
	struct meta_kv kv = { "cleanup.policy", "compact" };
	struct meta_topic t = { .partition_count = 4, .partition_shard = shards, .config_count = 1,
				.configs = &kv };
	snprintf(t.name, sizeof(t.name), "%s", name);
	memset(t.id.b, name[0], sizeof(t.id.b));
	return metadata_store_topic_create(ms, &t);
}

static off_t log_size(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/__sluice_metadata.log", test_dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static struct metadata_store *open_store(void)
{
	struct metadata_store *ms = NULL;
	char err[512] = "";
	int rc = metadata_store_open(test_dir, 0, &ms, err, sizeof(err));
	if (rc != 0)
		fail_msg("open: %s", err);
	return ms;
}

static void expect_topics(struct metadata_store *ms, const char *const *names, size_t n)
{
	size_t count = 0;
	const struct meta_topic *t = metadata_store_topics(ms, &count);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(t[i].name, names[i]);
		assert_int_equal(t[i].partition_count, 4);
		assert_int_equal(t[i].partition_shard[3], 1);
		assert_string_equal(t[i].configs[0].value, "compact");
	}
}

static void test_failed_append_is_not_replayed(void **state)
{
	(void)state;
	struct metadata_store *ms = open_store();
	assert_int_equal(create_topic(ms, "alpha"), 0);
	off_t size = log_size();
	/* The next record gets 10 bytes, then the file size limit. */
	struct rlimit saved;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	struct rlimit low = { (rlim_t)size + 10, saved.rlim_max };
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
	int rc = create_topic(ms, "bravo");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	assert_true(rc < 0);
	assert_int_equal(log_size(), size);
	expect_topics(ms, (const char *const[]){ "alpha" }, 1);
	assert_int_equal(create_topic(ms, "charl"), 0);
	metadata_store_close(ms);

	ms = open_store();
	expect_topics(ms, (const char *const[]){ "alpha", "charl" }, 2);
	metadata_store_close(ms);
}

static void test_torn_last_record_truncated(void **state)
{
	(void)state;
	struct metadata_store *ms = open_store();
	off_t size = log_size();
	assert_int_equal(create_topic(ms, "delta"), 0);
	metadata_store_close(ms);
	char path[256];
	snprintf(path, sizeof(path), "%s/__sluice_metadata.log", test_dir);
	assert_int_equal(truncate(path, log_size() - 3), 0);
	ms = open_store();
	assert_int_equal(log_size(), size);
	expect_topics(ms, (const char *const[]){ "alpha", "charl" }, 2);
	metadata_store_close(ms);
}

static void test_producer_ids_never_reused(void **state)
{
	(void)state;
	struct metadata_store *ms = open_store();
	int64_t first, id;
	assert_int_equal(metadata_store_producer_id_take(ms, &first), 0);
	for (int i = 1; i < 1500; i++) {
		assert_int_equal(metadata_store_producer_id_take(ms, &id), 0);
		assert_int_equal(id, first + i);
	}
	/* Closed without a word (as a crash would): the next start goes past
	 * every block recorded, the second one included. */
	metadata_store_close(ms);
	ms = open_store();
	assert_int_equal(metadata_store_producer_id_take(ms, &id), 0);
	assert_true(id >= first + 1500);
	int64_t after_restart = id;
	/* A block record that cannot be written hands out nothing. */
	for (int64_t want = id + 1; want % 1000 != 0; want++)
		assert_int_equal(metadata_store_producer_id_take(ms, &id), 0);
	struct rlimit saved;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	struct rlimit low = { (rlim_t)log_size() + 3, saved.rlim_max };
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
	int rc = metadata_store_producer_id_take(ms, &id);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	assert_true(rc < 0);
	assert_int_equal(metadata_store_producer_id_take(ms, &id), 0);
	assert_true(id > after_restart);
	metadata_store_close(ms);
	ms = open_store();
	int64_t later;
	assert_int_equal(metadata_store_producer_id_take(ms, &later), 0);
	assert_true(later > id);
	expect_topics(ms, (const char *const[]){ "alpha", "charl" }, 2);
	metadata_store_close(ms);
}

/* Dynamic broker configs: each level's last record wins across a restart,
 * levels apart, and topics recorded again replace the earlier record. */
static void test_broker_configs_and_topic_rerecorded(void **state)
{
	(void)state;
	struct metadata_store *ms = open_store();
	struct meta_kv first[2] = { { "log.retention.ms", "1000" }, { "message.max.bytes", "5" } };
	struct meta_kv second[1] = { { "log.retention.ms", "2000" } };
	struct meta_kv cluster[1] = { { "log.segment.bytes", "30000" } };
	assert_int_equal(metadata_store_set_broker_configs(ms, META_BROKER_NODE, first, 2), 0);
	assert_int_equal(metadata_store_set_broker_configs(ms, META_BROKER_CLUSTER, cluster, 1), 0);
	assert_int_equal(metadata_store_set_broker_configs(ms, META_BROKER_NODE, second, 1), 0);
	int32_t shards[4] = { 0, 1, 0, 1 };
	struct meta_kv kv[2] = { { "cleanup.policy", "compact" }, { "retention.ms", "9" } };
	struct meta_topic t = { .partition_count = 4, .partition_shard = shards, .config_count = 2,
				.configs = kv };
	snprintf(t.name, sizeof(t.name), "alpha");
	memset(t.id.b, 'a', sizeof(t.id.b));
	assert_int_equal(metadata_store_topic_create(ms, &t), 0);
	metadata_store_close(ms);

	ms = open_store();
	size_t n;
	const struct meta_kv *got = metadata_store_broker_configs(ms, META_BROKER_NODE, &n);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].key, "log.retention.ms");
	assert_string_equal(got[0].value, "2000");
	got = metadata_store_broker_configs(ms, META_BROKER_CLUSTER, &n);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].value, "30000");
	expect_topics(ms, (const char *const[]){ "charl", "alpha" }, 2);
	size_t count;
	const struct meta_topic *topics = metadata_store_topics(ms, &count);
	assert_int_equal(topics[1].config_count, 2);
	assert_string_equal(topics[1].configs[1].value, "9");
	assert_int_equal(metadata_store_set_broker_configs(ms, META_BROKER_NODE, NULL, 0), 0);
	metadata_store_close(ms);
	ms = open_store();
	metadata_store_broker_configs(ms, META_BROKER_NODE, &n);
	assert_int_equal(n, 0);
	metadata_store_close(ms);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(test_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_append_is_not_replayed),
		cmocka_unit_test(test_torn_last_record_truncated),
		cmocka_unit_test(test_producer_ids_never_reused),
		cmocka_unit_test(test_broker_configs_and_topic_rerecorded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
