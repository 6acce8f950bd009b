/* Broker and topic configuration parsing, and the metadata store's
 * persistence (topics, placement re-recorded, the core layout), torn-tail
 * truncation and corruption refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topic_config.h"
#include "proto/kafka_errors.h"

static void test_properties_file(void **state)
{
	(void)state;
	char path[] = "/tmp/sluice-props-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "# comment\n! also a comment\nlisteners = PLAINTEXT://127.0.0.1:9555\n"
			   "log.dirs: /tmp/x\\\n   y\nnum.partitions 4\nbroker.id=3\n"
			   "unknown.key=1\nzookeeper.connect=localhost:2181\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct broker_config c;
	char err[256];
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "num.partitions", "6", err, sizeof(err)), 0);
	assert_int_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.listen_port, 9555);
	assert_string_equal(c.advertised_host, "127.0.0.1");
	assert_string_equal(c.log_dir, "/tmp/xy");
	assert_int_equal(c.num_partitions, 6);
	assert_int_equal(c.node_id, 3);
	assert_int_equal(c.log_roll_ms, 168ull * 3600 * 1000);
	unlink(path);
}

static void test_bad_values_name_the_key(void **state)
{
	(void)state;
	struct broker_config c;
	char err[256];
	config_defaults(&c);
	assert_int_not_equal(config_set(&c, "num.partitions", "many", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "num.partitions"));
	assert_int_not_equal(config_set(&c, "log.segment.bytes", "3", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "log.segment.bytes"));
	assert_int_not_equal(config_set(&c, "auto.create.topics.enable", "yes", err, sizeof(err)), 0);
	assert_int_not_equal(config_set(&c, "log.message.timestamp.type", "Wall", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "log.message.timestamp.type", "LogAppendTime", err, sizeof(err)), 0);
	config_set(&c, "listeners", "SSL://127.0.0.1:9093", err, sizeof(err));
	assert_int_not_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "listeners"));
	config_defaults(&c);
	config_set(&c, "log.dirs", "/a,/b", err, sizeof(err));
	assert_int_not_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "log.dirs"));
	config_defaults(&c);
	config_set(&c, "node.id", "1", err, sizeof(err));
	config_set(&c, "broker.id", "2", err, sizeof(err));
	assert_int_not_equal(config_finish(&c, err, sizeof(err)), 0);
}

static void test_topic_config(void **state)
{
	(void)state;
	struct broker_config b;
	char err[256];
	config_defaults(&b);
	config_finish(&b, err, sizeof(err));
	struct topic_config t;
	topic_config_from_broker(&t, &b);
	assert_int_equal(t.max_message_bytes, b.message_max_bytes);
#define SET(k, v) topic_config_set(&t, k, strlen(k), v, strlen(v), err, sizeof(err))
	assert_int_equal(SET("cleanup.policy", "compact"), KERR_NONE);
	assert_true(t.cleanup_compact && !t.cleanup_delete);
	assert_int_equal(SET("segment.bytes", "1048576"), KERR_NONE);
	assert_int_equal(t.segment_bytes, 1048576);
	assert_int_equal(SET("message.timestamp.type", "LogAppendTime"), KERR_NONE);
	assert_true(t.message_timestamp_type_log_append);
	assert_int_equal(SET("retention.ms", "soon"), KERR_INVALID_CONFIG);
	assert_non_null(strstr(err, "retention.ms"));
	assert_int_equal(SET("no.such.key", "1"), KERR_INVALID_CONFIG);
	assert_non_null(strstr(err, "no.such.key"));
	assert_int_equal(SET("compression.type", "brotli"), KERR_INVALID_CONFIG);
#undef SET
	struct topic_config_entry e[TOPIC_CONFIG_ENTRIES_MAX];
	size_t n = topic_config_list(&t, e, TOPIC_CONFIG_ENTRIES_MAX);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(e[i].name, "segment.bytes") == 0 && strcmp(e[i].value, "1048576") == 0;
	assert_true(found);
}

static void test_metadata_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-meta-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[512];
	struct metadata_store *ms;
	assert_int_equal(metadata_store_open(dir, 0, &ms, err, sizeof(err)), 0);
	char cluster[64];
	snprintf(cluster, sizeof(cluster), "%s", metadata_store_cluster_id(ms));
	assert_int_equal(strlen(cluster), 22);
	int32_t shards[3] = { 0, 0, 0 };
	struct meta_kv kv = { "retention.ms", "1000" };
	struct meta_topic t = { .name = "a", .partition_count = 3, .partition_shard = shards,
				.config_count = 1, .configs = &kv };
	t.id.b[0] = 1;
	assert_int_equal(metadata_store_topic_create(ms, &t), 0);
	snprintf(t.name, sizeof(t.name), "b");
	t.config_count = 0;
	assert_int_equal(metadata_store_topic_create(ms, &t), 0);
	assert_int_equal(metadata_store_topic_delete(ms, "a"), 0);
	metadata_store_close(ms);

	assert_int_equal(metadata_store_open(dir, 0, &ms, err, sizeof(err)), 0);
	size_t n;
	const struct meta_topic *topics = metadata_store_topics(ms, &n);
	assert_int_equal(n, 1);
	assert_string_equal(topics[0].name, "b");
	assert_int_equal(topics[0].partition_count, 3);
	assert_string_equal(metadata_store_cluster_id(ms), cluster);
	metadata_store_close(ms);

	assert_int_not_equal(metadata_store_open(dir, 7, &ms, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "node.id"));

	char path[256];
	snprintf(path, sizeof(path), "%s/__sluice_metadata.log", dir);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "\0\0\0\x40garbage", 11), 11); /* torn record */
	close(fd);
	assert_int_equal(metadata_store_open(dir, 0, &ms, err, sizeof(err)), 0);
	metadata_store_topics(ms, &n);
	assert_int_equal(n, 1);
	metadata_store_close(ms);

	fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, "Z", 1, 12), 1); /* corrupt the first record */
	close(fd);
	assert_int_not_equal(metadata_store_open(dir, 0, &ms, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "corrupt"));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_metadata_store_placement(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-meta-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[512];
	struct metadata_store *ms;
	assert_int_equal(metadata_store_open(dir, 0, &ms, err, sizeof(err)), 0);
	assert_int_equal(metadata_store_layout(ms), 0);
	int32_t shards[3] = { 0, 1, 0 };
	struct meta_topic t = { .name = "a", .partition_count = 3, .partition_shard = shards };
	t.id.b[0] = 1;
	assert_int_equal(metadata_store_topic_create(ms, &t), 0);
	assert_int_equal(metadata_store_set_layout(ms, 2), 0);
	shards[2] = 2;
	assert_int_equal(metadata_store_topic_create(ms, &t), 0); /* placed anew */
	assert_int_equal(metadata_store_set_layout(ms, 3), 0);
	size_t n;
	metadata_store_topics(ms, &n);
	assert_int_equal(n, 1);
	metadata_store_close(ms);

	assert_int_equal(metadata_store_open(dir, 0, &ms, err, sizeof(err)), 0);
	assert_int_equal(metadata_store_layout(ms), 3);
	const struct meta_topic *topics = metadata_store_topics(ms, &n);
	assert_int_equal(n, 1);
	assert_int_equal(topics[0].id.b[0], 1);
	assert_int_equal(topics[0].partition_shard[0], 0);
	assert_int_equal(topics[0].partition_shard[1], 1);
	assert_int_equal(topics[0].partition_shard[2], 2);
	metadata_store_close(ms);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_properties_file),
		cmocka_unit_test(test_bad_values_name_the_key),
		cmocka_unit_test(test_topic_config),
		cmocka_unit_test(test_metadata_store),
		cmocka_unit_test(test_metadata_store_placement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
