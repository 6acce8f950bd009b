/* Producer state snapshot files in Kafka's format: encoding, decoding with
 * bounds-checked cursors, writing, choosing and pruning (see
 * producer_snapshot.h). */
#include "core/log/producer_snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/crc32c.h"
#include "proto/cursor.h"

static const char SNAPSHOT_SUFFIX[] = ".snapshot";
enum {
	SNAPSHOT_CRC_OFFSET = 2,
	SNAPSHOT_ENTRIES_OFFSET = 6,
	SNAPSHOT_NAME_DIGITS = 20,
	/* Snapshot files looked at in one directory (beyond them the oldest
	 * are not considered, and not pruned either). */
	SNAPSHOT_FILES_MAX = 1024,
};

struct snapshot_fill {
	struct wcursor *w;
};

static void snapshot_put_entry(const struct producer_entry *e, void *ctx)
{
	struct wcursor *w = ((struct snapshot_fill *)ctx)->w;
	const struct producer_batch *last = producer_entry_last(e);
	wc_int64(w, e->producer_id);
	wc_int16(w, e->epoch);
	wc_int32(w, last ? last->last_seq : -1);
	wc_int64(w, last ? last->last_offset : -1);
	wc_int32(w, last ? (int32_t)(last->last_offset - last->first_offset) : 0);
	wc_int64(w, e->last_timestamp);
	wc_int32(w, e->coordinator_epoch);
	wc_int64(w, e->current_txn_first_offset);
}

int producer_snapshot_encode(const struct producer_state *ps, uint8_t **out, size_t *len)
{
	size_t n = PRODUCER_SNAPSHOT_HEADER_BYTES + (size_t)ps->count * PRODUCER_SNAPSHOT_ENTRY_BYTES;
	uint8_t *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	wc_int16(&w, PRODUCER_SNAPSHOT_VERSION);
	wc_uint32(&w, 0);
	wc_int32(&w, (int32_t)ps->count);
	struct snapshot_fill fill = { .w = &w };
	producer_state_for_each(ps, snapshot_put_entry, &fill);
	/* The size was computed from the count: anything else is our bug. */
	if (w.overflow || (size_t)(w.pos - buf) != n) {
		slog_error("producer", "snapshot encoding of %u producers took %zu bytes, not %zu",
			   ps->count, (size_t)(w.pos - buf), n);
		abort();
	}
	be_store(buf + SNAPSHOT_CRC_OFFSET, crc32c(0, buf + SNAPSHOT_ENTRIES_OFFSET,
						   n - SNAPSHOT_ENTRIES_OFFSET), 4);
	*out = buf;
	*len = n;
	return 0;
}

/* Sequence numbers run over [0, INT32_MAX]: the first of a batch whose
 * last is `last` and that spans `delta` more. */
static int32_t snapshot_first_seq(int32_t last, int32_t delta)
{
	int64_t first = (int64_t)last - delta;
	return (int32_t)(first < 0 ? first + (int64_t)INT32_MAX + 1 : first);
}

/* One entry from the cursor; false when it makes no sense. */
static bool snapshot_take_entry(struct rcursor *c, struct producer_entry *e, const char **why)
{
	*e = (struct producer_entry){ 0 };
	e->producer_id = rc_int64(c);
	e->epoch = rc_int16(c);
	int32_t last_seq = rc_int32(c);
	int64_t last_offset = rc_int64(c);
	int32_t delta = rc_int32(c);
	e->last_timestamp = rc_int64(c);
	e->coordinator_epoch = rc_int32(c);
	e->current_txn_first_offset = rc_int64(c);
	if (c->err != RC_OK) {
		*why = "an entry is cut short";
		return false;
	}
	if (e->producer_id < 0 || delta < 0 || (last_offset >= 0 && (last_seq < 0 || delta > last_offset))) {
		*why = "an entry holds impossible values";
		return false;
	}
	if (last_offset < 0)
		return true;
	e->batch_count = 1;
	e->batches[0] = (struct producer_batch){
		.first_seq = snapshot_first_seq(last_seq, delta), .last_seq = last_seq,
		.first_offset = last_offset - delta, .last_offset = last_offset,
		.timestamp = e->last_timestamp,
	};
	return true;
}

int producer_snapshot_decode(const uint8_t *p, size_t len, int64_t now_ms, int64_t expiration_ms,
			     struct producer_state *ps, char *why, size_t why_len)
{
	struct rcursor c;
	rc_init(&c, (uint8_t *)p, len);
	int16_t version = rc_int16(&c);
	uint32_t crc = rc_uint32(&c);
	int32_t count = rc_int32(&c);
	const char *reason = NULL;
	if (c.err != RC_OK)
		reason = "the header is cut short";
	else if (version != PRODUCER_SNAPSHOT_VERSION)
		reason = "an unknown file version";
	else if (crc != crc32c(0, p + SNAPSHOT_ENTRIES_OFFSET, len - SNAPSHOT_ENTRIES_OFFSET))
		reason = "the CRC does not match";
	else if (count < 0 || (size_t)count * PRODUCER_SNAPSHOT_ENTRY_BYTES != len - PRODUCER_SNAPSHOT_HEADER_BYTES)
		reason = "the entry count does not match the length";
	struct producer_state loaded = { 0 };
	for (int32_t i = 0; !reason && i < count; i++) {
		struct producer_entry e;
		if (!snapshot_take_entry(&c, &e, &reason))
			break;
		bool expired = e.current_txn_first_offset < 0 &&
			       producer_idle_expired(now_ms, e.last_timestamp, expiration_ms);
		if (!expired && producer_state_put(&loaded, &e) != 0)
			reason = "out of memory";
	}
	if (reason) {
		snprintf(why, why_len, "%s", reason);
		producer_state_clear(&loaded);
		return -1;
	}
	for (uint32_t i = 0; i < loaded.cap; i++)
		if (loaded.slots[i].producer_id >= 0 && producer_state_put(ps, &loaded.slots[i]) != 0) {
			snprintf(why, why_len, "out of memory");
			producer_state_clear(&loaded);
			return -1;
		}
	producer_state_clear(&loaded);
	return 0;
}

static void snapshot_path(const char *dir, int64_t offset, const char *suffix, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%0*" PRId64 "%s", dir, SNAPSHOT_NAME_DIGITS, offset, suffix);
}

/* The offset a snapshot file's name holds, or -1 for another file. */
static int64_t snapshot_name_offset(const char *name)
{
	size_t n = strlen(name);
	if (n != SNAPSHOT_NAME_DIGITS + sizeof(SNAPSHOT_SUFFIX) - 1 ||
	    strcmp(name + SNAPSHOT_NAME_DIGITS, SNAPSHOT_SUFFIX) != 0)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < SNAPSHOT_NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int cmp_offsets(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The snapshot offsets in dir, ascending (at most SNAPSHOT_FILES_MAX). */
static uint32_t snapshot_list(const char *dir, int64_t *offsets)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	uint32_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < SNAPSHOT_FILES_MAX) {
		int64_t off = snapshot_name_offset(e->d_name);
		if (off >= 0)
			offsets[n++] = off;
	}
	closedir(d);
	qsort(offsets, n, sizeof(offsets[0]), cmp_offsets);
	return n;
}

static void snapshot_remove(const char *dir, int64_t offset)
{
	char path[PATH_MAX + 64];
	snapshot_path(dir, offset, SNAPSHOT_SUFFIX, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		slog_warn("producer", "cannot remove %s: %s", path, strerror(errno));
}

static int snapshot_write_file(const char *path, const uint8_t *buf, size_t len, bool durable)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	size_t done = 0;
	while (rc == 0 && done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	if (rc == 0 && durable && fdatasync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int producer_snapshot_write(const char *dir, int64_t offset, const struct producer_state *ps,
			    bool durable)
{
	uint8_t *buf;
	size_t len;
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	snapshot_path(dir, offset, ".snapshot.tmp", tmp, sizeof(tmp));
	snapshot_path(dir, offset, SNAPSHOT_SUFFIX, path, sizeof(path));
	int rc = producer_snapshot_encode(ps, &buf, &len);
	if (rc == 0) {
		rc = snapshot_write_file(tmp, buf, len, durable);
		free(buf);
	}
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		slog_error("producer", "cannot write %s: %s", path, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	int64_t *offsets = malloc(SNAPSHOT_FILES_MAX * sizeof(*offsets));
	if (!offsets)
		return 0;
	uint32_t n = snapshot_list(dir, offsets);
	for (uint32_t i = 0; i + PRODUCER_SNAPSHOTS_KEPT < n; i++)
		snapshot_remove(dir, offsets[i]);
	free(offsets);
	return 0;
}

int64_t producer_snapshot_latest(const char *dir, int64_t max_offset)
{
	int64_t *offsets = malloc(SNAPSHOT_FILES_MAX * sizeof(*offsets));
	if (!offsets)
		return -1;
	uint32_t n = snapshot_list(dir, offsets);
	int64_t latest = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (offsets[i] > max_offset)
			snapshot_remove(dir, offsets[i]);
		else
			latest = offsets[i];
	}
	free(offsets);
	return latest;
}

/* The whole file, at most PRODUCER_SNAPSHOT_MAX_BYTES; NULL with the reason. */
static uint8_t *snapshot_read_file(const char *path, size_t *len, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		*why = strerror(errno);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *buf = NULL;
	if (st.st_size > PRODUCER_SNAPSHOT_MAX_BYTES)
		*why = "larger than any snapshot sluice reads";
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		*why = "out of memory";
	else if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		*why = "cannot read it whole";
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

int producer_snapshot_load(const char *dir, int64_t offset, int64_t now_ms, int64_t expiration_ms,
			   struct producer_state *ps)
{
	char path[PATH_MAX + 64];
	snapshot_path(dir, offset, SNAPSHOT_SUFFIX, path, sizeof(path));
	size_t len = 0;
	const char *why = NULL;
	uint8_t *buf = snapshot_read_file(path, &len, &why);
	char reason[128];
	int rc = -1;
	uint32_t before = ps->count;
	if (buf) {
		rc = producer_snapshot_decode(buf, len, now_ms, expiration_ms, ps, reason, sizeof(reason));
		why = reason;
		free(buf);
	}
	if (rc == 0 && ps->count > before)
		slog_info("producer", "%s: loaded %u producer(s)", path, ps->count - before);
	if (rc != 0) {
		slog_warn("producer", "%s: cannot load the producer state snapshot (%s); it is removed "
			  "and the state rebuilt from the log", path, why);
		snapshot_remove(dir, offset);
	}
	return rc;
}
