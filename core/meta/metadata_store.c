/* The metadata store's files and replay (see metadata_store.h). */
#include "core/meta/metadata_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/crc32c.h"

enum {
	META_RECORD_HEADER_BYTES = 8,
	META_RECORD_MAX_BYTES = 16 << 20,
	META_TOPIC_CREATED = 1,
	META_TOPIC_DELETED = 2,
	META_LAYOUT = 3,
	META_PRODUCER_ID_BLOCK = 4,
	META_BROKER_CONFIGS = 5,
	/* Producer ids handed out per block record (Kafka's
	 * ProducerIdManager allocates blocks of 1000 too). */
	META_PRODUCER_ID_BLOCK_SIZE = 1000,
	META_CLUSTER_ID_BYTES = KUUID_TEXT_BYTES,
	META_TOPICS_MAX = 100000,
	META_PARTITIONS_MAX = 100000,
	META_CONFIGS_MAX = 1024,
	/* Ids of deleted topics remembered, newest kept: only a deletion that a
	 * crash interrupted needs its id, and that is one of the last. */
	META_DELETED_IDS_MAX = 4096,
};

static const char META_LOG[] = "__sluice_metadata.log";
static const char META_PROPERTIES[] = "meta.properties";

struct metadata_store {
	char dir[PATH_MAX];
	int fd;
	off_t size;         /* of the log up to its last whole, durable record */
	int failed_errno;   /* set when a failed append could not be undone */
	char cluster_id[META_CLUSTER_ID_BYTES];
	struct meta_topic *topics;
	size_t count;
	size_t cap;
	uint32_t io_shards; /* the layout placement was last recorded under; 0: none */
	/* Producer ids: [next, block_end) is what the durable block records
	 * leave to hand out; a restart starts after the last block recorded. */
	int64_t producer_id_next, producer_id_block_end;
	struct kuuid deleted[META_DELETED_IDS_MAX];
	size_t deleted_count, deleted_next;
	struct meta_kv *broker_configs[META_BROKER_LEVELS];
	size_t broker_config_count[META_BROKER_LEVELS];
};

static void meta_kv_free(struct meta_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void meta_topic_free(struct meta_topic *t)
{
	meta_kv_free(t->configs, t->config_count);
	free(t->partition_shard);
}

static int meta_properties(struct metadata_store *ms, int32_t node_id, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", ms->dir, META_PROPERTIES);
	FILE *f = fopen(path, "r");
	if (f) {
		char line[512];
		int32_t stored_node = node_id;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (strncmp(line, "cluster.id=", 11) == 0)
				snprintf(ms->cluster_id, sizeof(ms->cluster_id), "%.*s", (int)sizeof(ms->cluster_id) - 1, line + 11);
			else if (strncmp(line, "node.id=", 8) == 0)
				stored_node = (int32_t)strtol(line + 8, NULL, 10);
		}
		fclose(f);
		if (stored_node != node_id) {
			snprintf(err, errlen, "%s belongs to node.id %d, but this broker is node.id %d",
				 path, stored_node, node_id);
			return -1;
		}
		if (!ms->cluster_id[0]) {
			snprintf(err, errlen, "%s has no cluster.id", path);
			return -1;
		}
		return 0;
	}
	struct kuuid id, dir_id;
	char dir_text[KUUID_TEXT_BYTES];
	if (getrandom(id.b, sizeof(id.b), 0) != sizeof(id.b) ||
	    getrandom(dir_id.b, sizeof(dir_id.b), 0) != sizeof(dir_id.b)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	kuuid_format(id, ms->cluster_id);
	kuuid_format(dir_id, dir_text);
	char tmp[PATH_MAX + 40];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "#\n#Written by sluice\nnode.id=%d\ndirectory.id=%s\nversion=1\ncluster.id=%s\n",
		node_id, dir_text, ms->cluster_id);
	int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- record encoding ---- */

struct meta_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool failed;
};

static void mb_put(struct meta_buf *b, const void *src, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256) + n;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void mb_u32(struct meta_buf *b, uint32_t v)
{
	uint8_t x[4];
	be_store(x, v, 4);
	mb_put(b, x, 4);
}

static void mb_str(struct meta_buf *b, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);
	mb_u32(b, n);
	mb_put(b, s, n);
}

/* Appends one record and makes it durable. A record that fails (a short
 * write on a full disk, a failed fdatasync) is cut off again, so that a
 * change the caller reports as failed is never replayed and no later record
 * follows a torn one. When even that fails, the store refuses every later
 * append: the torn record stays the last, and the next start truncates it. */
static int meta_append(struct metadata_store *ms, const struct meta_buf *payload)
{
	if (payload->failed)
		return -ENOMEM;
	if (ms->failed_errno) {
		slog_error("metadata", "%s/%s is read-only after an earlier failure (%s)", ms->dir,
			   META_LOG, strerror(ms->failed_errno));
		return -ms->failed_errno;
	}
	uint8_t hdr[META_RECORD_HEADER_BYTES];
	be_store(hdr, payload->len, 4);
	be_store(hdr + 4, crc32c(0, payload->p, payload->len), 4);
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { payload->p, payload->len } };
	ssize_t want = (ssize_t)(sizeof(hdr) + payload->len);
	ssize_t wrote = writev(ms->fd, iov, 2);
	int e = wrote == want ? 0 : wrote < 0 ? errno : ENOSPC; /* short: the disk is full */
	if (e == 0 && fdatasync(ms->fd) != 0)
		e = errno;
	if (e == 0) {
		ms->size += want;
		return 0;
	}
	slog_error("metadata", "cannot append to %s/%s: %s", ms->dir, META_LOG, strerror(e));
	if (ftruncate(ms->fd, ms->size) != 0 || fdatasync(ms->fd) != 0) {
		ms->failed_errno = errno ? errno : EIO;
		slog_error("metadata", "cannot cut the failed record off %s/%s: %s; no more changes "
			   "are recorded until a restart", ms->dir, META_LOG, strerror(ms->failed_errno));
	}
	return -e;
}

/* ---- replay ---- */

static char *meta_take_str(struct rcursor *c)
{
	uint32_t n = rc_uint32(c);
	uint8_t *p = rc_take(c, n, "string");
	if (!p)
		return NULL;
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void meta_remove(struct metadata_store *ms, const char *name)
{
	for (size_t i = 0; i < ms->count; i++) {
		if (strcmp(ms->topics[i].name, name) == 0) {
			meta_topic_free(&ms->topics[i]);
			memmove(&ms->topics[i], &ms->topics[i + 1], (ms->count - i - 1) * sizeof(*ms->topics));
			ms->count--;
			return;
		}
	}
}

/* Removes a deleted topic, remembering its id. */
static void meta_forget(struct metadata_store *ms, const char *name)
{
	for (size_t i = 0; i < ms->count; i++) {
		if (strcmp(ms->topics[i].name, name) != 0)
			continue;
		ms->deleted[ms->deleted_next] = ms->topics[i].id;
		ms->deleted_next = (ms->deleted_next + 1) % META_DELETED_IDS_MAX;
		if (ms->deleted_count < META_DELETED_IDS_MAX)
			ms->deleted_count++;
		break;
	}
	meta_remove(ms, name);
}

static int meta_add(struct metadata_store *ms, struct meta_topic *t)
{
	if (ms->count == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 16;
		struct meta_topic *p = realloc(ms->topics, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ms->topics = p;
		ms->cap = cap;
	}
	ms->topics[ms->count++] = *t;
	return 0;
}

static int meta_replay_created(struct metadata_store *ms, struct rcursor *c)
{
	struct meta_topic t;
	memset(&t, 0, sizeof(t));
	char *name = meta_take_str(c);
	struct kuuid id = rc_uuid(c);
	int32_t parts = rc_int32(c);
	if (!name || strlen(name) >= sizeof(t.name) || parts < 1 || parts > META_PARTITIONS_MAX) {
		free(name);
		return -1;
	}
	snprintf(t.name, sizeof(t.name), "%s", name);
	free(name);
	t.id = id;
	t.partition_count = parts;
	uint32_t nconf = rc_uint32(c);
	/* Nothing is allocated for more than the record can hold: a partition
	 * takes 4 bytes, a config at least 8. */
	if (c->err != RC_OK || nconf > META_CONFIGS_MAX ||
	    rc_left(c) < (size_t)parts * 4 + (size_t)nconf * 8)
		return -1;
	t.partition_shard = calloc((size_t)parts, sizeof(int32_t));
	t.configs = calloc(nconf + 1, sizeof(*t.configs));
	if (!t.partition_shard || !t.configs) {
		meta_topic_free(&t);
		return -1;
	}
	for (int32_t i = 0; i < parts; i++)
		t.partition_shard[i] = rc_int32(c);
	for (uint32_t i = 0; i < nconf && c->err == RC_OK; i++) {
		t.configs[i].key = meta_take_str(c);
		t.configs[i].value = meta_take_str(c);
		t.config_count = i + 1;
	}
	if (c->err != RC_OK) {
		meta_topic_free(&t);
		return -1;
	}
	meta_remove(ms, t.name);
	return meta_add(ms, &t);
}

/* Makes kv (owned, count n) the level's set. */
static void meta_broker_set(struct metadata_store *ms, uint8_t level, struct meta_kv *kv, size_t n)
{
	meta_kv_free(ms->broker_configs[level], ms->broker_config_count[level]);
	ms->broker_configs[level] = kv;
	ms->broker_config_count[level] = n;
}

static int meta_replay_broker_configs(struct metadata_store *ms, struct rcursor *c)
{
	uint8_t level = (uint8_t)rc_int8(c);
	uint32_t n = rc_uint32(c);
	/* A config takes at least 8 bytes: nothing is allocated beyond that. */
	if (c->err != RC_OK || level >= META_BROKER_LEVELS || n > META_CONFIGS_MAX ||
	    rc_left(c) < (size_t)n * 8)
		return -1;
	struct meta_kv *kv = calloc(n + 1, sizeof(*kv));
	if (!kv)
		return -1;
	for (uint32_t i = 0; i < n && c->err == RC_OK; i++) {
		kv[i].key = meta_take_str(c);
		kv[i].value = meta_take_str(c);
	}
	if (c->err != RC_OK) {
		meta_kv_free(kv, n);
		return -1;
	}
	meta_broker_set(ms, level, kv, n);
	return 0;
}

static int meta_replay_record(struct metadata_store *ms, uint8_t *p, size_t len)
{
	struct rcursor c;
	rc_init(&c, p, len);
	int8_t type = rc_int8(&c);
	if (type == META_TOPIC_CREATED)
		return meta_replay_created(ms, &c);
	if (type == META_LAYOUT) {
		uint32_t io_shards = rc_uint32(&c);
		if (c.err != RC_OK)
			return -1;
		ms->io_shards = io_shards;
		return 0;
	}
	if (type == META_PRODUCER_ID_BLOCK) {
		int64_t end = rc_int64(&c);
		if (c.err != RC_OK || end < ms->producer_id_block_end)
			return -1;
		ms->producer_id_next = ms->producer_id_block_end = end;
		return 0;
	}
	if (type == META_BROKER_CONFIGS)
		return meta_replay_broker_configs(ms, &c);
	if (type == META_TOPIC_DELETED) {
		char *name = meta_take_str(&c);
		if (!name)
			return -1;
		meta_forget(ms, name);
		free(name);
		return 0;
	}
	return -1;
}

/* Reads the whole log, applying records; truncates a torn tail. */
static int meta_replay(struct metadata_store *ms, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(ms->fd, &st) != 0) {
		snprintf(err, errlen, "%s/%s: %s", ms->dir, META_LOG, strerror(errno));
		return -1;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf || pread(ms->fd, buf, size, 0) != (ssize_t)size) {
		free(buf);
		snprintf(err, errlen, "%s/%s: cannot read", ms->dir, META_LOG);
		return -1;
	}
	size_t pos = 0;
	int rc = 0;
	while (pos < size) {
		bool tail = size - pos < META_RECORD_HEADER_BYTES;
		uint32_t len = tail ? 0 : (uint32_t)be_load(buf + pos, 4);
		tail = tail || len > META_RECORD_MAX_BYTES || size - pos - META_RECORD_HEADER_BYTES < len;
		bool bad_crc = !tail && crc32c(0, buf + pos + 8, len) != (uint32_t)be_load(buf + pos + 4, 4);
		bool last = !tail && pos + META_RECORD_HEADER_BYTES + len == size;
		if (tail || (bad_crc && last)) {
			slog_warn("metadata", "%s/%s: torn record at byte %zu; truncating", ms->dir,
				  META_LOG, pos);
			if (ftruncate(ms->fd, (off_t)pos) != 0) {
				snprintf(err, errlen, "%s/%s: cannot truncate: %s", ms->dir, META_LOG,
					 strerror(errno));
				rc = -1;
			}
			break;
		}
		if (bad_crc || meta_replay_record(ms, buf + pos + 8, len) != 0) {
			snprintf(err, errlen, "%s/%s: corrupt record at byte %zu; refusing to start",
				 ms->dir, META_LOG, pos);
			rc = -1;
			break;
		}
		pos += META_RECORD_HEADER_BYTES + len;
	}
	free(buf);
	ms->size = (off_t)pos;
	return rc;
}

int metadata_store_open(const char *log_dir, int32_t node_id, struct metadata_store **out,
			char *err, size_t errlen)
{
	struct metadata_store *ms = calloc(1, sizeof(*ms));
	if (!ms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(ms->dir, sizeof(ms->dir), "%s", log_dir);
	ms->fd = -1;
	if (meta_properties(ms, node_id, err, errlen) != 0) {
		free(ms);
		return -1;
	}
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", log_dir, META_LOG);
	ms->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ms->fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		free(ms);
		return -1;
	}
	if (meta_replay(ms, err, errlen) != 0) {
		metadata_store_close(ms);
		return -1;
	}
	*out = ms;
	return 0;
}

void metadata_store_close(struct metadata_store *ms)
{
	for (size_t i = 0; i < ms->count; i++)
		meta_topic_free(&ms->topics[i]);
	free(ms->topics);
	for (int level = 0; level < META_BROKER_LEVELS; level++)
		meta_kv_free(ms->broker_configs[level], ms->broker_config_count[level]);
	if (ms->fd >= 0)
		close(ms->fd);
	free(ms);
}

static int meta_copy_topic(const struct meta_topic *src, struct meta_topic *dst)
{
	*dst = *src;
	dst->partition_shard = calloc((size_t)src->partition_count, sizeof(int32_t));
	dst->configs = calloc(src->config_count + 1, sizeof(*dst->configs));
	if (!dst->partition_shard || !dst->configs)
		return -1;
	memcpy(dst->partition_shard, src->partition_shard,
	       (size_t)src->partition_count * sizeof(int32_t));
	for (size_t i = 0; i < src->config_count; i++) {
		dst->configs[i].key = strdup(src->configs[i].key);
		dst->configs[i].value = strdup(src->configs[i].value);
		if (!dst->configs[i].key || !dst->configs[i].value)
			return -1;
	}
	return 0;
}

int metadata_store_topic_create(struct metadata_store *ms, const struct meta_topic *t)
{
	if (ms->count >= META_TOPICS_MAX)
		return -ENOSPC;
	struct meta_buf b = { 0 };
	uint8_t type = META_TOPIC_CREATED;
	mb_put(&b, &type, 1);
	mb_str(&b, t->name);
	mb_put(&b, t->id.b, 16);
	mb_u32(&b, (uint32_t)t->partition_count);
	mb_u32(&b, (uint32_t)t->config_count);
	for (int32_t i = 0; i < t->partition_count; i++)
		mb_u32(&b, (uint32_t)t->partition_shard[i]);
	for (size_t i = 0; i < t->config_count; i++) {
		mb_str(&b, t->configs[i].key);
		mb_str(&b, t->configs[i].value);
	}
	int rc = meta_append(ms, &b);
	free(b.p);
	if (rc != 0)
		return rc;
	struct meta_topic copy;
	memset(&copy, 0, sizeof(copy));
	meta_remove(ms, t->name);
	if (meta_copy_topic(t, &copy) != 0 || meta_add(ms, &copy) != 0) {
		meta_topic_free(&copy);
		return -ENOMEM;
	}
	return 0;
}

int metadata_store_topic_delete(struct metadata_store *ms, const char *name)
{
	struct meta_buf b = { 0 };
	uint8_t type = META_TOPIC_DELETED;
	mb_put(&b, &type, 1);
	mb_str(&b, name);
	int rc = meta_append(ms, &b);
	free(b.p);
	if (rc == 0)
		meta_forget(ms, name);
	return rc;
}

bool metadata_store_was_deleted(const struct metadata_store *ms, struct kuuid id)
{
	for (size_t i = 0; i < ms->deleted_count; i++)
		if (memcmp(ms->deleted[i].b, id.b, sizeof(id.b)) == 0)
			return true;
	return false;
}

int metadata_store_set_layout(struct metadata_store *ms, uint32_t io_shards)
{
	struct meta_buf b = { 0 };
	uint8_t type = META_LAYOUT;
	mb_put(&b, &type, 1);
	mb_u32(&b, io_shards);
	int rc = meta_append(ms, &b);
	free(b.p);
	if (rc == 0)
		ms->io_shards = io_shards;
	return rc;
}

int metadata_store_producer_id_take(struct metadata_store *ms, int64_t *id)
{
	if (ms->producer_id_next == ms->producer_id_block_end) {
		int64_t end = ms->producer_id_block_end + META_PRODUCER_ID_BLOCK_SIZE;
		if (end < 0)
			return -EOVERFLOW;
		struct meta_buf b = { 0 };
		uint8_t type = META_PRODUCER_ID_BLOCK, x[8];
		be_store(x, (uint64_t)end, 8);
		mb_put(&b, &type, 1);
		mb_put(&b, x, sizeof(x));
		int rc = meta_append(ms, &b);
		free(b.p);
		if (rc != 0)
			return rc;
		ms->producer_id_block_end = end;
	}
	*id = ms->producer_id_next++;
	return 0;
}

int metadata_store_set_broker_configs(struct metadata_store *ms, enum meta_broker_level level,
				      const struct meta_kv *kv, size_t count)
{
	if (count > META_CONFIGS_MAX)
		return -E2BIG;
	struct meta_buf b = { 0 };
	uint8_t head[2] = { META_BROKER_CONFIGS, (uint8_t)level };
	mb_put(&b, head, sizeof(head));
	mb_u32(&b, (uint32_t)count);
	for (size_t i = 0; i < count; i++) {
		mb_str(&b, kv[i].key);
		mb_str(&b, kv[i].value);
	}
	int rc = meta_append(ms, &b);
	free(b.p);
	if (rc != 0)
		return rc;
	struct meta_kv *copy = calloc(count + 1, sizeof(*copy));
	for (size_t i = 0; copy && i < count; i++) {
		copy[i].key = strdup(kv[i].key);
		copy[i].value = strdup(kv[i].value);
		if (!copy[i].key || !copy[i].value) {
			meta_kv_free(copy, count);
			copy = NULL;
		}
	}
	if (!copy)
		return -ENOMEM;
	meta_broker_set(ms, (uint8_t)level, copy, count);
	return 0;
}

const struct meta_kv *metadata_store_broker_configs(const struct metadata_store *ms,
						    enum meta_broker_level level, size_t *count)
{
	*count = ms->broker_config_count[level];
	return ms->broker_configs[level];
}

uint32_t metadata_store_layout(const struct metadata_store *ms)
{
	return ms->io_shards;
}

const struct meta_topic *metadata_store_topics(struct metadata_store *ms, size_t *count)
{
	*count = ms->count;
	return ms->topics;
}

const char *metadata_store_cluster_id(const struct metadata_store *ms)
{
	return ms->cluster_id;
}
