/* What the partition log's tests share: a log in a temporary directory on a
 * reactor, hand-made batches, appends that wait for their completion, and
 * helpers to damage segment files the way crashes and disks do. */
#ifndef SLUICE_TESTS_LOG_FIXTURE_H
#define SLUICE_TESTS_LOG_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log/partition_log.h"
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

static inline void batch_seal(uint8_t *b, size_t n)
{
	be_store(b + 17, crc32c(0, b + 21, n - 21), 4);
}

/* A valid batch of `count` empty-value records, total BATCH_BYTES long
 * (the last record's value pads it), with timestamps ts..ts+count-1, from
 * no idempotent producer. */
static inline size_t make_batch(uint8_t *b, int count, int64_t ts)
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
	be_store(b + 43, UINT64_MAX, 8); /* no producer id, epoch or sequence */
	be_store(b + 51, UINT16_MAX, 2);
	be_store(b + 53, UINT32_MAX, 4);
	be_store(b + 57, (uint32_t)count, 4);
	batch_seal(b, n);
	return n;
}

static inline void on_append(struct log_append *a, int16_t err)
{
	E->results[a - E->appends] = err;
	E->done++;
}

static inline int try_open_log(bool clean, int64_t recovery_point, struct partition_log **l)
{
	struct log_open_params p = { .dir = E->dir, .recovery_point = recovery_point,
				     .clean_shutdown = clean, .cfg = &E->cfg,
				     .reactor = E->reactor };
	char err[256];
	return partition_log_open(&p, l, err, sizeof(err));
}

static inline struct partition_log *open_log(bool clean, int64_t recovery_point)
{
	struct partition_log *l = NULL;
	assert_int_equal(try_open_log(clean, recovery_point, &l), 0);
	return l;
}

/* Runs the reactor until every append of the log and its flushes are done. */
static inline void settle(struct partition_log *l, int appends)
{
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while ((E->done < appends || partition_log_ops_in_flight(l) > 0) &&
	       reactor_now_ns() < deadline)
		reactor_run_once(E->reactor, 10 * MS);
	assert_int_equal(E->done, appends);
	assert_int_equal(partition_log_ops_in_flight(l), 0);
}

/* Submits batch i (prepared in E->batches[i], n bytes). */
static inline int16_t submit(struct partition_log *l, int i, size_t n)
{
	struct record_batch_header h;
	record_batch_header_read(E->batches[i], &h);
	E->appends[i].done = on_append;
	E->appends[i].log_append_time = -1;
	return partition_log_append(l, E->batches[i], n, &h, &E->appends[i]);
}

/* Appends batches [from, to) of `count` records each and waits for them. */
static inline void append_range(struct partition_log *l, int from, int to, int count)
{
	E->done = 0;
	for (int i = from; i < to; i++)
		assert_int_equal(submit(l, i, make_batch(E->batches[i], count, 1000 + i * 10)), 0);
	settle(l, to - from);
	for (int i = from; i < to; i++)
		assert_int_equal(E->results[i], KERR_NONE);
}

static inline int fixture_setup(void **state)
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
				      .segment_index_bytes = 1 << 20,
				      .producer_id_expiration_ms = 86400000,
				      .producer_id_expiration_check_interval_ms = 600000 };
	return 0;
}

static inline int fixture_teardown(void **state)
{
	(void)state;
	reactor_destroy(E->reactor);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %.*s", (int)(strlen(E->dir) - 4), E->dir);
	assert_int_equal(system(cmd), 0);
	free(E);
	return 0;
}

static inline const char *seg_path(int64_t base, const char *ext)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%020lld%s", E->dir, (long long)base, ext);
	return path;
}

static inline int count_files(const char *ext)
{
	DIR *d = opendir(E->dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strlen(e->d_name) > strlen(ext) &&
		     strcmp(e->d_name + strlen(e->d_name) - strlen(ext), ext) == 0;
	closedir(d);
	return n;
}

static inline off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Writes n bytes at pos of a file, as a bad disk or a stray write would. */
static inline void overwrite(const char *path, off_t pos, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, pos), (ssize_t)n);
	close(fd);
}

static inline void flip_bit(const char *path, off_t pos)
{
	int fd = open(path, O_RDWR);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, pos), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, pos), 1);
	close(fd);
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* RLIMIT_FSIZE stands in for a full disk: the kernel cuts a write short at
 * the limit and refuses the rest (EFBIG, with SIGXFSZ ignored). */
static inline void limit_file_size(rlim_t bytes)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* stderr into a file for a while, to count log lines. */
struct captured {
	int saved;
	char path[64];
};

static inline void capture_start(struct captured *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/sluice-log-stderr-XXXXXX");
	int fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Stops capturing; returns how many lines contain `needle`. */
static inline int capture_count(struct captured *c, const char *needle)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	FILE *f = fopen(c->path, "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		fputs(line, stderr);
		n += strstr(line, needle) != NULL;
	}
	if (f)
		fclose(f);
	unlink(c->path);
	return n;
}

#endif
