/* Fuzz target: the metadata store's replay at start. The input becomes the
 * content of `__sluice_metadata.log` (a file a crash may have torn, or a disk
 * corrupted), in a data directory with a valid meta.properties; the store is
 * opened as broker_start opens it. An input whose first byte is even is the
 * file as it is; one whose first byte is odd is a list of record payloads,
 * each after a 2-byte length, that are framed with their true length and
 * CRC32C first, so that mutations reach the record decoders behind the CRC
 * (a last, short piece is written raw: a torn tail). The seeds in
 * corpus/metadata_store are logs a broker wrote (topics created with
 * configs, one deleted, the layout recorded), in both forms.
 *
 * When the open succeeds (a torn tail is cut off, whole records applied),
 * the state must be stable: a second store opened on what the first left
 * replays the same topics and layout. Then changes are appended (a topic
 * created, one deleted, a layout recorded), and a third open must see exactly
 * them on top: an append after a replay, torn tail or not, is never lost or
 * misread. */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/slog.h"
#include "core/meta/metadata_store.h"
#include "proto/crc32c.h"

enum { FUZZ_NODE_ID = 1 };

static char fuzz_dir[64];
static char fuzz_log_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scratch directory goes when the run ends. */
static void fuzz_remove_dir(void)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/meta.properties", fuzz_dir);
	unlink(path);
	unlink(fuzz_log_path);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A torn tail is logged at WARN; thousands of inputs a second would
	 * flood the output. */
	slog_set_level(SLOG_ERROR);
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/sluice-fuzz-meta-XXXXXX", base);
	assert(mkdtemp(fuzz_dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/meta.properties", fuzz_dir);
	FILE *f = fopen(path, "w");
	assert(f);
	fprintf(f, "node.id=%d\ncluster.id=fuzzfuzzfuzzfuzzfuzzzz\nversion=1\n", FUZZ_NODE_ID);
	assert(fclose(f) == 0);
	snprintf(fuzz_log_path, sizeof(fuzz_log_path), "%s/__sluice_metadata.log", fuzz_dir);
	atexit(fuzz_remove_dir);
	return 0;
}

static struct metadata_store *fuzz_open(void)
{
	struct metadata_store *ms = NULL;
	char err[512];
	if (metadata_store_open(fuzz_dir, FUZZ_NODE_ID, &ms, err, sizeof(err)) != 0)
		return NULL;
	return ms;
}

static void same_topic(const struct meta_topic *a, const struct meta_topic *b)
{
	assert(strcmp(a->name, b->name) == 0);
	assert(memcmp(a->id.b, b->id.b, sizeof(a->id.b)) == 0);
	assert(a->partition_count == b->partition_count);
	assert(memcmp(a->partition_shard, b->partition_shard,
		      (size_t)a->partition_count * sizeof(*a->partition_shard)) == 0);
	assert(a->config_count == b->config_count);
	for (size_t i = 0; i < a->config_count; i++) {
		assert(strcmp(a->configs[i].key, b->configs[i].key) == 0);
		assert(strcmp(a->configs[i].value, b->configs[i].value) == 0);
	}
}

static void same_state(struct metadata_store *a, struct metadata_store *b)
{
	size_t na = 0, nb = 0;
	const struct meta_topic *ta = metadata_store_topics(a, &na);
	const struct meta_topic *tb = metadata_store_topics(b, &nb);
	assert(na == nb);
	for (size_t i = 0; i < na; i++)
		same_topic(&ta[i], &tb[i]);
	assert(metadata_store_layout(a) == metadata_store_layout(b));
}

static void write_all(int fd, const void *p, size_t n)
{
	assert(write(fd, p, n) == (ssize_t)n);
}

/* Writes the pieces of data (after the mode byte) as framed records. */
static void write_framed(int fd, const uint8_t *data, size_t size)
{
	size_t pos = 0;
	while (size - pos >= 2) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (len > size - pos) {
			write_all(fd, data + pos, size - pos);
			return;
		}
		uint8_t hdr[8];
		be_store(hdr, len, 4);
		be_store(hdr + 4, crc32c(0, data + pos, len), 4);
		write_all(fd, hdr, sizeof(hdr));
		write_all(fd, data + pos, len);
		pos += len;
	}
	write_all(fd, data + pos, size - pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(fuzz_log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert(fd >= 0);
	if (size > 0 && (data[0] & 1))
		write_framed(fd, data + 1, size - 1);
	else
		write_all(fd, data, size);
	assert(close(fd) == 0);

	struct metadata_store *first = fuzz_open();
	if (!first)
		return 0;
	struct metadata_store *second = fuzz_open();
	assert(second);
	same_state(first, second);
	metadata_store_close(second);

	/* Changes on top: one topic deleted (the first, if any), one created
	 * (replacing any of its name), a new layout. */
	size_t n = 0;
	const struct meta_topic *topics = metadata_store_topics(first, &n);
	char deleted[sizeof(topics[0].name)] = "";
	if (n > 0) {
		snprintf(deleted, sizeof(deleted), "%s", topics[0].name);
		assert(metadata_store_topic_delete(first, deleted) == 0);
	}
	int32_t shards[3] = { 2, 0, 1 };
	struct meta_kv kv = { "segment.bytes", "1048576" };
	struct meta_topic added = { .name = "fuzz-added", .partition_count = 3,
				    .partition_shard = shards, .config_count = 1, .configs = &kv };
	memset(added.id.b, 0x5a, sizeof(added.id.b));
	assert(metadata_store_topic_create(first, &added) == 0);
	assert(metadata_store_set_layout(first, 3) == 0);

	struct metadata_store *third = fuzz_open();
	assert(third);
	assert(metadata_store_layout(third) == 3);
	/* first already holds the changes: third must replay exactly them. */
	same_state(first, third);
	size_t n3 = 0;
	const struct meta_topic *t3 = metadata_store_topics(third, &n3);
	assert(n3 > 0);
	same_topic(&added, &t3[n3 - 1]);
	for (size_t i = 0; deleted[0] && strcmp(deleted, added.name) != 0 && i < n3; i++)
		assert(strcmp(t3[i].name, deleted) != 0);
	metadata_store_close(third);
	metadata_store_close(first);
	return 0;
}
