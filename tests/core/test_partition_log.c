/* The partition log: appends through the reactor, Kafka-format index files,
 * read planning (index lookup, KIP-74, high watermark), rolls, clean reopen,
 * recovery from torn and corrupt tails, time lookups, and storage errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/partition_log.h"
#include "proto/crc32c.h"
#include "proto/kafka_errors.h"

enum { BATCH_BYTES = 1000, BATCHES_MAX = 256 };

static const uint64_t MS = 1000000;

struct env {
	char dir[64];
	struct reactor *reactor;
	struct log_config cfg;
	uint8_t batches[BATCHES_MAX][BATCH_BYTES];
	struct log_append appends[BATCHES_MAX];
	int16_t results[BATCHES_MAX];
	int done;
};

static struct env *E;

/* A valid batch of `count` empty-value records, total BATCH_BYTES long
 * (the last record's value pads it), with timestamps ts..ts+count-1. */
static size_t make_batch(uint8_t *b, int count, int64_t ts)
{
	memset(b, 0, BATCH_BYTES);
	size_t n = RECORD_BATCH_HEADER_BYTES;
	for (int i = 0; i < count; i++) {
		size_t value = i == count - 1 ? BATCH_BYTES - n - 9 : 0;
		uint8_t rec[BATCH_BYTES];
		size_t r = 0;
		rec[r++] = 0;
		rec[r++] = (uint8_t)(i * 2); /* timestamp delta (zig-zag) */
		rec[r++] = (uint8_t)(i * 2); /* offset delta */
		rec[r++] = 1;                /* null key */
		rec[r++] = (uint8_t)(0x80 | ((value * 2) & 0x7f));
		rec[r++] = (uint8_t)((value * 2) >> 7);
		memset(rec + r, 'v', value);
		r += value;
		rec[r++] = 0;
		b[n++] = (uint8_t)(0x80 | ((r * 2) & 0x7f));
		b[n++] = (uint8_t)((r * 2) >> 7);
		memcpy(b + n, rec, r);
		n += r;
	}
	be_store(b + 8, n - 12, 4);
	b[16] = 2;
	be_store(b + 23, (uint32_t)(count - 1), 4);
	be_store(b + 27, (uint64_t)ts, 8);
	be_store(b + 35, (uint64_t)(ts + count - 1), 8);
	be_store(b + 57, (uint32_t)count, 4);
	be_store(b + 17, crc32c(0, b + 21, n - 21), 4);
	return n;
}

static void on_append(struct log_append *a, int16_t err)
{
	E->results[a - E->appends] = err;
	E->done++;
}

static struct partition_log *open_log(bool clean, int64_t recovery_point)
{
	struct log_open_params p = { .dir = E->dir, .recovery_point = recovery_point,
				     .clean_shutdown = clean, .cfg = &E->cfg,
				     .reactor = E->reactor };
	struct partition_log *l = NULL;
	char err[256];
	assert_int_equal(partition_log_open(&p, &l, err, sizeof(err)), 0);
	return l;
}

/* Appends batches [from, to) of `count` records each and waits for them. */
static void append_range(struct partition_log *l, int from, int to, int count)
{
	E->done = 0;
	for (int i = from; i < to; i++) {
		size_t n = make_batch(E->batches[i], count, 1000 + i * 10);
		struct record_batch_header h;
		record_batch_header_read(E->batches[i], &h);
		E->appends[i].done = on_append;
		E->appends[i].log_append_time = -1;
		assert_int_equal(partition_log_append(l, E->batches[i], n, &h, &E->appends[i]), 0);
	}
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while ((E->done < to - from || partition_log_ops_in_flight(l) > 0) &&
	       reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(E->done, to - from);
	for (int i = from; i < to; i++)
		assert_int_equal(E->results[i], KERR_NONE);
}

static int setup(void **state)
{
	(void)state;
	E = calloc(1, sizeof(*E));
	snprintf(E->dir, sizeof(E->dir), "/tmp/sluice-log-XXXXXX");
	assert_non_null(mkdtemp(E->dir));
	strcat(E->dir, "/t-0");
	struct reactor_config rc = { .sq_entries = 64, .timers_max = 16 };
	char err[256];
	E->reactor = reactor_create(&rc, err, sizeof(err));
	if (!E->reactor)
		exit(77);
	E->cfg = (struct log_config){ .segment_bytes = 10 * BATCH_BYTES, .segment_ms = UINT64_MAX / 2,
				      .index_interval_bytes = 2 * BATCH_BYTES,
				      .segment_index_bytes = 1 << 20 };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	reactor_destroy(E->reactor);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %.*s", (int)(strlen(E->dir) - 4), E->dir);
	assert_int_equal(system(cmd), 0);
	free(E);
	return 0;
}

static void test_append_read_and_limits(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 5, 3); /* offsets 0..14 */
	assert_int_equal(partition_log_end_offset(l), 15);
	assert_int_equal(partition_log_high_watermark(l), 15);
	assert_int_equal(E->appends[2].base_offset, 6);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, 100, true, &rd), 0);
	assert_int_equal(rd.len, BATCH_BYTES);                /* KIP-74: one whole batch */
	assert_int_equal(partition_log_read(l, 0, 100, false, &rd), 0);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read(l, 0, 3 * BATCH_BYTES + 10, true, &rd), 0);
	assert_int_equal(rd.len, 3 * BATCH_BYTES);
	assert_int_equal(partition_log_read(l, 7, 1 << 20, true, &rd), 0); /* mid-batch */
	assert_int_equal(rd.file_off, 2 * BATCH_BYTES);
	assert_int_equal(rd.len, 3 * BATCH_BYTES);
	uint8_t hdr[12];
	assert_int_equal(pread(rd.fd, hdr, 12, (off_t)rd.file_off), 12);
	assert_int_equal(be_load(hdr, 8), 6);                 /* offsets rewritten on disk */
	assert_int_equal(partition_log_read(l, 15, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.len, 0);
	assert_int_equal(partition_log_read(l, 16, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	assert_int_equal(partition_log_read(l, -1, 1 << 20, true, &rd), KERR_OFFSET_OUT_OF_RANGE);
	partition_log_close(l);
}

static int count_files(const char *dir, const char *ext)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strlen(e->d_name) > strlen(ext) &&
		     strcmp(e->d_name + strlen(e->d_name) - strlen(ext), ext) == 0;
	closedir(d);
	return n;
}

static void test_roll_index_files_and_reopen(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 25, 2); /* 10 batches per segment: 3 segments */
	assert_int_equal(count_files(E->dir, ".log"), 3);
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 18, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.file_off, 9 * BATCH_BYTES);
	assert_int_equal(rd.len, BATCH_BYTES);                /* stays in its segment */
	assert_int_equal(partition_log_read(l, 20, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.file_off, 0);
	assert_int_equal(rd.len, 10 * BATCH_BYTES);
	char path[128];
	snprintf(path, sizeof(path), "%s/00000000000000000000.index", E->dir);
	int fd = open(path, O_RDONLY);
	uint8_t idx[16];
	assert_int_equal(read(fd, idx, sizeof(idx)), 16);
	close(fd);
	/* Kafka's layout: (int32 relative last offset, int32 position), an entry
	 * for the first batch and then every index interval. */
	assert_int_equal(be_load(idx, 4), 1);
	assert_int_equal(be_load(idx + 4, 4), 0);
	assert_int_equal(be_load(idx + 8, 4), 7);
	assert_int_equal(be_load(idx + 12, 4), 3 * BATCH_BYTES);
	int64_t off, ts;
	partition_log_offset_for_time(l, 1000 + 13 * 10, &off, &ts);
	assert_int_equal(off, 26);
	assert_int_equal(ts, 1130);
	partition_log_offset_for_time(l, 1000 + 13 * 10 + 1, &off, &ts);
	assert_int_equal(off, 27);
	partition_log_offset_for_time(l, 999999, &off, &ts);
	assert_int_equal(off, -1);
	partition_log_max_timestamp(l, &off, &ts);
	assert_int_equal(ts, 1000 + 24 * 10 + 1);
	assert_int_equal(off, 49);
	assert_int_equal(partition_log_sync(l), 0);
	assert_int_equal(partition_log_recovery_point(l), 50);
	partition_log_close(l);
	l = open_log(true, 50);
	assert_int_equal(partition_log_end_offset(l), 50);
	assert_int_equal(partition_log_read(l, 33, 1 << 20, true, &rd), 0);
	assert_int_equal(rd.file_off, 6 * BATCH_BYTES);
	append_range(l, 25, 26, 2);
	assert_int_equal(E->appends[25].base_offset, 50);
	partition_log_close(l);
}

static void test_recovery_truncates_torn_and_corrupt(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 6, 1);
	partition_log_close(l);
	char path[128];
	snprintf(path, sizeof(path), "%s/00000000000000000000.log", E->dir);
	assert_int_equal(truncate(path, 5 * BATCH_BYTES + 300), 0); /* torn last batch */
	l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 5);
	struct stat st;
	stat(path, &st);
	assert_int_equal(st.st_size, 5 * BATCH_BYTES);
	append_range(l, 6, 7, 1);
	assert_int_equal(E->appends[6].base_offset, 5);
	partition_log_close(l);
	int fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, 2 * BATCH_BYTES + 500), 1); /* corrupt batch 2 */
	close(fd);
	l = open_log(false, 0);
	assert_int_equal(partition_log_end_offset(l), 2);
	partition_log_close(l);
}

static void test_write_error_takes_partition_offline(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 1, 1);
	/* Swap the segment's descriptor for a read-only one behind its back. */
	struct log_read rd;
	assert_int_equal(partition_log_read(l, 0, 1 << 20, true, &rd), 0);
	int ro = open("/dev/null", O_RDONLY);
	assert_true(dup2(ro, rd.fd) >= 0);
	close(ro);
	E->done = 0;
	size_t n = make_batch(E->batches[1], 1, 5);
	struct record_batch_header h;
	record_batch_header_read(E->batches[1], &h);
	E->appends[1].done = on_append;
	E->appends[1].log_append_time = -1;
	assert_int_equal(partition_log_append(l, E->batches[1], n, &h, &E->appends[1]), 0);
	while (E->done < 1)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(E->results[1], KERR_KAFKA_STORAGE_ERROR);
	assert_true(partition_log_offline(l));
	assert_int_equal(partition_log_high_watermark(l), 1);
	assert_int_equal(partition_log_append(l, E->batches[1], n, &h, &E->appends[2]),
			 KERR_KAFKA_STORAGE_ERROR);
	assert_int_equal(partition_log_read(l, 0, 100, true, &rd), KERR_KAFKA_STORAGE_ERROR);
	partition_log_close(l);
}

static void test_delete_removes_directory(void **state)
{
	(void)state;
	struct partition_log *l = open_log(true, 0);
	append_range(l, 0, 3, 1);
	assert_int_equal(partition_log_delete(l), 0);
	assert_int_equal(access(E->dir, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_read_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roll_index_files_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_truncates_torn_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error_takes_partition_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_removes_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
