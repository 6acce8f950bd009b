/* Kafka 4.4's consumer-group metadata hash (cgroup_hash.h): hash4j's
 * HashStream64 encodings over libxxhash's streaming XXH3-64, the topic hash
 * of Utils.computeTopicHash and the group hash of Utils.computeGroupHash.
 * Both sorts (a partition's racks, the group's topic names) are Java String
 * order and need no memory beyond the stack. */
#include "core/group/cgroup_hash.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "core/group/assignor_internal.h"

_Static_assert(sizeof(XXH3_state_t) <= CGROUP_HASH_STATE_BYTES, "XXH3 state outgrew its room");
_Static_assert(_Alignof(XXH3_state_t) <= CGROUP_HASH_STATE_ALIGN, "XXH3 state alignment");

enum {
	/* UTF-16 code units staged before one XXH3 update. */
	STRING_CHUNK_UNITS = 64,
	/* Topic names ordered per pass of cgroup_group_hash. */
	GROUP_SORT_BATCH = 256,
	UTF16_REPLACEMENT = 0xfffd,
};

static XXH3_state_t *xxh_state(struct cgroup_hash_stream *s)
{
	return (XXH3_state_t *)(void *)s->state;
}

void cgroup_hash_stream_init(struct cgroup_hash_stream *s)
{
	assert(s);
	memset(s->state, 0, sizeof(s->state));
	XXH_errorcode rc = XXH3_64bits_reset(xxh_state(s));
	assert(rc == XXH_OK);
	(void)rc;
}

void cgroup_hash_put_bytes(struct cgroup_hash_stream *s, const void *data, size_t len)
{
	assert(s);
	assert(data || len == 0);
	if (len == 0)
		return;
	XXH_errorcode rc = XXH3_64bits_update(xxh_state(s), data, len);
	assert(rc == XXH_OK);
	(void)rc;
}

void cgroup_hash_put_byte(struct cgroup_hash_stream *s, uint8_t v)
{
	cgroup_hash_put_bytes(s, &v, 1);
}

void cgroup_hash_put_int(struct cgroup_hash_stream *s, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint8_t b[4] = { (uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24) };
	cgroup_hash_put_bytes(s, b, sizeof(b));
}

void cgroup_hash_put_long(struct cgroup_hash_stream *s, int64_t v)
{
	uint64_t u = (uint64_t)v;
	uint8_t b[8];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(u >> (8 * i));
	cgroup_hash_put_bytes(s, b, sizeof(b));
}

int64_t cgroup_hash_stream_get(const struct cgroup_hash_stream *s)
{
	assert(s);
	return (int64_t)XXH3_64bits_digest((const XXH3_state_t *)(const void *)s->state);
}

uint64_t cgroup_xxh3_64(const void *data, size_t len)
{
	assert(data || len == 0);
	return XXH3_64bits(data, len);
}

/* The code point of the UTF-8 sequence at p[*i] (n bytes in all), moving *i
 * past it; a byte that starts no well-formed sequence (bad lead, truncated,
 * overlong, a surrogate, beyond U+10FFFF) is U+FFFD and moves *i by one. */
static uint32_t utf8_next(const uint8_t *p, size_t n, size_t *i)
{
	assert(*i < n);
	uint8_t b0 = p[*i];
	size_t need = b0 < 0x80 ? 0 : b0 >= 0xc2 && b0 <= 0xdf ? 1 : b0 >= 0xe0 && b0 <= 0xef ? 2
	            : b0 >= 0xf0 && b0 <= 0xf4 ? 3 : SIZE_MAX;
	if (need == 0) {
		*i += 1;
		return b0;
	}
	if (need == SIZE_MAX || n - *i <= need) {
		*i += 1;
		return UTF16_REPLACEMENT;
	}
	uint32_t cp = b0 & (0x3f >> need);
	for (size_t k = 1; k <= need; k++) {
		if ((p[*i + k] & 0xc0) != 0x80) {
			*i += 1;
			return UTF16_REPLACEMENT;
		}
		cp = cp << 6 | (p[*i + k] & 0x3f);
	}
	static const uint32_t min_cp[4] = { 0, 0x80, 0x800, 0x10000 };
	if (cp < min_cp[need] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
		*i += 1;
		return UTF16_REPLACEMENT;
	}
	*i += need + 1;
	return cp;
}

int32_t cgroup_hash_utf16_len(struct kstr str)
{
	assert(str.len >= 0);
	assert(str.ptr || str.len == 0);
	const uint8_t *p = (const uint8_t *)str.ptr;
	size_t n = (size_t)str.len, i = 0;
	int32_t units = 0;
	while (i < n)
		units += utf8_next(p, n, &i) >= 0x10000 ? 2 : 1;
	assert(units <= str.len);
	return units;
}

static void stage_unit(struct cgroup_hash_stream *s, uint8_t *buf, size_t *used, uint32_t unit)
{
	if (*used == 2 * STRING_CHUNK_UNITS) {
		cgroup_hash_put_bytes(s, buf, *used);
		*used = 0;
	}
	buf[(*used)++] = (uint8_t)unit;
	buf[(*used)++] = (uint8_t)(unit >> 8);
}

void cgroup_hash_put_string(struct cgroup_hash_stream *s, struct kstr str)
{
	assert(s);
	assert(str.len >= 0);
	assert(str.ptr || str.len == 0);
	const uint8_t *p = (const uint8_t *)str.ptr;
	size_t n = (size_t)str.len, i = 0, used = 0;
	uint8_t buf[2 * STRING_CHUNK_UNITS];
	int32_t units = 0;
	while (i < n) {
		uint32_t cp = utf8_next(p, n, &i);
		if (cp >= 0x10000) {
			stage_unit(s, buf, &used, 0xd800 | ((cp - 0x10000) >> 10));
			stage_unit(s, buf, &used, 0xdc00 | ((cp - 0x10000) & 0x3ff));
			units += 2;
		} else {
			stage_unit(s, buf, &used, cp);
			units += 1;
		}
	}
	cgroup_hash_put_bytes(s, buf, used);
	cgroup_hash_put_int(s, units);
}

/* One partition's racks in Java String order (Collections.sort), each as
 * putInt(length) then putString: repeatedly the smallest rack above the
 * last one put, as many times as it occurs. O(r^2) for r racks, which is at
 * most the partition's replica count. */
static void hash_racks(struct cgroup_hash_stream *s, const struct kstr *racks)
{
	int32_t r = 0;
	while (racks[r].len >= 0) {
		assert(r < CGROUP_HASH_RACKS_MAX);
		r++;
	}
	const struct kstr *last = NULL;
	for (int32_t put = 0; put < r;) {
		const struct kstr *min = NULL;
		int32_t copies = 0;
		for (int32_t k = 0; k < r; k++) {
			if (last && assignor_java_string_compare(racks[k], *last) <= 0)
				continue;
			int c = min ? assignor_java_string_compare(racks[k], *min) : -1;
			if (c < 0) {
				min = &racks[k];
				copies = 1;
			} else if (c == 0) {
				copies++;
			}
		}
		assert(min && copies > 0);
		int32_t len = cgroup_hash_utf16_len(*min);
		for (int32_t c = 0; c < copies; c++) {
			cgroup_hash_put_int(s, len);
			cgroup_hash_put_string(s, *min);
		}
		put += copies;
		last = min;
	}
}

int64_t cgroup_topic_hash(struct kuuid id, struct kstr name, int32_t partitions,
                          const struct kstr *const *racks_per_partition)
{
	assert(name.len >= 0);
	assert(partitions >= 0);
	struct cgroup_hash_stream s;
	cgroup_hash_stream_init(&s);
	cgroup_hash_put_byte(&s, CGROUP_TOPIC_HASH_MAGIC);
	/* Uuid's most and least significant bits: the id's two big-endian halves. */
	for (int half = 0; half < 2; half++) {
		uint64_t bits = 0;
		for (int k = 0; k < 8; k++)
			bits = bits << 8 | id.b[half * 8 + k];
		cgroup_hash_put_long(&s, (int64_t)bits);
	}
	cgroup_hash_put_string(&s, name);
	cgroup_hash_put_int(&s, partitions);
	for (int32_t p = 0; p < partitions; p++) {
		cgroup_hash_put_int(&s, p);
		if (racks_per_partition && racks_per_partition[p])
			hash_racks(&s, racks_per_partition[p]);
	}
	return cgroup_hash_stream_get(&s);
}

/* Inserts topic i into batch (sorted by name, *count entries, at most
 * GROUP_SORT_BATCH), dropping the largest when full. */
static void batch_insert(const struct kstr *names, int32_t *batch, int32_t *count, int32_t i)
{
	if (*count == GROUP_SORT_BATCH
	    && assignor_java_string_compare(names[i], names[batch[*count - 1]]) >= 0)
		return;
	int32_t lo = 0, hi = *count;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		int c = assignor_java_string_compare(names[batch[mid]], names[i]);
		assert(c != 0); /* names are distinct */
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*count == GROUP_SORT_BATCH)
		(*count)--;
	memmove(&batch[lo + 1], &batch[lo], (size_t)(*count - lo) * sizeof(*batch));
	batch[lo] = i;
	(*count)++;
}

/* The topic hashes in name order, GROUP_SORT_BATCH names per pass: each pass
 * keeps the smallest names above the last one put. One pass up to that many
 * topics; O(n^2 / GROUP_SORT_BATCH) beyond, with no allocation. */
int64_t cgroup_group_hash(const struct kstr *names, const int64_t *topic_hashes, int32_t n)
{
	assert(n >= 0);
	assert(n == 0 || (names && topic_hashes));
	if (n == 0)
		return 0;
	struct cgroup_hash_stream s;
	cgroup_hash_stream_init(&s);
	int32_t batch[GROUP_SORT_BATCH];
	int32_t last = -1, put = 0;
	while (put < n) {
		int32_t count = 0;
		for (int32_t i = 0; i < n; i++) {
			if (last >= 0 && assignor_java_string_compare(names[i], names[last]) <= 0)
				continue;
			batch_insert(names, batch, &count, i);
		}
		assert(count > 0); /* fewer than n distinct names otherwise */
		if (count == 0)
			break;
		for (int32_t k = 0; k < count; k++)
			cgroup_hash_put_long(&s, topic_hashes[batch[k]]);
		put += count;
		last = batch[count - 1];
	}
	assert(put == n);
	return cgroup_hash_stream_get(&s);
}
