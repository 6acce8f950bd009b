/* Fuzz target: segment files as a crash or a bad disk leaves them, through
 * the partition log's recovery (clean and unclean opens), read planning and
 * time lookups.
 *
 * Input: a prefix, then segment bytes. Prefix: options (bit 0 clean
 * shutdown, bit 1 give every batch a CRC that matches its bytes, bit 2
 * renumber base offsets contiguously, bit 3 split into two segments), the
 * recovery point, the split position (be16), the second segment's offset gap
 * (be16), a timestamp to look up (be64), and how many 8-byte offset-index
 * entries to take from the input's end (written as the first segment's
 * .index). The options let mutations get past CRCs to the structure.
 *
 * Checked on every input, besides memory safety: below the high watermark a
 * read answers data or an error, never nothing; ranges stay in their files;
 * closing and reopening cleanly gives the same log end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/slog.h"
#include "core/log/partition_log.h"
#include "proto/crc32c.h"
#include "proto/cursor.h"
#include "proto/kafka_errors.h"

enum {
	FUZZ_PREFIX_BYTES = 15,
	FUZZ_CLEAN = 0x01,
	FUZZ_FIX_CRC = 0x02,
	FUZZ_RENUMBER = 0x04,
	FUZZ_SPLIT = 0x08,
	FUZZ_INDEX_ENTRIES_MAX = 16,
	FUZZ_READS_MAX = 512,
	FUZZ_READ_BYTES = 1 << 16,
	FUZZ_SEGMENT_BYTES = 1 << 20,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_base[64];
static char fuzz_dir[80];

static void fuzz_empty_dir(void)
{
	DIR *d = opendir(fuzz_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[160];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void fuzz_remove_dir(void)
{
	fuzz_empty_dir();
	rmdir(fuzz_dir);
	rmdir(fuzz_base);
}

static void fuzz_prepare_dir(void)
{
	if (!fuzz_base[0]) {
		snprintf(fuzz_base, sizeof(fuzz_base), "/dev/shm/sluice-fuzz-XXXXXX");
		if (!mkdtemp(fuzz_base))
			abort();
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/p-0", fuzz_base);
		atexit(fuzz_remove_dir);
		slog_set_level((enum slog_level)(SLOG_ERROR + 1)); /* quiet: damage is the point */
	}
	fuzz_empty_dir();
	if (mkdir(fuzz_dir, 0755) != 0 && errno != EEXIST)
		abort();
}

static void fuzz_write(int64_t base, const char *ext, const uint8_t *p, size_t n)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%020lld%s", fuzz_dir, (long long)base, ext);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* Walks the chain of batch lengths, renumbering and re-CRCing as asked;
 * returns the offset after the last batch it walked. */
static int64_t fuzz_fix_batches(uint8_t *p, size_t n, int64_t base, uint8_t options)
{
	size_t pos = 0;
	int64_t next = base;
	while (n - pos >= RECORD_BATCH_HEADER_BYTES) {
		uint64_t total = be_load(p + pos + 8, 4) + RECORD_BATCH_LOG_OVERHEAD;
		if (total < RECORD_BATCH_HEADER_BYTES || total > n - pos)
			break;
		if (options & FUZZ_RENUMBER)
			be_store(p + pos, (uint64_t)next, 8);
		if (options & FUZZ_FIX_CRC)
			be_store(p + pos + 17,
				 crc32c(0, p + pos + RECORD_BATCH_CRC_START, total - RECORD_BATCH_CRC_START), 4);
		int32_t delta = (int32_t)be_load(p + pos + 23, 4);
		next = (int64_t)be_load(p + pos, 8) + (delta > 0 ? delta : 0) + 1;
		pos += total;
	}
	return next;
}

static struct partition_log *fuzz_open(bool clean, int64_t recovery_point)
{
	struct log_config cfg = { .segment_bytes = FUZZ_SEGMENT_BYTES, .segment_ms = UINT64_MAX / 2,
				  .index_interval_bytes = 256, .segment_index_bytes = 1 << 20,
				  .producer_id_expiration_ms = 86400000,
				  .producer_id_expiration_check_interval_ms = 600000 };
	struct log_open_params p = { .dir = fuzz_dir, .recovery_point = recovery_point,
				     .clean_shutdown = clean, .cfg = &cfg };
	struct partition_log *l = NULL;
	char err[256];
	return partition_log_open(&p, &l, err, sizeof(err)) == 0 ? l : NULL;
}

/* The offset after the last batch of a planned range, or -1. */
static int64_t fuzz_range_end(const struct log_read *rd)
{
	uint8_t *buf = malloc(rd->len);
	int64_t next = -1;
	if (buf && pread(rd->fd, buf, rd->len, (off_t)rd->file_off) == (ssize_t)rd->len) {
		size_t pos = 0;
		struct record_batch_header h;
		while (pos < rd->len && record_batch_scan(buf + pos, rd->len - pos, false, &h) ==
						RECORD_SCAN_OK) {
			next = h.base_offset + h.last_offset_delta + 1;
			pos += record_batch_total_bytes(&h);
		}
	}
	free(buf);
	return next;
}

static void fuzz_read_through(struct partition_log *l)
{
	int64_t offset = partition_log_start_offset(l);
	int64_t hw = partition_log_high_watermark(l);
	for (int i = 0; i < FUZZ_READS_MAX && offset < hw; i++) {
		struct log_read rd;
		int16_t err = partition_log_read(l, offset, FUZZ_READ_BYTES, i & 1, &rd);
		if (err != KERR_NONE) {
			offset++;
			continue;
		}
		struct stat st;
		if (rd.len == 0 || fstat(rd.fd, &st) != 0 ||
		    rd.file_off + rd.len > (uint64_t)st.st_size)
			abort(); /* nothing, or bytes outside the file, below the high watermark */
		int64_t next = fuzz_range_end(&rd);
		offset = next > offset ? next : offset + 1;
	}
}

static void fuzz_time_lookups(struct partition_log *l, int64_t ts)
{
	const int64_t probes[] = { ts, 0, -1, INT64_MAX, ts / 2 };
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int64_t off, t;
		bool found;
		struct log_time_batch b;
		partition_log_offset_for_time(l, probes[i], &off, &t);
		if (partition_log_time_locate(l, probes[i], &found, &b) == KERR_NONE && found &&
		    b.header.max_timestamp < probes[i])
			abort();
	}
	int64_t off, t;
	partition_log_max_timestamp(l, &off, &t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FUZZ_PREFIX_BYTES)
		return 0;
	uint8_t options = data[0];
	int64_t recovery_point = data[1];
	size_t split = (size_t)be_load(data + 2, 2);
	int64_t gap = (int64_t)be_load(data + 4, 2);
	int64_t ts = (int64_t)be_load(data + 6, 8);
	size_t entries = data[14] % (FUZZ_INDEX_ENTRIES_MAX + 1);
	size_t len = size - FUZZ_PREFIX_BYTES;
	if (entries * 8 > len)
		entries = len / 8;
	len -= entries * 8;
	uint8_t *seg = malloc(len + 1);
	if (!seg)
		return 0;
	memcpy(seg, data + FUZZ_PREFIX_BYTES, len);
	if (!(options & FUZZ_SPLIT) || split > len)
		split = len;

	fuzz_prepare_dir();
	int64_t end0 = fuzz_fix_batches(seg, split, 0, options);
	fuzz_write(0, ".log", seg, split);
	if (entries)
		fuzz_write(0, ".index", data + size - entries * 8, entries * 8);
	if (split < len) {
		int64_t base1 = end0 + gap;
		fuzz_fix_batches(seg + split, len - split, base1, options);
		fuzz_write(base1, ".log", seg + split, len - split);
	}
	free(seg);

	struct partition_log *l = fuzz_open(options & FUZZ_CLEAN, recovery_point);
	if (!l)
		return 0;
	fuzz_read_through(l);
	fuzz_time_lookups(l, ts);
	int64_t end = partition_log_end_offset(l);
	partition_log_close(l);

	l = fuzz_open(true, end);
	if (!l)
		abort();
	if (partition_log_end_offset(l) != end)
		abort(); /* a clean reopen must find the log as recovery left it */
	fuzz_read_through(l);
	partition_log_close(l);
	return 0;
}
