/* Reading a Kafka KRaft node's metadata log for its topics (see
 * kraft_image.h). */
#include "core/meta/kraft_image.h"

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

#include "proto/compression.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

const char KRAFT_METADATA_DIR[] = "__cluster_metadata-0";

enum {
	KRAFT_TOPIC_RECORD = 2,
	KRAFT_PARTITION_RECORD = 3,
	KRAFT_CONFIG_RECORD = 4,
	KRAFT_REMOVE_TOPIC_RECORD = 9,
	KRAFT_BEGIN_TRANSACTION_RECORD = 23,
	KRAFT_END_TRANSACTION_RECORD = 24,
	KRAFT_ABORT_TRANSACTION_RECORD = 25,
	KRAFT_CONFIG_RESOURCE_TOPIC = 2,
	/* Frame version 0 had no record version; Kafka writes 1. */
	KRAFT_FRAME_VERSION = 1,
	KRAFT_SEGMENTS_MAX = 100000,
	/* Records of one open metadata transaction, held until it ends. */
	KRAFT_PENDING_MAX_BYTES = 64 << 20,
};

struct kraft_read {
	struct kraft_image *img;
	const char *file;
	uint64_t pos;           /* of the batch being applied, for messages */
	int64_t from_offset;    /* records below this are in the snapshot */
	bool in_txn;
	uint8_t *pending;       /* [u32 length][value] of each held record */
	size_t pending_len, pending_cap;
	char *err;
	size_t errlen;
};

static void kraft_topic_free(struct kraft_topic *t)
{
	for (size_t i = 0; i < t->config_count; i++) {
		free(t->configs[i].key);
		free(t->configs[i].value);
	}
	free(t->configs);
	t->configs = NULL;
	t->config_count = 0;
}

void kraft_image_free(struct kraft_image *img)
{
	for (size_t i = 0; i < img->count; i++)
		kraft_topic_free(&img->topics[i]);
	free(img->topics);
	img->topics = NULL;
	img->count = img->cap = 0;
}

const struct kraft_topic *kraft_image_find(const struct kraft_image *img, const char *name)
{
	for (size_t i = 0; i < img->count; i++)
		if (strcmp(img->topics[i].name, name) == 0)
			return &img->topics[i];
	return NULL;
}

static struct kraft_topic *kraft_by_id(struct kraft_image *img, struct kuuid id)
{
	for (size_t i = 0; i < img->count; i++)
		if (memcmp(img->topics[i].id.b, id.b, sizeof(id.b)) == 0)
			return &img->topics[i];
	return NULL;
}

static void kraft_remove(struct kraft_image *img, struct kraft_topic *t)
{
	kraft_topic_free(t);
	size_t i = (size_t)(t - img->topics);
	memmove(t, t + 1, (img->count - i - 1) * sizeof(*t));
	img->count--;
}

static int kraft_fail(struct kraft_read *rd, const char *what)
{
	snprintf(rd->err, rd->errlen, "%s: %s in the batch at byte %" PRIu64, rd->file, what, rd->pos);
	return -1;
}

static int kraft_topic_record(struct kraft_read *rd, struct rcursor *c)
{
	struct kstr name = rc_compact_string(c);
	struct kuuid id = rc_uuid(c);
	if (c->err != RC_OK || name.len <= 0 || (size_t)name.len >= sizeof(rd->img->topics[0].name))
		return kraft_fail(rd, "a malformed TopicRecord");
	struct kraft_image *img = rd->img;
	struct kraft_topic *old = kraft_by_id(img, id);
	if (old)
		kraft_remove(img, old);
	if (img->count == img->cap) {
		size_t cap = img->cap ? img->cap * 2 : 16;
		struct kraft_topic *p = cap <= KRAFT_TOPICS_MAX ? realloc(img->topics, cap * sizeof(*p))
							       : NULL;
		if (!p)
			return kraft_fail(rd, "too many topics");
		img->topics = p;
		img->cap = cap;
	}
	struct kraft_topic *t = &img->topics[img->count++];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name.ptr, (size_t)name.len);
	t->id = id;
	return 0;
}

static int kraft_partition_record(struct kraft_read *rd, struct rcursor *c)
{
	int32_t partition = rc_int32(c);
	struct kuuid id = rc_uuid(c);
	if (c->err != RC_OK || partition < 0 || partition >= KRAFT_PARTITIONS_MAX)
		return kraft_fail(rd, "a malformed PartitionRecord");
	struct kraft_topic *t = kraft_by_id(rd->img, id);
	if (!t)
		return kraft_fail(rd, "a PartitionRecord of an unknown topic id");
	if (partition + 1 > t->partition_count)
		t->partition_count = partition + 1;
	return 0;
}

static int kraft_set_config(struct kraft_topic *t, struct kstr key, struct kstr value)
{
	for (size_t i = 0; i < t->config_count; i++) {
		if (strlen(t->configs[i].key) != (size_t)key.len ||
		    memcmp(t->configs[i].key, key.ptr, (size_t)key.len) != 0)
			continue;
		free(t->configs[i].key);
		free(t->configs[i].value);
		t->configs[i] = t->configs[--t->config_count];
		break;
	}
	if (value.len < 0)
		return 0;
	if (t->config_count >= KRAFT_TOPIC_CONFIGS_MAX)
		return -1;
	struct meta_kv *p = realloc(t->configs, (t->config_count + 1) * sizeof(*p));
	if (!p)
		return -1;
	t->configs = p;
	struct meta_kv kv = { kstr_dup(key), kstr_dup(value) };
	if (!kv.key || !kv.value) {
		free(kv.key);
		free(kv.value);
		return -1;
	}
	t->configs[t->config_count++] = kv;
	return 0;
}

static int kraft_config_record(struct kraft_read *rd, struct rcursor *c)
{
	int8_t type = rc_int8(c);
	struct kstr resource = rc_compact_string(c);
	struct kstr key = rc_compact_string(c);
	struct kstr value = rc_compact_nstring(c);
	if (c->err != RC_OK || key.len <= 0)
		return kraft_fail(rd, "a malformed ConfigRecord");
	if (type != KRAFT_CONFIG_RESOURCE_TOPIC)
		return 0;
	/* Kafka records a topic's configs right after its TopicRecord. */
	for (size_t i = 0; i < rd->img->count; i++) {
		struct kraft_topic *t = &rd->img->topics[i];
		if (strlen(t->name) != (size_t)resource.len ||
		    memcmp(t->name, resource.ptr, (size_t)resource.len) != 0)
			continue;
		if (kraft_set_config(t, key, value) != 0)
			return kraft_fail(rd, "too many topic configs");
		return 0;
	}
	return 0;
}

static int kraft_apply(struct kraft_read *rd, uint8_t *value, size_t len)
{
	struct rcursor c;
	rc_init(&c, value, len);
	uint32_t frame = rc_uvarint(&c);
	uint32_t type = rc_uvarint(&c);
	rc_uvarint(&c); /* the record's version: the fields read here are in every one */
	if (c.err != RC_OK || frame != KRAFT_FRAME_VERSION)
		return kraft_fail(rd, "a record with an unknown frame");
	switch (type) {
	case KRAFT_TOPIC_RECORD:
		return kraft_topic_record(rd, &c);
	case KRAFT_PARTITION_RECORD:
		return kraft_partition_record(rd, &c);
	case KRAFT_CONFIG_RECORD:
		return kraft_config_record(rd, &c);
	case KRAFT_REMOVE_TOPIC_RECORD: {
		struct kuuid id = rc_uuid(&c);
		if (c.err != RC_OK)
			return kraft_fail(rd, "a malformed RemoveTopicRecord");
		struct kraft_topic *t = kraft_by_id(rd->img, id);
		if (t)
			kraft_remove(rd->img, t);
		return 0;
	}
	default:
		return 0;
	}
}

static int kraft_hold(struct kraft_read *rd, const uint8_t *value, size_t len)
{
	size_t need = rd->pending_len + 4 + len;
	if (need > KRAFT_PENDING_MAX_BYTES)
		return kraft_fail(rd, "a metadata transaction too large to hold");
	if (need > rd->pending_cap) {
		size_t cap = rd->pending_cap ? rd->pending_cap : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *p = realloc(rd->pending, cap);
		if (!p)
			return kraft_fail(rd, "out of memory");
		rd->pending = p;
		rd->pending_cap = cap;
	}
	be_store(rd->pending + rd->pending_len, (uint32_t)len, 4);
	memcpy(rd->pending + rd->pending_len + 4, value, len);
	rd->pending_len = need;
	return 0;
}

static int kraft_commit(struct kraft_read *rd)
{
	size_t pos = 0;
	while (pos < rd->pending_len) {
		size_t len = (size_t)be_load(rd->pending + pos, 4);
		if (kraft_apply(rd, rd->pending + pos + 4, len) != 0)
			return -1;
		pos += 4 + len;
	}
	rd->pending_len = 0;
	rd->in_txn = false;
	return 0;
}

static int kraft_record(struct kraft_read *rd, struct kbytes value)
{
	struct rcursor c;
	rc_init(&c, (uint8_t *)value.ptr, (size_t)value.len);
	rc_uvarint(&c);
	uint32_t type = rc_uvarint(&c);
	if (c.err != RC_OK)
		return kraft_fail(rd, "a record with an unknown frame");
	if (type == KRAFT_BEGIN_TRANSACTION_RECORD) {
		rd->pending_len = 0;
		rd->in_txn = true;
		return 0;
	}
	if (type == KRAFT_END_TRANSACTION_RECORD)
		return kraft_commit(rd);
	if (type == KRAFT_ABORT_TRANSACTION_RECORD) {
		rd->pending_len = 0;
		rd->in_txn = false;
		return 0;
	}
	if (rd->in_txn)
		return kraft_hold(rd, (const uint8_t *)value.ptr, (size_t)value.len);
	return kraft_apply(rd, (uint8_t *)value.ptr, (size_t)value.len);
}

static int kraft_batch(struct kraft_read *rd, uint8_t *batch, const struct record_batch_header *h)
{
	if (h->attributes & BATCH_ATTR_CONTROL)
		return 0;
	if (h->base_offset + h->last_offset_delta < rd->from_offset)
		return 0;
	uint8_t *recs = batch + RECORD_BATCH_HEADER_BYTES;
	size_t len = record_batch_total_bytes(h) - RECORD_BATCH_HEADER_BYTES;
	uint8_t *plain = NULL;
	int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
	if (codec != CODEC_NONE) {
		plain = malloc(KRAFT_BATCH_MAX_BYTES);
		if (!plain || compression_decompress((enum compression_codec)codec, recs, len, plain,
						     KRAFT_BATCH_MAX_BYTES, &len) != 0) {
			free(plain);
			return kraft_fail(rd, "a batch that does not decompress");
		}
		recs = plain;
	}
	struct rcursor c;
	rc_init(&c, recs, len);
	int rc = 0;
	for (int32_t i = 0; i < h->record_count && rc == 0; i++) {
		struct record_view r;
		if (!record_read(&c, &r)) {
			rc = kraft_fail(rd, "a malformed record");
			break;
		}
		if (h->base_offset + r.offset_delta < rd->from_offset)
			continue;
		if (r.value.len < 0) {
			rc = kraft_fail(rd, "a record without a value");
			break;
		}
		rc = kraft_record(rd, r.value);
		if (rc == 0)
			rd->img->end_offset = h->base_offset + r.offset_delta + 1;
	}
	free(plain);
	return rc;
}

/* Applies every batch of one file. A torn end is where Kafka's own recovery
 * would cut the log, and is accepted at the end of the last segment only. */
static int kraft_file(struct kraft_read *rd, const char *path, bool tail_may_tear)
{
	rd->file = path;
	rd->pos = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(rd->err, rd->errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	uint64_t size = (uint64_t)st.st_size;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && rd->pos < size) {
		uint8_t head[RECORD_BATCH_HEADER_BYTES];
		uint64_t left = size - rd->pos;
		struct record_batch_header h;
		if (left < sizeof(head) || pread(fd, head, sizeof(head), (off_t)rd->pos) != (ssize_t)sizeof(head)) {
			rc = tail_may_tear ? 0 : kraft_fail(rd, "a torn batch");
			break;
		}
		record_batch_header_read(head, &h);
		uint64_t total = record_batch_total_bytes(&h);
		if (h.magic != RECORD_BATCH_MAGIC_V2 || total < sizeof(head) || total > KRAFT_BATCH_MAX_BYTES) {
			rc = kraft_fail(rd, "a batch header that makes no sense");
			break;
		}
		if (total > left) {
			rc = tail_may_tear ? 0 : kraft_fail(rd, "a torn batch");
			break;
		}
		if (total > cap) {
			uint8_t *p = realloc(buf, total);
			if (!p) {
				rc = kraft_fail(rd, "out of memory");
				break;
			}
			buf = p;
			cap = total;
		}
		if (pread(fd, buf, total, (off_t)rd->pos) != (ssize_t)total) {
			rc = kraft_fail(rd, "a short read");
			break;
		}
		if (record_batch_scan(buf, total, true, &h) != RECORD_SCAN_OK) {
			rc = kraft_fail(rd, "a batch failing its CRC");
			break;
		}
		rc = kraft_batch(rd, buf, &h);
		rd->pos += total;
	}
	free(buf);
	close(fd);
	return rc;
}

static int kraft_cmp_offsets(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Parses a 20-digit offset at the start of name followed by `rest`. */
static bool kraft_name_offset(const char *name, const char *rest, int64_t *out)
{
	for (int i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	if (strcmp(name + 20, rest) != 0)
		return false;
	*out = strtoll(name, NULL, 10);
	return *out >= 0;
}

/* The newest snapshot's name and end offset, and the log segments' bases
 * (sorted). */
static int kraft_list(const char *dir, char *snapshot, size_t snap_cap, int64_t *snap_end,
		      int64_t **bases, size_t *nbases, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	*snap_end = -1;
	*nbases = 0;
	size_t cap = 0;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		int64_t off;
		const char *n = e->d_name;
		if (strlen(n) == 20 + 1 + 10 + strlen(".checkpoint") && n[20] == '-' &&
		    strcmp(n + 31, ".checkpoint") == 0) {
			char digits[21];
			memcpy(digits, n, 20);
			digits[20] = '\0';
			if (kraft_name_offset(digits, "", &off) && off > *snap_end) {
				*snap_end = off;
				snprintf(snapshot, snap_cap, "%s", n);
			}
		} else if (kraft_name_offset(n, ".log", &off)) {
			if (*nbases == cap) {
				cap = cap ? cap * 2 : 16;
				int64_t *p = cap <= KRAFT_SEGMENTS_MAX ? realloc(*bases, cap * sizeof(*p)) : NULL;
				if (!p) {
					snprintf(err, errlen, "%s: too many segments", dir);
					rc = -1;
					break;
				}
				*bases = p;
			}
			(*bases)[(*nbases)++] = off;
		}
	}
	closedir(d);
	if (rc == 0 && *nbases)
		qsort(*bases, *nbases, sizeof(**bases), kraft_cmp_offsets);
	return rc;
}

int kraft_image_read(const char *log_dir, struct kraft_image *img, char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/%s", log_dir, KRAFT_METADATA_DIR) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "%s: path too long", log_dir);
		return -1;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	img->found = true;
	char snapshot[NAME_MAX + 1] = "";
	int64_t snap_end;
	int64_t *bases = NULL;
	size_t nbases;
	if (kraft_list(dir, snapshot, sizeof(snapshot), &snap_end, &bases, &nbases, err, errlen) != 0) {
		free(bases);
		return -1;
	}
	struct kraft_read rd = { .img = img, .err = err, .errlen = errlen };
	char path[PATH_MAX + NAME_MAX + 2];
	int rc = 0;
	if (snap_end >= 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, snapshot);
		rc = kraft_file(&rd, path, false);
		/* A snapshot holds whole transactions only. */
		rd.in_txn = false;
		rd.pending_len = 0;
		rd.from_offset = snap_end;
		img->end_offset = snap_end;
	}
	for (size_t i = 0; rc == 0 && i < nbases; i++) {
		snprintf(path, sizeof(path), "%s/%020" PRId64 ".log", dir, bases[i]);
		rc = kraft_file(&rd, path, i + 1 == nbases);
	}
	free(bases);
	free(rd.pending);
	if (rc != 0) {
		kraft_image_free(img);
		img->found = false;
	}
	return rc;
}
